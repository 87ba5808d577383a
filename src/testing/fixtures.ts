import { syntheticDataset } from '../data/index.ts';
import type { DenseNetSpec, VggSpec } from '../models/index.ts';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig, type TrainData } from '../train/index.ts';

/** Two conv layers and a global-average head on 8x8x3 images, 4 classes: trains in well under a second. */
export const VGG_MICRO: VggSpec = { family: 'vgg', name: 'vgg-micro', cfg: [8, 'M', 16, 'M'], head: 'gap', numClasses: 4, input: { height: 8, width: 8, channels: 3 }, bnGammaInit: 0.5 };

/** Synthetic 8x8x3 data for VGG_MICRO, in the shape the training loop takes. */
export function microTrainData(trainCount: number, testCount: number): TrainData {
  const ds = syntheticDataset({ numClasses: 4, trainCount, testCount, seed: 1, height: 8, width: 8 });
  return { train: ds.train, test: ds.test, shape: { h: 8, w: 8, c: 3 }, mean: ds.mean, std: ds.std };
}

/** Three epochs at batch 32 and a constant rate: a few steps an epoch on microTrainData. */
export const MICRO_TRAIN_CONFIG: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, epochs: 3, lr: 0.05, batchSize: 32, seed: 3, schedule: { kind: 'constant' } };

/** Training hooks that print nothing. */
export const QUIET_TRAINING = { progressStream: null, logger: { info: () => {}, warn: () => {} } } as const;

/** A DenseNet with one layer in each of three blocks, growth 2, on 8x8x2 images, 3 classes. */
export function tinyDenseNetSpec(name: string): DenseNetSpec {
  return {
    family: 'densenet',
    name,
    growthRate: 2,
    stemWidth: 3,
    blocks: [[{ select: null }], [{ select: null }], [{ select: null }]],
    transitions: [{ select: null }, { select: null }],
    finalSelect: null,
    numClasses: 3,
    input: { height: 8, width: 8, channels: 2 },
    bnGammaInit: 0.5,
  };
}
