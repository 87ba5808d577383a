import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Model, type VggSpec } from '../models/index.ts';
import { randomImages, randomizeWeights, useCpuBackend } from '../testing/tf.ts';
import { tinyDenseNetSpec } from '../testing/fixtures.ts';
import { crossEntropy } from '../train/index.ts';
import { ConfigError } from '../util/errors.ts';
import { criterionNeedsData, scoreChannels, topK, type CalibrationData } from './criteria.ts';
import { prunableGroups } from './groups.ts';
import { predefinedPlan, uniformRatios } from './methods.ts';
import { taylorChannelScores } from './taylor.ts';

beforeAll(useCpuBackend);

const VGG: VggSpec = { family: 'vgg', name: 'vgg-taylor', cfg: [5, 'M', 6], head: 'gap', numClasses: 3, input: { height: 6, width: 6, channels: 2 }, bnGammaInit: 0.5 };
const DENSE = tinyDenseNetSpec('dense-taylor');

function calibration(model: Model, n: number, batchSize: number, seed: number): CalibrationData {
  const { height, width, channels } = model.spec.input;
  return {
    images: randomImages(n, height, width, channels, seed),
    labels: tf.tensor1d(Array.from({ length: n }, (_, i) => (i * 7 + seed) % model.spec.numClasses), 'int32'),
    batchSize,
  };
}

function disposeCalibration(c: CalibrationData): void {
  c.images.dispose();
  c.labels.dispose();
}

/** The training loss of one batch (training-mode forward, as the criterion takes it). */
function batchLoss(model: Model, x: tf.Tensor4D, y: tf.Tensor1D): number {
  const out = model.forward(x, true);
  const loss = tf.tidy(() => crossEntropy(out.logits, y).dataSync()[0]!);
  out.logits.dispose();
  for (const s of out.bnStats) tf.dispose([s.mean, s.variance]);
  return loss;
}

/**
 * d/dt of the batch loss when channel c of the named weights is scaled by (1 + t) along `axis`,
 * at t = 0, by central differences: the activation x gradient that Taylor sums, computed from
 * forward passes only.
 */
function scaledDerivative(model: Model, weights: [name: string, axis: number][], c: number, x: tf.Tensor4D, y: tf.Tensor1D, eps = 1e-3): number {
  const saved = weights.map(([name]) => model.param(name).clone());
  const lossAt = (t: number): number => {
    tf.tidy(() => {
      weights.forEach(([name, axis], k) => {
        const w = saved[k]!;
        const shape = w.shape.map((d, i) => (i === axis ? d : 1));
        const scale = tf.add(1, tf.mul(tf.reshape(tf.oneHot([c], w.shape[axis]!), shape), t));
        model.param(name).assign(tf.mul(w, scale));
      });
    });
    return batchLoss(model, x, y);
  };
  // Small eps: ReLU and max-pool kinks make larger steps unreliable; float32 loss noise (~1e-7)
  // stays ~1e-4 on the derivative.
  const d = (lossAt(eps) - lossAt(-eps)) / (2 * eps);
  weights.forEach(([name], k) => model.param(name).assign(saved[k]!));
  tf.dispose(saved);
  return d;
}

/** Expected Taylor scores of one group: sum over batches of the squared derivative. */
function expectedScores(model: Model, weights: [string, number][], channels: number, cal: CalibrationData): number[] {
  const n = cal.images.shape[0];
  const out = new Array<number>(channels).fill(0);
  for (let start = 0; start < n; start += cal.batchSize) {
    const size = Math.min(cal.batchSize, n - start);
    const x = tf.slice(cal.images, [start, 0, 0, 0], [size, -1, -1, -1]);
    const y = tf.slice(cal.labels, [start], [size]);
    for (let c = 0; c < channels; c++) out[c] += scaledDerivative(model, weights, c, x, y) ** 2;
    tf.dispose([x, y]);
  }
  return out;
}

function expectClose(actual: ArrayLike<number>, expected: number[], label: string): void {
  const scale = Math.max(...expected);
  expect(scale, `${label}: scores are not all ~0`).toBeGreaterThan(1e-6);
  expected.forEach((e, i) => expect(Math.abs(actual[i]! - e), `${label} channel ${i}: ${actual[i]} vs ${e}`).toBeLessThan(0.01 * scale));
}

