/**
 * Forward + backward of a mini network that uses every op the project's models use, on wasm
 * (with prunebench's kernels) versus the cpu backend; and no tensor growth across training steps.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../util/log.ts';
import { batchNormTrain, initBackend, spatialSubsample } from './index.ts';
import { randomArray, relError, valuesOn } from './test_util.ts';

const N = 4;
const PARAM_SHAPES: Record<string, number[]> = {
  w1: [3, 3, 3, 8],
  g1: [8],
  b1: [8],
  w2: [3, 3, 8, 8],
  w3: [1, 1, 8, 12],
  wd: [16, 10],
  bd: [10],
};
const X_SHAPE: [number, number, number, number] = [N, 12, 12, 3];
const xv = randomArray(X_SHAPE, 41);
const labels = [3, 7, 0, 9];
const paramValues = Object.fromEntries(
  Object.entries(PARAM_SHAPES).map(([name, shape], i) => {
    const v = randomArray(shape, 50 + i, 0.5);
    if (name === 'g1') v.forEach((_, j) => (v[j] = 1 + 0.2 * v[j]));
    return [name, v];
  }),
);

function loss(x: tf.Tensor4D, p: Record<string, tf.Tensor>): tf.Scalar {
  const c1 = tf.conv2d(x, p.w1 as tf.Tensor4D, 1, 'same');
  const a = tf.relu(batchNormTrain(c1, p.g1 as tf.Tensor1D, p.b1 as tf.Tensor1D, 1e-5).y); // [N,12,12,8]
  const b = tf.conv2d(a, p.w2 as tf.Tensor4D, 2, 'same'); // [N,6,6,8]
  const shortcut = tf.pad(spatialSubsample(a, 2), [[0, 0], [0, 0], [0, 0], [2, 2]]); // option A: [N,6,6,12]
  const b2 = tf.conv2d(b, p.w3 as tf.Tensor4D, 1, 'valid'); // 1x1: [N,6,6,12]
  const r = tf.relu(tf.add(b2, shortcut));
  const sel = tf.gather(r, tf.tensor1d([0, 2, 3, 5, 7, 8, 11, 1], 'int32'), 3); // channel selection
  const cat = tf.concat([sel, b], 3) as tf.Tensor4D; // DenseNet concat: [N,6,6,16]
  const m = tf.maxPool(cat, 2, 2, 'valid');
  const avg = tf.avgPool(cat, 2, 2, 'valid'); // [N,3,3,16]
  const h = tf.add(tf.mul(m, 0.5), tf.div(avg, tf.add(tf.abs(avg), 1)));
  const h2 = tf.where(tf.greater(h, 0), h, tf.mul(h, 0.1));
  const h3 = tf.add(tf.mul(h2, tf.rsqrt(tf.add(tf.square(h2), 1))), tf.sqrt(tf.add(tf.abs(h2), 1)));
  const h4 = tf.sub(h3, tf.mean(h3)) as tf.Tensor4D;
  const gp = tf.reshape(tf.avgPool(h4, 3, 1, 'valid'), [N, 16]); // global average pool
  const logits = tf.add(tf.matMul(gp, p.wd), p.bd);
  const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
  const ce = tf.losses.softmaxCrossEntropy(onehot, logits);
  const ce2 = tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1)));
  const reg = tf.add(tf.mul(1e-3, tf.sum(tf.abs(p.w1))), tf.mul(1e-3, tf.sum(tf.mul(tf.sign(p.w2), p.w2))));
  return tf.add(tf.add(ce, ce2), reg) as tf.Scalar;
}

function lossAndGrads(): tf.Tensor[] {
  const names = Object.keys(PARAM_SHAPES);
  const params = names.map((n) => tf.tensor(paramValues[n], PARAM_SHAPES[n]));
  const x = tf.tensor4d(xv, X_SHAPE);
  const { value, grads } = tf.valueAndGrads((...ts: tf.Tensor[]) =>
    loss(ts[0] as tf.Tensor4D, Object.fromEntries(names.map((n, i) => [n, ts[i + 1]]))),
  )([x, ...params]);
  return [value, ...grads];
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm', logger: silentLogger });
});

describe('mini network on wasm', () => {
  it('has the same loss and gradients (input and every parameter) as on cpu', async () => {
    const w = await valuesOn('wasm', lossAndGrads);
    const c = await valuesOn('cpu', lossAndGrads);
    expect(w.length).toBe(2 + Object.keys(PARAM_SHAPES).length);
    const names = ['loss', 'x', ...Object.keys(PARAM_SHAPES)];
    for (let i = 0; i < c.length; i++) {
      expect(c[i].some((v) => v !== 0), `${names[i]} gradient is not all zero`).toBe(true);
      expect(relError(w[i], c[i]), names[i]).toBeLessThan(1e-4);
    }
  });

  it('does not grow the number of live tensors across training steps', async () => {
    await tf.setBackend('wasm');
    const vars = Object.fromEntries(
      Object.entries(PARAM_SHAPES).map(([n, s]) => [n, tf.variable(tf.tensor(paramValues[n], s), true, `leak_${n}`)]),
    );
    const x = tf.tensor4d(xv, X_SHAPE);
    const opt = tf.train.momentum(0.01, 0.9);
    const counts: number[] = [];
    const losses: number[] = [];
    for (let step = 0; step < 5; step++) {
      const l = opt.minimize(() => loss(x, vars), true, Object.values(vars))!;
      losses.push(l.dataSync()[0]);
      l.dispose();
      counts.push(tf.memory().numTensors);
    }
    // Momentum accumulators appear in step 1; afterwards the count is flat.
    expect(counts.slice(1)).toEqual(Array(4).fill(counts[1]));
    expect(losses[4]).toBeLessThan(losses[0]); // it trains
    opt.dispose();
    tf.dispose([x, ...Object.values(vars)]);
  });
});
