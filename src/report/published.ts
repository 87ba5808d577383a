/**
 * Published results as data, each value with the table it was read from. Nothing here is
 * estimated: a value appears only where its source text was read (see `source.readFrom`).
 * Accuracies are top-1 in percent; papers that report error have `reported: 'error'` and the
 * accuracy is 100 - error. FLOP counts are kept as printed; `flopsConvention` says whether the
 * paper's "FLOPs" are multiply-accumulates ('macs') or 2 x MACs ('2macs') — inferred from the
 * unpruned model's count, and used only to put them next to our `macs` column.
 *
 * Known gaps (not verified, so left out): the Rethinking paper's own L1-norm table rows for
 * VGG-16 and its fine-tuned column, and its whole Network Slimming table.
 */
import type { Protocol, RunRow } from '../results/columns.ts';
import type { GroupStats } from './stats.ts';

export interface PublishedSource {
  /** Short citation, e.g. 'Li et al. 2017' */
  paper: string;
  /** The table, as named in the source */
  table: string;
  /** Where the numbers were read (a transcription of the paper, or the reference repository) */
  readFrom: string;
  /** 'paper': the paper's table; 'reference-code': the authors' repository README;
   *  'secondary': quoted by a third party, primary table not read */
  kind: 'paper' | 'reference-code' | 'secondary';
}

/** The published protocol, for spelling out how our runs differ. Undefined = not stated in the source read. */
export interface PublishedProtocol {
  dataset: string;
  trainImages: number;
  epochs?: number;
  fineTuneEpochs?: number;
  batchSize?: number;
  width: number;
  framework: string;
}

/** Our key for a published cell. `profile` set for named profiles (A, B), `pruneRatio` for ratio methods. */
export interface PublishedKey {
  model: string;
  dataset: string;
  method: string;
  profile: string;
  pruneRatio: number;
  protocol: Protocol;
}

export interface PublishedCell {
  key: PublishedKey;
  /** The row's name in the source, e.g. 'ResNet-56-pruned-B' */
  label: string;
  reported: 'error' | 'accuracy';
  /** top-1 accuracy in percent (100 - error where error was reported) */
  top1: number;
  /** standard deviation over runs, where published */
  top1Std?: number;
  params?: number;
  paramsReductionPct?: number;
  flops?: number;
  flopsReductionPct?: number;
  flopsConvention?: 'macs' | '2macs';
  source: PublishedSource;
  protocol: PublishedProtocol;
  /** Our experiments this cell is compared against */
  experiments: string[];
  note?: string;
}

const LI2017: PublishedSource = {
  paper: 'Li et al. 2017 (Pruning Filters for Efficient ConvNets)',
  table: 'Table 1: overall results',
  readFrom: 'a markdown transcription of arXiv:1608.08710 (public code index); VGG-16 rows also in the NNI L1FilterPruner docs',
  kind: 'paper',
};
const SLIM2017: PublishedSource = {
  paper: 'Liu et al. 2017 (Network Slimming)',
  table: 'Table 1 (a) CIFAR-10, (b) CIFAR-100',
  readFrom: 'a markdown transcription of the ICCV 2017 paper (public code index)',
  kind: 'paper',
};
const SLIM_REPO: PublishedSource = {
  paper: 'Network Slimming PyTorch reference (Eric-mingjie/network-slimming)',
  table: 'README "Results" tables',
  readFrom: 'github.com/Eric-mingjie/network-slimming README.md',
  kind: 'reference-code',
};
const RETHINK_IMAGENET_REPO: PublishedSource = {
  paper: 'Liu et al. 2019 (Rethinking), reference code',
  table: 'imagenet/l1-norm-pruning README "Models" table',
  readFrom: 'github.com/Eric-mingjie/rethinking-network-pruning imagenet/l1-norm-pruning/README.md',
  kind: 'reference-code',
};
const RETHINK_L1_SECONDARY: PublishedSource = {
  paper: 'Liu et al. 2019 (Rethinking)',
  table: 'Table 1 (L1-norm based filter pruning, CIFAR-10), mean (± std)',
  readFrom: 'quoted in a third-party plotting script comment (public code index); the paper table itself was not read',
  kind: 'secondary',
};

