import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxAbsDiff, randomImages, randomizeWeights, useCpuBackend } from '../testing/tf.ts';
import { CheckpointError, ConfigError, ModelError } from '../util/errors.ts';
import { loadModel, saveModel } from './io.ts';
import { Model } from './model.ts';
import { MODEL_NAMES, modelSpec } from './registry.ts';
import type { VggSpec } from './spec.ts';

let dir: string;
beforeAll(async () => {
  await useCpuBackend();
  dir = await mkdtemp(join(tmpdir(), 'prunebench-model-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const SMALL = { height: 8, width: 8, channels: 3 };

describe('model specs', () => {
  it('every named model compiles and gives logits of the right shape', () => {
    for (const name of MODEL_NAMES) {
      const spec = name.startsWith('vgg') ? modelSpec(name, { widthMultiplier: 0.125 }) : modelSpec(name, { widthMultiplier: 0.25, input: SMALL });
      const model = Model.init(spec, 0);
      const x = randomImages(2, spec.input.height, spec.input.width, 3, 1);
      const { logits } = model.forward(x, false);
      expect(logits.shape).toEqual([2, 10]);
      logits.dispose();
      x.dispose();
      model.dispose();
    }
  });

  it('unknown names and bad cfgs are clear errors', () => {
    expect(() => modelSpec('vgg17')).toThrow(ConfigError);
    expect(() => modelSpec('vgg17')).toThrow(/Unknown model "vgg17"/);
    const bad: VggSpec = { family: 'vgg', name: 'bad', cfg: [8, 0], head: 'gap', numClasses: 2, input: SMALL, bnGammaInit: 0.5 };
    expect(() => Model.init(bad, 0)).toThrow(ModelError);
  });

  it('initialisation is reproducible from the seed and follows the reference init', () => {
    const spec = modelSpec('vgg16', { widthMultiplier: 0.25 });
    const a = Model.init(spec, 3);
    const b = Model.init(spec, 3);
    const c = Model.init(spec, 4);
    const w = 'features.5.conv.weight';
    expect(maxAbsDiff(a.param(w), b.param(w))).toBe(0);
    expect(maxAbsDiff(a.param(w), c.param(w))).toBeGreaterThan(0);
    // He normal, fan-out: std = sqrt(2 / (3*3*64)) for the 6th conv (256 wide at full width).
    const values = Array.from(a.param(w).dataSync());
    const std = Math.sqrt(values.reduce((s, v) => s + v * v, 0) / values.length);
    expect(std).toBeCloseTo(Math.sqrt(2 / (9 * 64)), 3);
    expect(Array.from(a.param('features.0.bn.gamma').dataSync())).toEqual(Array(16).fill(0.5));
    for (const m of [a, b, c]) m.dispose();
  });
});

describe('batch norm', () => {
  it('training mode normalises with batch statistics and updates running stats as PyTorch does', () => {
    const spec: VggSpec = { family: 'vgg', name: 't', cfg: [4], head: 'gap', numClasses: 2, input: { height: 4, width: 4, channels: 3 }, bnGammaInit: 1 };
    const model = Model.init(spec, 0);
    const x = randomImages(3, 4, 4, 3, 1);
    const conv = tf.conv2d(x, model.param('features.0.conv.weight') as tf.Tensor4D, 1, 1);
    const { bnStats, logits } = model.forward(x, true);
    const [mean, variance] = [bnStats[0]!.mean.dataSync(), bnStats[0]!.variance.dataSync()];
    const c = conv.arraySync() as number[][][][];
    for (let ch = 0; ch < 4; ch++) {
      const vals = c.flatMap((img) => img.flatMap((row) => row.map((px) => px[ch]!)));
      const m = vals.reduce((s, v) => s + v, 0) / vals.length;
      const v = vals.reduce((s, q) => s + (q - m) ** 2, 0) / vals.length;
      expect(mean[ch]).toBeCloseTo(m, 4);
      expect(variance[ch]).toBeCloseTo(v, 4);
    }
    const n = bnStats[0]!.count;
    expect(n).toBe(48);
    const expectedVar = Array.from(variance).map((v) => 0.9 + 0.1 * v * (n / (n - 1)));
    const expectedMean = Array.from(mean).map((m) => 0.1 * m);
    model.updateRunningStats(bnStats);
    const runVar = Array.from(model.param('features.0.bn.variance').dataSync());
    const runMean = Array.from(model.param('features.0.bn.mean').dataSync());
    runVar.forEach((v, i) => expect(v).toBeCloseTo(expectedVar[i]!, 5));
    runMean.forEach((v, i) => expect(v).toBeCloseTo(expectedMean[i]!, 5));
    for (const t of [x, conv, logits]) t.dispose();
    model.dispose();
  });
});

describe('save and load', () => {
  it('round-trips spec and weights exactly', async () => {
    const spec = modelSpec('resnet20', { widthMultiplier: 0.25, input: SMALL });
    const model = Model.init(spec, 1);
    randomizeWeights(model, 2);
    await saveModel(join(dir, 'm'), model);
    const loaded = await loadModel(join(dir, 'm'));
    expect(loaded.spec).toEqual(spec);
    const x = randomImages(2, 8, 8, 3, 3);
    expect(maxAbsDiff(loaded.forward(x, false).logits, model.forward(x, false).logits)).toBe(0);
    loaded.dispose();
    model.dispose();
  });

  it('a missing or truncated file is an error naming the file', async () => {
    await expect(loadModel(join(dir, 'nothing'))).rejects.toThrow(/spec\.json is missing/);
    const model = Model.init(modelSpec('vgg-tiny'), 1);
    await saveModel(join(dir, 't'), model);
    await writeFile(join(dir, 't', 'weights.bin'), new Uint8Array(10));
    await expect(loadModel(join(dir, 't'))).rejects.toThrow(CheckpointError);
    await expect(loadModel(join(dir, 't'))).rejects.toThrow(/weights data has 10 bytes/);
    model.dispose();
  });
});
