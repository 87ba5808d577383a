/**
 * Architecture specs: plain, JSON-serialisable data, like the reference code's `cfg` lists.
 * A pruned network is just another spec (smaller widths, fewer blocks) plus inherited weights.
 */
export interface InputShape {
  height: number;
  width: number;
  channels: number;
}

export type VggCfgItem = number | 'M';

/**
 * VGG from a cfg list (numbers = 3x3 conv widths with BN + ReLU, 'M' = 2x2 max-pool).
 * Heads: 'li2017' = 2x2 avg-pool, Linear(c,512) + BN1d + ReLU + Linear(512,classes) (Li et al.);
 * 'slimming' = 2x2 avg-pool, Linear(c,classes) (Network Slimming); 'gap' = global average pool,
 * Linear(c,classes) (the small VGGs of the benchmark).
 */
export interface VggSpec {
  family: 'vgg';
  name: string;
  cfg: VggCfgItem[];
  head: 'li2017' | 'slimming' | 'gap';
  /** Width of the hidden linear layer of the 'li2017' head. */
  hiddenFeatures?: number;
  numClasses: number;
  input: InputShape;
  bnGammaInit: number;
}

/** CIFAR ResNet (Li et al.'s variant): basic blocks, option-A shortcuts. */
export interface ResNetSpec {
  family: 'resnet';
  name: string;
  /** Stem conv width. */
  stemWidth: number;
  /** Per stage: output width and, per block, the width of the block's first conv (what Li et al. prune). */
  stages: { width: number; blocks: number[] }[];
  numClasses: number;
  input: InputShape;
  bnGammaInit: number;
}

/**
 * Network Slimming's PreResNet with bottleneck blocks and channel selection. Each block reads the
 * residual stream through a channel selection (`select`: kept indices of the stream, null = all),
 * then BN + ReLU + conv1 (1x1) + BN + ReLU + conv2 (3x3) + BN + ReLU + conv3 (1x1, 4x planes).
 * The reference code puts the full-width BN before the selection; we select first, which gives the
 * same outputs for the kept channels and physically drops the unused BN channels.
 */
export interface PreResNetBlock {
  select: number[] | null;
  conv1: number;
  conv2: number;
}
export interface PreResNetSpec {
  family: 'preresnet';
  name: string;
  stemWidth: number;
  stages: { planes: number; blocks: PreResNetBlock[] }[];
  /** Channel selection before the final BN + ReLU + pool + linear. */
  finalSelect: number[] | null;
  numClasses: number;
  input: InputShape;
  bnGammaInit: number;
}

/** Network Slimming's DenseNet (basic layers, no bottleneck, compression 1) with channel selection. */
export interface DenseNetSpec {
  family: 'densenet';
  name: string;
  growthRate: number;
  stemWidth: number;
  /** Three dense blocks; each layer's input channel selection. */
  blocks: { select: number[] | null }[][];
  /** Two transitions; each one's input channel selection. */
  transitions: { select: number[] | null }[];
  finalSelect: number[] | null;
  numClasses: number;
  input: InputShape;
  bnGammaInit: number;
}

export type ModelSpec = VggSpec | ResNetSpec | PreResNetSpec | DenseNetSpec;
export type ModelFamily = ModelSpec['family'];