const CIFAR_FULL = { trainImages: 50000, width: 1 };
const LI_PROTOCOL: PublishedProtocol = { dataset: 'cifar10', ...CIFAR_FULL, framework: 'Torch' };
const LI_IMAGENET: PublishedProtocol = { dataset: 'imagenet', trainImages: 1281167, width: 1, framework: 'Torch' };
const SLIM_PROTOCOL = (dataset: string): PublishedProtocol => ({
  dataset, ...CIFAR_FULL, epochs: 160, fineTuneEpochs: 160, batchSize: 64, framework: 'Torch',
});
const SLIM_REPO_PROTOCOL = (dataset: string): PublishedProtocol => ({
  dataset, ...CIFAR_FULL, fineTuneEpochs: 160, framework: 'PyTorch',
});
const RETHINK_L1_PROTOCOL: PublishedProtocol = {
  dataset: 'cifar10', ...CIFAR_FULL, epochs: 160, fineTuneEpochs: 40, batchSize: 64, framework: 'PyTorch',
};

const L1_EXPERIMENTS = ['rethinking-l1', 'li-l1'];
const SLIM_EXPERIMENTS = ['rethinking-slimming', 'slimming'];

type Row = [label: string, model: string, method: string, profile: string, ratio: number, protocol: Protocol];

function li(
  [label, model, method, profile, ratio, protocol]: Row,
  error: number,
  flops?: number,
  flopsPct?: number,
  params?: number,
  paramsPct?: number,
  note?: string,
): PublishedCell {
  const imagenet = model === 'resnet34';
  const cell: PublishedCell = {
    key: { model, dataset: imagenet ? 'imagenet' : 'cifar10', method, profile, pruneRatio: ratio, protocol },
    label,
    reported: 'error',
    top1: round2(100 - error),
    flopsConvention: 'macs',
    source: LI2017,
    protocol: imagenet ? LI_IMAGENET : LI_PROTOCOL,
    experiments: L1_EXPERIMENTS,
  };
  if (flops !== undefined) cell.flops = flops;
  if (flopsPct !== undefined) cell.flopsReductionPct = flopsPct;
  if (params !== undefined) cell.params = params;
  if (paramsPct !== undefined) cell.paramsReductionPct = paramsPct;
  if (note) cell.note = note;
  return cell;
}

const SCRATCH_TRAIN_NOTE = 'Li et al. "scratch-train": the pruned architecture trained from scratch (closest to our Scratch-E)';

function slim(
  [label, model, method, profile, ratio, protocol]: Row,
  dataset: string,
  error: number,
  params: number,
  paramsPct: number | undefined,
  flops: number,
  flopsPct: number | undefined,
  note?: string,
): PublishedCell {
  const cell: PublishedCell = {
    key: { model, dataset, method, profile, pruneRatio: ratio, protocol },
    label,
    reported: 'error',
    top1: round2(100 - error),
    params,
    flops,
    flopsConvention: '2macs',
    source: SLIM2017,
    protocol: SLIM_PROTOCOL(dataset),
    experiments: SLIM_EXPERIMENTS,
  };
  if (paramsPct !== undefined) cell.paramsReductionPct = paramsPct;
  if (flopsPct !== undefined) cell.flopsReductionPct = flopsPct;
  if (note) cell.note = note;
  return cell;
}

/**
 * Why our counts differ from a published one, where they do (checked in metrics/count.test.ts).
 * DenseNet-40: the paper's counts describe a 16-channel stem conv; the Network Slimming code (and
 * our densenet40) use 2 x growth = 24 channels.
 */
export const DENSENET40_COUNT_NOTE =
  'counts: the published 1.02M params (1.06M on CIFAR-100) and 5.33e8 FLOPs describe a 16-channel stem conv (ours at 16: 1.02M / 1.06M, 5.30e8 FLOPs); ' +
  'the Network Slimming code, and our densenet40, use 24 channels: 1.06M params (1.10M on CIFAR-100), 2.83e8 MACs = 5.66e8 FLOPs';
