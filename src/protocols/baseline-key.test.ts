import { beforeAll, describe, expect, it } from 'vitest';
import { EXPERIMENTS } from '../../experiments/index.ts';
import { useCpuBackend } from '../testing/tf.ts';
import { baselineHash, baselineKey, keyDifferences } from './baseline-key.ts';
import { expandCells } from './cells.ts';
import type { ExperimentConfig } from './config.ts';
import { applyOverrides } from './validate.ts';
import { estimatePreset } from './estimate.ts';
import { prunedShape } from './shape-compute.ts';

const preset = (experiment: string, p: 'smoke' | 'cpu'): ExperimentConfig => EXPERIMENTS.find((e) => e.name === experiment)!.presets[p];

describe('baselineHash: which trained baseline a cell can reuse', () => {
  const l1 = preset('rethinking-l1', 'cpu');
  const li = preset('li2017-l1', 'cpu');

  it('is the same for two experiments whose cpu presets train the same VGG-16 (seed 1)', () => {
    // Not the same config: other experiment, other seeds; the same baseline.
    expect(l1.experiment).not.toBe(li.experiment);
    expect(l1.seeds).not.toEqual(li.seeds);
    expect(baselineHash(l1, 'vgg16', false, 1)).toBe(baselineHash(li, 'vgg16', false, 1));
    expect(keyDifferences(baselineKey(l1, 'vgg16', false, 1), baselineKey(li, 'vgg16', false, 1))).toEqual([]);
  });

  it('changes with the baseline epochs, the width and the seed', () => {
    const h = baselineHash(l1, 'vgg16', false, 1);
    expect(baselineHash(applyOverrides(l1, ['baseline.epochs=31']), 'vgg16', false, 1)).not.toBe(h);
    expect(baselineHash(applyOverrides(l1, ['widthMultiplier=0.5']), 'vgg16', false, 1)).not.toBe(h);
    expect(baselineHash(l1, 'vgg16', false, 2)).not.toBe(h);
    expect(baselineHash(applyOverrides(l1, ['data.trainSubset=5000']), 'vgg16', false, 1)).not.toBe(h);
    // The key says which field differs.
    expect(keyDifferences(baselineKey(applyOverrides(l1, ['widthMultiplier=0.5']), 'vgg16', false, 1), baselineKey(l1, 'vgg16', false, 1))).toEqual(['width 0.5 vs 0.25']);
  });

  it('does not change with the fine-tune phase or the arms; the lambda counts only for sparsity training', () => {
    const h = baselineHash(l1, 'vgg16', false, 1);
    expect(baselineHash(applyOverrides(l1, ['fineTune.epochs=3', 'arms.0.pruneRatio=0.3']), 'vgg16', false, 1)).toBe(h);
    const otherLambda = { ...l1, sparsityLambda: { vgg: 5e-4, other: 1e-5 } };
    expect(baselineHash(otherLambda, 'vgg16', false, 1)).toBe(h);
    expect(baselineHash(otherLambda, 'vgg16', true, 1)).not.toBe(baselineHash(l1, 'vgg16', true, 1));
    expect(baselineHash(l1, 'vgg16', true, 1)).not.toBe(h);
    expect(baselineKey(otherLambda, 'vgg16', true, 1).sparsityLambda).toBe(5e-4);
    // ResNet's lambda is the `other` one.
    expect(baselineKey(otherLambda, 'resnet56', true, 1).sparsityLambda).toBe(1e-5);
  });
});

describe('the wall-time estimate with baselines from a zoo', () => {
  beforeAll(useCpuBackend);

  it('gives a served baseline 0 epochs and 0 s, and drops the total by exactly its estimate', () => {
    const c = preset('rethinking-l1', 'smoke');
    // A fixed speed: 100 train and 1000 eval images per second for every architecture.
    const speed = () => ({ trainImagesPerSec: 100, evalImagesPerSec: 1000 });
    const base = 'baseline:vgg16:s1';
    expect(expandCells(c).some((x) => x.id === base)).toBe(true);
    const without = estimatePreset(c, speed, prunedShape);
    const withZoo = estimatePreset(c, speed, prunedShape, undefined, { fromZoo: new Set([base]) });
    const before = without.cells.find((x) => x.cell === base)!;
    // One baseline epoch: 64 train images / 100 + 32 test images / 1000.
    expect(before.seconds).toBeCloseTo(c.baseline.epochs * (64 / 100 + 32 / 1000), 9);
    expect(withZoo.cells.find((x) => x.cell === base)).toMatchObject({ epochs: 0, seconds: 0 });
    expect(withZoo.serialSeconds).toBeCloseTo(without.serialSeconds - before.seconds, 9);
    for (const x of withZoo.cells.filter((y) => y.cell !== base)) expect(x).toEqual(without.cells.find((y) => y.cell === x.cell));
  });
});
