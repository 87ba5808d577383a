import { beforeAll, describe, expect, it, vi } from 'vitest';
import { batches, syntheticDataset, takeIndices } from '../data/index.ts';
import { Model, type VggSpec } from '../models/index.ts';
import type { CalibrationData, Criterion, ScoreOptions } from '../pruning/index.ts';
import { randomizeWeights, useCpuBackend } from '../testing/tf.ts';
import { ConfigError } from '../util/errors.ts';
import { sensitivityScan } from './sensitivity.ts';

/** Every scoreChannels call of the scan, with the calibration data it was given (read out). */
const calls = vi.hoisted(() => [] as { criterion: string; calibration?: { images: Float32Array; shape: number[]; labels: Int32Array; batchSize: number } }[]);

vi.mock('../pruning/index.ts', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../pruning/index.ts')>();
  return {
    ...actual,
    // 'random' stands in for a criterion that scores from data (taylor), which this branch does not have yet.
    criterionNeedsData: (c: Criterion) => c === 'random',
    scoreChannels: (model: Model, criterion: Criterion, opts: ScoreOptions = {}) => {
      const c: CalibrationData | undefined = opts.calibration;
      calls.push({
        criterion,
        ...(c ? { calibration: { images: c.images.dataSync() as Float32Array, shape: c.images.shape, labels: c.labels.dataSync() as Int32Array, batchSize: c.batchSize } } : {}),
      });
      return actual.scoreChannels(model, criterion, opts);
    },
  };
});

const SPEC: VggSpec = { family: 'vgg', name: 'vgg-sens-cal', cfg: [4, 'M', 6], head: 'gap', numClasses: 4, input: { height: 8, width: 8, channels: 3 }, bnGammaInit: 0.5 };
const ds = syntheticDataset({ numClasses: 4, trainCount: 64, testCount: 16, seed: 2, height: 8, width: 8 });
const DATA = { shape: { h: 8, w: 8, c: 3 }, mean: ds.mean, std: ds.std };

let model: Model;
beforeAll(async () => {
  await useCpuBackend();
  model = Model.init(SPEC, 1);
  randomizeWeights(model, 4);
});

describe('sensitivityScan and the criterion', () => {
  it('scores once per scan (not once per layer or ratio), without calibration data for a weight-only criterion', async () => {
    calls.length = 0;
    const scan = await sensitivityScan({ model, test: ds.test, data: DATA, criterion: 'l1', ratios: [0.25, 0.5, 0.75], calibration: { split: ds.train, batchSize: 16 } });
    expect(scan.points).toHaveLength(6);
    expect(calls).toEqual([{ criterion: 'l1' }]);
    expect(scan.calibrationImages).toBe(0);
  });

  it('a data-needing criterion gets the calibration images, normalised as in evaluation, and their labels', async () => {
    calls.length = 0;
    const split = takeIndices(ds.train, Array.from({ length: 40 }, (_, i) => i));
    const scan = await sensitivityScan({ model, test: ds.test, data: DATA, criterion: 'random', ratios: [0.5], calibration: { split, batchSize: 16 } });
    expect(calls).toHaveLength(1);
    const c = calls[0]!.calibration!;
    expect(c.shape).toEqual([40, 8, 8, 3]);
    expect(c.batchSize).toBe(16);
    expect(Array.from(c.labels)).toEqual(Array.from(split.labels));
    // Pixel by pixel: (v / 255 - mean) / std of the channel.
    const expected = Float32Array.from(split.images, (v, i) => (v / 255 - ds.mean[i % 3]!) / ds.std[i % 3]!);
    let maxDiff = 0;
    for (let i = 0; i < expected.length; i++) maxDiff = Math.max(maxDiff, Math.abs(expected[i]! - c.images[i]!));
    expect(maxDiff).toBeLessThan(1e-5);
    expect(scan.calibrationImages).toBe(40);
    // The pipeline agrees (the same normalisation evaluate() uses).
    const b = batches(split, DATA.shape, { batchSize: 40, shuffle: false, augment: false, mean: ds.mean, std: ds.std }).next().value!;
    expect(Array.from(b.x.dataSync() as Float32Array).every((v, i) => Math.abs(v - c.images[i]!) < 1e-6)).toBe(true);
    b.x.dispose();
    b.y.dispose();
  });

  it('refuses a data-needing criterion without calibration images', async () => {
    const e = await sensitivityScan({ model, test: ds.test, data: DATA, criterion: 'random', ratios: [0.5] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).key).toBe('criterion');
  });
});