export const RESNET110_COUNT_NOTE = 'counts: the published 1.72M params exclude BN (our params_without_bn: 1.72M); with BN gamma/beta, as our params column counts, ResNet-110 has 1.73M';

/**
 * Where the reference README's counts are not ours (see published.test.ts): its CIFAR-10
 * DenseNet-40 and ResNet-164 counts are ours plus the `indexes` of the channel-selection layers,
 * an nn.Parameter of one entry per input channel that holds no weight (DenseNet-40: 9,360,
 * PreResNet-164: 8,080), and its CIFAR-100 VGG count repeats the CIFAR-10 one.
 */
const SELECTION_COUNT_NOTE = (ours: string, extra: string): string =>
  `counts: the README's figure is ours (${ours}) plus the ${extra} entries of the channel-selection layers' index vectors, which the reference code holds as parameters`;
const VGG_C100_COUNT_NOTE = "counts: the README repeats the CIFAR-10 count (20.04M); with 100 classes VGG-19 has 20.08M (ours, and the paper's Table 1(b))";

function slimRepo([label, model, method, profile, ratio, protocol]: Row, dataset: string, top1: number, params: number, countNote?: string): PublishedCell {
  return {
    key: { model, dataset, method, profile, pruneRatio: ratio, protocol },
    label,
    reported: 'accuracy',
    top1,
    params,
    source: SLIM_REPO,
    protocol: SLIM_REPO_PROTOCOL(dataset),
    experiments: SLIM_EXPERIMENTS,
    note: `single run of the reference implementation${countNote ? `; ${countNote}` : ''}`,
  };
}

function rethinkL1([label, model, method, profile, ratio, protocol]: Row, top1: number, std: number): PublishedCell {
  return {
    key: { model, dataset: 'cifar10', method, profile, pruneRatio: ratio, protocol },
    label,
    reported: 'accuracy',
    top1,
    top1Std: std,
    source: RETHINK_L1_SECONDARY,
    protocol: RETHINK_L1_PROTOCOL,
    experiments: L1_EXPERIMENTS,
  };
}

