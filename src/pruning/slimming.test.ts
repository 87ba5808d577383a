import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/index.ts';
import { syntheticDataset } from '../data/index.ts';
import { Model, type VggSpec } from '../models/index.ts';
import { DEFAULT_TRAIN_CONFIG, trainModel, type TrainData } from '../train/index.ts';
import { silentLogger } from '../util/log.ts';
import { slimmingGammaParams, slimmingPlan } from './methods.ts';

const SPEC: VggSpec = { family: 'vgg', name: 'vgg-slim-test', cfg: [16, 'M', 32, 'M', 32], head: 'slimming', numClasses: 4, input: { height: 8, width: 8, channels: 3 }, bnGammaInit: 0.5 };
const ds = syntheticDataset({ numClasses: 4, trainCount: 256, testCount: 64, seed: 3, height: 8, width: 8 });
const DATA: TrainData = { train: ds.train, test: ds.test, shape: { h: 8, w: 8, c: 3 }, mean: ds.mean, std: ds.std };

beforeAll(async () => {
  await initBackend({ backend: 'wasm', logger: silentLogger });
});

function gammas(model: Model): number[] {
  return slimmingGammaParams(model).flatMap((n) => Array.from(model.param(n).dataSync()).map(Math.abs));
}

describe('Network Slimming sparsity training (a short real run)', () => {
  it('leaves measurably more near-zero BN gammas than normal training, and its threshold prunes them', async () => {
    const cfg = { ...DEFAULT_TRAIN_CONFIG, epochs: 6, lr: 0.05, batchSize: 32, seed: 1, schedule: { kind: 'constant' as const } };
    const quiet = { progressStream: null, logger: silentLogger };
    const normal = Model.init(SPEC, 11);
    const sparse = Model.init(SPEC, 11);
    const rNormal = await trainModel(normal, DATA, cfg, quiet);
    // lambda is far larger than the paper's 1e-4 so that 48 steps can move gammas from 0.5 to zero.
    const rSparse = await trainModel(sparse, DATA, cfg, { ...quiet, l1Penalty: { lambda: 0.06, params: slimmingGammaParams(sparse) } });
    const g0 = gammas(normal);
    const g1 = gammas(sparse);
    const nearZero = (g: number[]): number => g.filter((v) => v < 0.1).length;
    expect(nearZero(g1)).toBeGreaterThan(nearZero(g0) + 0.25 * g1.length);
    const mean = (g: number[]): number => g.reduce((a, b) => a + b, 0) / g.length;
    expect(mean(g1)).toBeLessThan(0.6 * mean(g0));
    // Both still learned the task (chance is 25%).
    expect(rNormal.finalTestAcc).toBeGreaterThan(50);
    expect(rSparse.finalTestAcc).toBeGreaterThan(50);
    // The global threshold at 50% removes the smallest gammas, which sparsity concentrated.
    const { plan, threshold } = slimmingPlan(sparse, 0.5);
    expect(threshold).toBeLessThan(0.1);
    expect(Object.values(plan.groups).reduce((n, k) => n + k.length, 0)).toBe(g1.length - Math.floor(g1.length * 0.5));
    normal.dispose();
    sparse.dispose();
    expect(tf.memory().numTensors).toBeLessThan(50);
  });
});