describe('first-order Taylor', () => {
  it('BN form: sum over batches of (gamma dL/dgamma + beta dL/dbeta)^2 equals the finite-difference derivative of scaling the channel', () => {
    const model = Model.init(VGG, 0);
    randomizeWeights(model, 1);
    const cal = calibration(model, 7, 3, 2); // 3 batches, the last of 1 image
    const scores = scoreChannels(model, 'taylor', { calibration: cal });
    const groups = prunableGroups(model.graph);
    expect([...scores.keys()]).toEqual(groups.map((g) => g.id));
    for (const g of groups) {
      const bn = g.bns[0]!;
      const expected = expectedScores(model, [[`${bn}.gamma`, 0], [`${bn}.beta`, 0]], g.channels, cal);
      expectClose(scores.get(g.id)!, expected, g.id);
    }
    disposeCalibration(cal);
    model.dispose();
  });

  it('channel selections: the BN form, and without a BN the readers’ input slices', () => {
    const model = Model.init(DENSE, 3);
    randomizeWeights(model, 4);
    const cal = calibration(model, 4, 2, 5);
    const groups = prunableGroups(model.graph).filter((g) => g.id !== 'final.select');
    const withBn = taylorChannelScores(model, cal, groups);
    const noBn = taylorChannelScores(model, cal, groups.map((g) => ({ ...g, bns: [] })));
    for (const g of groups) {
      const bn = g.bns[0]!;
      expectClose(withBn.get(g.id)!, expectedScores(model, [[`${bn}.gamma`, 0], [`${bn}.beta`, 0]], g.channels, cal), `${g.id} (BN)`);
      const reader = `${g.id.replace('.select', '')}.conv1.weight`;
      expectClose(noBn.get(g.id)!, expectedScores(model, [[reader, 2]], g.channels, cal), `${g.id} (readers)`);
    }
    disposeCalibration(cal);
    model.dispose();
  });

  it('predefinedPlan with taylor keeps the channels the finite differences rank highest', () => {
    const model = Model.init(VGG, 6);
    randomizeWeights(model, 7);
    const cal = calibration(model, 6, 3, 8);
    const { plan } = predefinedPlan(model, uniformRatios(model, 0.5), { criterion: 'taylor', calibration: cal });
    for (const g of prunableGroups(model.graph)) {
      const bn = g.bns[0]!;
      const expected = expectedScores(model, [[`${bn}.gamma`, 0], [`${bn}.beta`, 0]], g.channels, cal);
      expect(plan.groups[g.id], g.id).toEqual(topK(expected, Math.floor(g.channels * 0.5)));
    }
    disposeCalibration(cal);
    model.dispose();
  });

  it('needs data: a ConfigError naming --data-dir without it, and bad calibration tensors are named', () => {
    const model = Model.init(VGG, 9);
    expect(criterionNeedsData('taylor')).toBe(true);
    expect(() => scoreChannels(model, 'taylor')).toThrow(ConfigError);
    expect(() => scoreChannels(model, 'taylor')).toThrow(/taylor criterion .*needs calibration data: pass --data-dir/);
    expect(() => predefinedPlan(model, uniformRatios(model, 0.5), { criterion: 'taylor' })).toThrow(/--data-dir/);
    const wrong = { images: randomImages(2, 5, 5, 2, 0), labels: tf.tensor1d([0, 1], 'int32'), batchSize: 2 };
    expect(() => scoreChannels(model, 'taylor', { calibration: wrong })).toThrow(/Calibration images are 5x5x2 but model vgg-taylor takes 6x6x2/);
    disposeCalibration(wrong);
    const short = calibration(model, 3, 2, 0);
    const labels = tf.tensor1d([0, 1], 'int32');
    expect(() => scoreChannels(model, 'taylor', { calibration: { ...short, labels } })).toThrow(/3 images but 2 labels/);
    expect(() => scoreChannels(model, 'taylor', { calibration: { ...short, batchSize: 0 } })).toThrow(/batch size to be a positive integer/);
    labels.dispose();
    disposeCalibration(short);
    model.dispose();
  });

  it('leaves the weights and the tensor count as they were', () => {
    const model = Model.init(VGG, 10);
    randomizeWeights(model, 11);
    const cal = calibration(model, 4, 2, 12);
    const before = new Map([...model.namedWeights()].map(([n, w]) => [n, Array.from(w.dataSync())]));
    scoreChannels(model, 'taylor', { calibration: cal });
    const start = tf.memory().numTensors;
    scoreChannels(model, 'taylor', { calibration: cal });
    expect(tf.memory().numTensors).toBe(start);
    for (const [n, w] of model.namedWeights()) expect(Array.from(w.dataSync()), n).toEqual(before.get(n));
    disposeCalibration(cal);
    model.dispose();
  });
});