function rethinkImagenet([label, model, method, profile, ratio, protocol]: Row, top1: number): PublishedCell {
  return {
    key: { model, dataset: 'imagenet', method, profile, pruneRatio: ratio, protocol },
    label,
    reported: 'accuracy',
    top1,
    source: RETHINK_IMAGENET_REPO,
    protocol: { dataset: 'imagenet', trainImages: 1281167, width: 1, framework: 'PyTorch' },
    experiments: L1_EXPERIMENTS,
    note: 'released model of the reference code',
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

const B = 'baseline' as const;
const FT = 'fine-tune' as const;

export const PUBLISHED: readonly PublishedCell[] = [
  // Li et al. 2017, Table 1 (error %, FLOP, params). FLOP = multiply-accumulates (VGG-16: 3.13e8).
  li(['VGG-16', 'vgg16', 'none', '', 0, B], 6.75, 3.13e8, undefined, 1.5e7),
  li(['VGG-16-pruned-A', 'vgg16', 'l1', 'A', 0, FT], 6.6, 2.06e8, 34.2, 5.4e6, 64.0),
  li(['VGG-16-pruned-A scratch-train', 'vgg16', 'l1', 'A', 0, 'scratch-E'], 6.88, undefined, undefined, undefined, undefined, SCRATCH_TRAIN_NOTE),
  li(['ResNet-56', 'resnet56', 'none', '', 0, B], 6.96, 1.25e8, undefined, 8.5e5),
  li(['ResNet-56-pruned-A', 'resnet56', 'l1', 'A', 0, FT], 6.9, 1.12e8, 10.4, 7.7e5, 9.4),
  li(['ResNet-56-pruned-B', 'resnet56', 'l1', 'B', 0, FT], 6.94, 9.09e7, 27.6, 7.3e5, 13.7),
  li(['ResNet-56-pruned-B scratch-train', 'resnet56', 'l1', 'B', 0, 'scratch-E'], 8.69, undefined, undefined, undefined, undefined, SCRATCH_TRAIN_NOTE),
  li(['ResNet-110', 'resnet110', 'none', '', 0, B], 6.47, 2.53e8, undefined, 1.72e6, undefined, RESNET110_COUNT_NOTE),
  li(['ResNet-110-pruned-A', 'resnet110', 'l1', 'A', 0, FT], 6.45, 2.13e8, 15.9, 1.68e6, 2.3),
  li(['ResNet-110-pruned-B', 'resnet110', 'l1', 'B', 0, FT], 6.7, 1.55e8, 38.6, 1.16e6, 32.4),
  li(['ResNet-110-pruned-B scratch-train', 'resnet110', 'l1', 'B', 0, 'scratch-E'], 7.06, undefined, undefined, undefined, undefined, SCRATCH_TRAIN_NOTE),
  li(['ResNet-34', 'resnet34', 'none', '', 0, B], 26.77, 3.64e9, undefined, 2.16e7),
  li(['ResNet-34-pruned-A', 'resnet34', 'l1', 'A', 0, FT], 27.44, 3.08e9, 15.5, 1.99e7, 7.6),
  li(['ResNet-34-pruned-B', 'resnet34', 'l1', 'B', 0, FT], 27.83, 2.76e9, 24.2, 1.93e7, 10.8),
  li(['ResNet-34-pruned-C', 'resnet34', 'l1', 'C', 0, FT], 27.52, 3.37e9, 7.5, 2.01e7, 7.2),

  // Liu et al. 2017 (Network Slimming), Table 1 (test error %, params, FLOPs = 2 x MACs: VGG 7.97e8).
  slim(['VGGNet (Baseline)', 'vgg19', 'none', '', 0, B], 'cifar10', 6.34, 20.04e6, undefined, 7.97e8, undefined),
  slim(['VGGNet (70% Pruned)', 'vgg19', 'slimming', '', 0.7, FT], 'cifar10', 6.2, 2.3e6, 88.5, 3.91e8, 51.0),
  slim(['DenseNet-40 (Baseline)', 'densenet40', 'none', '', 0, B], 'cifar10', 6.11, 1.02e6, undefined, 5.33e8, undefined, DENSENET40_COUNT_NOTE),
  slim(['DenseNet-40 (40% Pruned)', 'densenet40', 'slimming', '', 0.4, FT], 'cifar10', 5.19, 0.66e6, 35.7, 3.81e8, 28.4),
  slim(['DenseNet-40 (70% Pruned)', 'densenet40', 'slimming', '', 0.7, FT], 'cifar10', 5.65, 0.35e6, 65.2, 2.4e8, 55.0),
  slim(['ResNet-164 (Baseline)', 'preresnet164', 'none', '', 0, B], 'cifar10', 5.42, 1.7e6, undefined, 4.99e8, undefined),
  slim(['ResNet-164 (40% Pruned)', 'preresnet164', 'slimming', '', 0.4, FT], 'cifar10', 5.08, 1.44e6, 14.9, 3.81e8, 23.7),
  slim(['ResNet-164 (60% Pruned)', 'preresnet164', 'slimming', '', 0.6, FT], 'cifar10', 5.27, 1.1e6, 35.2, 2.75e8, 44.9),
  slim(['VGGNet (Baseline)', 'vgg19', 'none', '', 0, B], 'cifar100', 26.74, 20.08e6, undefined, 7.97e8, undefined),
  slim(['VGGNet (50% Pruned)', 'vgg19', 'slimming', '', 0.5, FT], 'cifar100', 26.52, 5.0e6, 75.1, 5.01e8, 37.1),
  slim(['DenseNet-40 (Baseline)', 'densenet40', 'none', '', 0, B], 'cifar100', 25.36, 1.06e6, undefined, 5.33e8, undefined, DENSENET40_COUNT_NOTE),
  slim(['DenseNet-40 (40% Pruned)', 'densenet40', 'slimming', '', 0.4, FT], 'cifar100', 25.28, 0.66e6, 37.5, 3.71e8, 30.3),
  slim(['DenseNet-40 (60% Pruned)', 'densenet40', 'slimming', '', 0.6, FT], 'cifar100', 25.72, 0.46e6, 54.6, 2.81e8, 47.1),
  slim(['ResNet-164 (Baseline)', 'preresnet164', 'none', '', 0, B], 'cifar100', 23.37, 1.73e6, undefined, 5.0e8, undefined),
  slim(['ResNet-164 (40% Pruned)', 'preresnet164', 'slimming', '', 0.4, FT], 'cifar100', 22.87, 1.46e6, 15.5, 3.33e8, 33.3),
  slim(['ResNet-164 (60% Pruned)', 'preresnet164', 'slimming', '', 0.6, FT], 'cifar100', 23.91, 1.21e6, 29.7, 2.47e8, 50.6),

  // Network Slimming PyTorch reference code, README results (top-1 %, params).
  slimRepo(['CIFAR10-Vgg Baseline', 'vgg19', 'none', '', 0, B], 'cifar10', 93.77, 20.04e6),
  slimRepo(['CIFAR10-Vgg Sparsity (1e-4)', 'vgg19', 'slimming', '', 0, 'sparsity-train'], 'cifar10', 93.3, 20.04e6),
  slimRepo(['CIFAR10-Vgg Prune (70%)', 'vgg19', 'slimming', '', 0.7, 'prune'], 'cifar10', 32.54, 2.25e6),
  slimRepo(['CIFAR10-Vgg Fine-tune-160 (70%)', 'vgg19', 'slimming', '', 0.7, FT], 'cifar10', 93.78, 2.25e6),
  slimRepo(['CIFAR10-Resnet-164 Baseline', 'preresnet164', 'none', '', 0, B], 'cifar10', 94.75, 1.71e6, SELECTION_COUNT_NOTE('1.70M', '8,080')),
  slimRepo(['CIFAR10-Resnet-164 Sparsity (1e-5)', 'preresnet164', 'slimming', '', 0, 'sparsity-train'], 'cifar10', 94.76, 1.73e6),
  slimRepo(['CIFAR10-Resnet-164 Prune (40%)', 'preresnet164', 'slimming', '', 0.4, 'prune'], 'cifar10', 94.58, 1.45e6),
  slimRepo(['CIFAR10-Resnet-164 Fine-tune-160 (40%)', 'preresnet164', 'slimming', '', 0.4, FT], 'cifar10', 95.05, 1.45e6),
  slimRepo(['CIFAR10-Resnet-164 Prune (60%)', 'preresnet164', 'slimming', '', 0.6, 'prune'], 'cifar10', 47.73, 1.12e6),
  slimRepo(['CIFAR10-Resnet-164 Fine-tune-160 (60%)', 'preresnet164', 'slimming', '', 0.6, FT], 'cifar10', 93.81, 1.12e6),
  slimRepo(['CIFAR10-Densenet-40 Baseline', 'densenet40', 'none', '', 0, B], 'cifar10', 94.11, 1.07e6, SELECTION_COUNT_NOTE('1.06M', '9,360')),
  slimRepo(['CIFAR10-Densenet-40 Sparsity (1e-5)', 'densenet40', 'slimming', '', 0, 'sparsity-train'], 'cifar10', 94.17, 1.07e6),
  slimRepo(['CIFAR10-Densenet-40 Prune (40%)', 'densenet40', 'slimming', '', 0.4, 'prune'], 'cifar10', 94.16, 0.69e6),
  slimRepo(['CIFAR10-Densenet-40 Fine-tune-160 (40%)', 'densenet40', 'slimming', '', 0.4, FT], 'cifar10', 94.32, 0.69e6),
  slimRepo(['CIFAR10-Densenet-40 Prune (60%)', 'densenet40', 'slimming', '', 0.6, 'prune'], 'cifar10', 89.46, 0.49e6),
  slimRepo(['CIFAR10-Densenet-40 Fine-tune-160 (60%)', 'densenet40', 'slimming', '', 0.6, FT], 'cifar10', 94.22, 0.49e6),
  slimRepo(['CIFAR100-Vgg Baseline', 'vgg19', 'none', '', 0, B], 'cifar100', 72.12, 20.04e6, VGG_C100_COUNT_NOTE),
  slimRepo(['CIFAR100-Vgg Sparsity (1e-4)', 'vgg19', 'slimming', '', 0, 'sparsity-train'], 'cifar100', 72.05, 20.04e6),
  slimRepo(['CIFAR100-Vgg Prune (50%)', 'vgg19', 'slimming', '', 0.5, 'prune'], 'cifar100', 5.31, 4.93e6),
  slimRepo(['CIFAR100-Vgg Fine-tune-160 (50%)', 'vgg19', 'slimming', '', 0.5, FT], 'cifar100', 73.32, 4.93e6),
  slimRepo(['CIFAR100-Resnet-164 Baseline', 'preresnet164', 'none', '', 0, B], 'cifar100', 76.79, 1.73e6),
  slimRepo(['CIFAR100-Resnet-164 Sparsity (1e-5)', 'preresnet164', 'slimming', '', 0, 'sparsity-train'], 'cifar100', 76.87, 1.73e6),
  slimRepo(['CIFAR100-Resnet-164 Prune (40%)', 'preresnet164', 'slimming', '', 0.4, 'prune'], 'cifar100', 48.0, 1.49e6),
  slimRepo(['CIFAR100-Resnet-164 Fine-tune-160 (40%)', 'preresnet164', 'slimming', '', 0.4, FT], 'cifar100', 77.36, 1.49e6),
  slimRepo(['CIFAR100-Densenet-40 Baseline', 'densenet40', 'none', '', 0, B], 'cifar100', 73.27, 1.1e6),
  slimRepo(['CIFAR100-Densenet-40 Sparsity (1e-5)', 'densenet40', 'slimming', '', 0, 'sparsity-train'], 'cifar100', 73.29, 1.1e6),
  slimRepo(['CIFAR100-Densenet-40 Prune (40%)', 'densenet40', 'slimming', '', 0.4, 'prune'], 'cifar100', 67.67, 0.71e6),
  slimRepo(['CIFAR100-Densenet-40 Fine-tune-160 (40%)', 'densenet40', 'slimming', '', 0.4, FT], 'cifar100', 73.76, 0.71e6),
  slimRepo(['CIFAR100-Densenet-40 Prune (60%)', 'densenet40', 'slimming', '', 0.6, 'prune'], 'cifar100', 19.18, 0.5e6),
  slimRepo(['CIFAR100-Densenet-40 Fine-tune-160 (60%)', 'densenet40', 'slimming', '', 0.6, FT], 'cifar100', 73.19, 0.5e6),

  // Rethinking (Liu et al. 2019), Table 1 L1-norm rows, mean (± std): secondary quotation only.
  rethinkL1(['ResNet-56 (unpruned)', 'resnet56', 'none', '', 0, B], 93.14, 0.12),
  rethinkL1(['ResNet-56-A Scratch-E', 'resnet56', 'l1', 'A', 0, 'scratch-E'], 92.96, 0.26),
  rethinkL1(['ResNet-56-A Scratch-B', 'resnet56', 'l1', 'A', 0, 'scratch-B'], 93.09, 0.14),
  rethinkL1(['ResNet-56-B Scratch-E', 'resnet56', 'l1', 'B', 0, 'scratch-E'], 92.54, 0.19),
  rethinkL1(['ResNet-56-B Scratch-B', 'resnet56', 'l1', 'B', 0, 'scratch-B'], 93.05, 0.18),
  rethinkL1(['ResNet-110 (unpruned)', 'resnet110', 'none', '', 0, B], 93.14, 0.24),
  rethinkL1(['ResNet-110-A Scratch-E', 'resnet110', 'l1', 'A', 0, 'scratch-E'], 93.25, 0.29),
  rethinkL1(['ResNet-110-A Scratch-B', 'resnet110', 'l1', 'A', 0, 'scratch-B'], 93.22, 0.22),
  rethinkL1(['ResNet-110-B Scratch-E', 'resnet110', 'l1', 'B', 0, 'scratch-E'], 92.89, 0.43),
  rethinkL1(['ResNet-110-B Scratch-B', 'resnet110', 'l1', 'B', 0, 'scratch-B'], 93.6, 0.25),

  // Rethinking reference code, ImageNet L1-norm models (top-1 %).
  rethinkImagenet(['ResNet34-A finetune', 'resnet34', 'l1', 'A', 0, FT], 72.56),
  rethinkImagenet(['ResNet34-A scratch-E', 'resnet34', 'l1', 'A', 0, 'scratch-E'], 72.77),
  rethinkImagenet(['ResNet34-A scratch-B', 'resnet34', 'l1', 'A', 0, 'scratch-B'], 73.08),
  rethinkImagenet(['ResNet34-B finetune', 'resnet34', 'l1', 'B', 0, FT], 72.29),
  rethinkImagenet(['ResNet34-B scratch-E', 'resnet34', 'l1', 'B', 0, 'scratch-E'], 72.55),
  rethinkImagenet(['ResNet34-B scratch-B', 'resnet34', 'l1', 'B', 0, 'scratch-B'], 72.84),
];

/** Does one of our groups correspond to a published cell? */
export function matchesPublished(cell: PublishedCell, g: Pick<GroupStats, 'key' | 'dataset'>): boolean {
  const k = cell.key;
  if (g.key.model !== k.model || g.dataset !== k.dataset || g.key.protocol !== k.protocol) return false;
  // Unpruned models: any method label ('none', or the method whose sparsity training it is).
  if (k.protocol === 'baseline' || k.protocol === 'sparsity-train') return true;
  if (g.key.method !== k.method) return false;
  if (k.profile) return g.key.profile === k.profile;
  return Math.abs(g.key.pruneRatio - k.pruneRatio) < 1e-6 && g.key.profile === '';
}

export interface PublishedMatch {
  published: PublishedCell;
  ours: GroupStats;
}

/** Every (published cell, our group) pair that refers to the same model/dataset/method/profile/protocol. */
export function matchPublished(groups: GroupStats[], published: readonly PublishedCell[] = PUBLISHED): PublishedMatch[] {
  const out: PublishedMatch[] = [];
  for (const p of published) for (const g of groups) if (matchesPublished(p, g)) out.push({ published: p, ours: g });
  return out;
}

/** Protocol differences between our group and the published cell, spelled out (empty when none known). */
export function protocolDifferences(m: PublishedMatch, firstRow?: RunRow, width?: number): string[] {
  const p = m.published.protocol;
  const g = m.ours;
  const diffs: string[] = [];
  diffs.push(`preset ${g.preset}`);
  if (g.dataset !== p.dataset) diffs.push(`dataset ${g.dataset} vs ${p.dataset}`);
  const ourImages = g.trainSubset > 0 ? g.trainSubset : null;
  if (ourImages !== null && ourImages !== p.trainImages) diffs.push(`train subset ${ourImages} vs ${p.trainImages} images`);
  const publishedEpochs = m.published.key.protocol === 'fine-tune' ? p.fineTuneEpochs : p.epochs;
  const ourEpochs = Math.round(g.epochsDerived);
  if (publishedEpochs !== undefined && ourEpochs !== publishedEpochs) diffs.push(`epochs ${ourEpochs} vs ${publishedEpochs}`);
  else if (publishedEpochs === undefined) diffs.push(`epochs ${ourEpochs} (published: not stated in the source read)`);
  if (width !== undefined && width !== p.width) diffs.push(`width x${width} vs x${p.width}`);
  if (firstRow && String(firstRow.backend)) diffs.push(`tfjs ${String(firstRow.backend)} vs ${p.framework}`);
  return diffs;
}
