/**
 * The whole training loop (trainModel: epochs, the L1 penalty of Network Slimming, masks,
 * evaluation, checkpoints) runs on the webgpu backend, whose tensors cannot be read synchronously
 * in Node, and gives the curve it gives on wasm.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticDataset } from '../data/index.ts';
import { Model, type VggSpec } from '../models/index.ts';
import { DEFAULT_TRAIN_CONFIG, trainModel, type TrainConfig, type TrainData, type TrainResult } from './index.ts';
import { silentLogger } from '../util/log.ts';
import { initBackend } from '../backend/index.ts';
import { webgpuAvailability } from '../backend/webgpu/availability.ts';

const { reason } = await webgpuAvailability();

const SPEC: VggSpec = { family: 'vgg', name: 'vgg-micro', cfg: [8, 'M', 16, 'M'], head: 'gap', numClasses: 4, input: { height: 8, width: 8, channels: 3 }, bnGammaInit: 0.5 };
const ds = syntheticDataset({ numClasses: 4, trainCount: 128, testCount: 64, seed: 1, height: 8, width: 8 });
const DATA: TrainData = { train: ds.train, test: ds.test, shape: { h: 8, w: 8, c: 3 }, mean: ds.mean, std: ds.std };
const CFG: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, epochs: 2, lr: 0.05, batchSize: 32, seed: 3, schedule: { kind: 'constant' } };
const quiet = { progressStream: null, logger: silentLogger } as const;

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function train(backend: 'wasm' | 'webgpu'): Promise<TrainResult> {
  await initBackend({ backend, logger: silentLogger });
  const model = Model.init(SPEC, 5);
  const dir = await mkdtemp(join(tmpdir(), `prunebench-webgpu-${backend}-`));
  dirs.push(dir);
  // Mask one conv weight's first output channel, as unstructured pruning does.
  const w = model.param('features.0.conv.weight');
  const mask = tf.tidy(() => tf.concat([tf.zeros([...w.shape.slice(0, 3), 1]), tf.ones([...w.shape.slice(0, 3), w.shape[3]! - 1])], 3));
  const gammas = [...model.params.keys()].filter((n) => n.endsWith('.gamma'));
  const result = await trainModel(model, DATA, CFG, { ...quiet, checkpointDir: dir, l1Penalty: { lambda: 1e-4, params: gammas }, masks: new Map([['features.0.conv.weight', mask]]) });
  // The mask held: the masked channel is exactly zero after training.
  const masked = await tf.tidy(() => tf.sum(tf.abs(tf.slice(model.param('features.0.conv.weight'), [0, 0, 0, 0], [...w.shape.slice(0, 3), 1])))).data();
  expect(masked[0]).toBe(0);
  mask.dispose();
  model.dispose();
  return result;
}

describe.skipIf(reason !== null)('trainModel on webgpu', () => {
  it('trains, evaluates and checkpoints, with the same curve as on wasm', async () => {
    const wasm = await train('wasm');
    const gpu = await train('webgpu');
    expect(gpu.curve).toHaveLength(2);
    for (const [i, p] of gpu.curve.entries()) {
      const q = wasm.curve[i]!;
      expect(Math.abs(p.trainLoss - q.trainLoss) / q.trainLoss).toBeLessThan(1e-3);
      expect(Math.abs(p.testLoss - q.testLoss) / q.testLoss).toBeLessThan(1e-3);
      // Accuracy can differ by an image whose two top logits are within rounding of each other.
      expect(Math.abs(p.testAcc - q.testAcc)).toBeLessThanOrEqual(100 / 64 + 1e-9);
    }
  });
});
