import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../util/log.ts';
import { batchNormTrain, channelMean, channelMoments, initBackend, spatialSubsample } from './index.ts';
import { randomArray, relError, valuesOn } from './test_util.ts';

const SHAPE: [number, number, number, number] = [3, 5, 7, 4];
const xv = randomArray(SHAPE, 21, 2).map((v, i) => v + (i % 4) * 3); // per-channel offsets
const gv = randomArray([4], 22);
const bv = randomArray([4], 23);
const rv = randomArray(SHAPE, 24); // upstream gradient weights
const EPS = 1e-3;

/** y, mean, variance and the gradients of sum(y*r) w.r.t. x, gamma, beta. */
function bnOutputs(impl: 'fast' | 'naive'): tf.Tensor[] {
  const x = tf.tensor4d(xv, SHAPE);
  const gamma = tf.tensor1d(gv);
  const beta = tf.tensor1d(bv);
  const r = tf.tensor4d(rv, SHAPE);
  const forward = (x: tf.Tensor4D, g: tf.Tensor1D, b: tf.Tensor1D) => {
    if (impl === 'fast') return batchNormTrain(x, g, b, EPS);
    const mean = tf.mean(x, [0, 1, 2]) as tf.Tensor1D;
    const variance = tf.mean(tf.square(tf.sub(x, mean)), [0, 1, 2]) as tf.Tensor1D;
    const y = tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, EPS))), g), b) as tf.Tensor4D;
    return { y, mean, variance };
  };
  const { y, mean, variance } = forward(x, gamma, beta);
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
    tf.sum(tf.mul(forward(a as tf.Tensor4D, b as tf.Tensor1D, c as tf.Tensor1D).y, r)),
  )([x, gamma, beta]);
  return [y, mean, variance, ...grads];
}

const NAMES = ['y', 'mean', 'variance', 'dx', 'dgamma', 'dbeta'];

beforeAll(async () => {
  await initBackend({ backend: 'wasm', logger: silentLogger });
});

describe('batchNormTrain', () => {
  it('matches the naive formula and its autodiff on the cpu backend', async () => {
    const fast = await valuesOn('cpu', () => bnOutputs('fast'));
    const naive = await valuesOn('cpu', () => bnOutputs('naive'));
    for (let i = 0; i < NAMES.length; i++) expect(relError(fast[i], naive[i]), NAMES[i]).toBeLessThan(1e-5);
    // dbeta is sum(r) per channel (a value computed by hand).
    const dbeta = [0, 0, 0, 0];
    rv.forEach((v, i) => (dbeta[i % 4] += v));
    expect(relError(fast[5], Float32Array.from(dbeta))).toBeLessThan(1e-5);
  });
  it('gives the same numbers on wasm as the naive formula on cpu', async () => {
    const fast = await valuesOn('wasm', () => bnOutputs('fast'));
    const naive = await valuesOn('cpu', () => bnOutputs('naive'));
    for (let i = 0; i < NAMES.length; i++) expect(relError(fast[i], naive[i]), NAMES[i]).toBeLessThan(1e-4);
  });
  it('leaves no tensors behind and its stats survive a tidy', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(xv, SHAPE);
    const g = tf.tensor1d(gv);
    const b = tf.tensor1d(bv);
    const before = tf.memory().numTensors;
    const kept = tf.tidy(() => {
      const { y, mean, variance } = batchNormTrain(x, g, b, EPS);
      tf.grads((a: tf.Tensor) => tf.sum(batchNormTrain(a as tf.Tensor4D, g, b, EPS).y))([x]);
      y.dispose();
      return [mean, variance];
    });
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(kept[0].shape).toEqual([4]);
    tf.dispose([...kept, x, g, b]);
  });
  it('rejects gamma of the wrong size', () => {
    expect(() => batchNormTrain(tf.zeros([1, 2, 2, 3]) as tf.Tensor4D, tf.ones([2]) as tf.Tensor1D, tf.zeros([3]) as tf.Tensor1D, EPS)).toThrow(/gamma/);
  });
});

describe('channelMoments and channelMean', () => {
  it('match tf.moments on cpu and wasm, and channelMean has the gradient of tf.mean', async () => {
    const f = () => {
      const x = tf.tensor4d(xv, SHAPE);
      const { mean, variance } = channelMoments(x);
      const ref = tf.moments(x, [0, 1, 2]);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(channelMean(t), tf.tensor1d([1, 2, 3, 4]))))(x);
      const gRef = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.mean(t, [0, 1, 2]), tf.tensor1d([1, 2, 3, 4]))))(x);
      return [mean, ref.mean, variance, ref.variance, g, gRef];
    };
    for (const backend of ['cpu', 'wasm'] as const) {
      const [m, mRef, v, vRef, g, gRef] = await valuesOn(backend, f);
      expect(relError(m, mRef)).toBeLessThan(1e-5);
      expect(relError(v, vRef)).toBeLessThan(1e-5);
      expect(relError(g, gRef)).toBeLessThan(1e-6);
    }
  });
});

describe('spatialSubsample', () => {
  it('equals x[:, ::2, ::2, :] (odd sizes) and has the scatter gradient', async () => {
    const shape: [number, number, number, number] = [2, 5, 7, 3];
    const v = randomArray(shape, 31);
    for (const backend of ['cpu', 'wasm'] as const) {
      const [y, ref, g] = await valuesOn(backend, () => {
        const x = tf.tensor4d(v, shape);
        return [
          spatialSubsample(x, 2),
          tf.stridedSlice(x, [0, 0, 0, 0], shape, [1, 2, 2, 1]),
          tf.grad((t: tf.Tensor) => tf.sum(spatialSubsample(t as tf.Tensor4D, 2)))(x),
        ];
      });
      expect(Array.from(y)).toEqual(Array.from(ref));
      // Gradient: 1 at even (h, w), else 0.
      const expected = Float32Array.from({ length: v.length }, (_, i) => {
        const w = Math.floor(i / 3) % 7;
        const h = Math.floor(i / 21) % 5;
        return h % 2 === 0 && w % 2 === 0 ? 1 : 0;
      });
      expect(Array.from(g)).toEqual(Array.from(expected));
    }
  });
});
