import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../util/log.ts';
import { initBackend, WASM_TRAINING_KERNELS } from './index.ts';
import { randomArray, relError, valuesOn, wasmVsCpu } from './test_util.ts';

type Pad = 'same' | 'valid' | tf.backend_util.ExplicitPadding;
type Case = { x: [number, number, number, number]; f: [number, number, number, number]; s: number | [number, number]; pad: Pad };

const CONV_CASES: Case[] = [
  { x: [2, 7, 9, 3], f: [3, 3, 3, 5], s: 1, pad: 'same' }, // im2col path, odd sizes
  { x: [2, 7, 9, 3], f: [3, 3, 3, 5], s: 2, pad: 'same' },
  { x: [1, 9, 7, 1], f: [5, 5, 1, 4], s: 2, pad: 'valid' }, // batch 1, Cin 1
  { x: [3, 8, 8, 2], f: [3, 1, 2, 3], s: [2, 1], pad: 'same' }, // non-square kernel and stride
  { x: [2, 9, 7, 4], f: [5, 5, 4, 4], s: 1, pad: [[0, 0], [1, 2], [0, 3], [0, 0]] }, // explicit padding
  { x: [2, 7, 9, 6], f: [3, 3, 6, 5], s: 2, pad: 'valid' }, // conv path, stride 2 crops a row
  { x: [1, 8, 8, 8], f: [1, 1, 8, 4], s: 2, pad: 'valid' }, // 1x1 stride 2 (ResNet B shortcut)
  { x: [2, 8, 8, 8], f: [1, 1, 8, 6], s: 1, pad: 'valid' }, // 1x1
  { x: [2, 9, 7, 5], f: [5, 3, 5, 4], s: [2, 3], pad: 'same' },
  { x: [2, 10, 10, 7], f: [3, 3, 7, 6], s: 3, pad: 'valid' },
  { x: [2, 11, 9, 6], f: [3, 3, 6, 4], s: 1, pad: [[0, 0], [2, 0], [1, 1], [0, 0]] },
  { x: [4, 8, 8, 16], f: [3, 3, 16, 12], s: 1, pad: 'same' },
  { x: [1, 5, 5, 9], f: [5, 5, 9, 3], s: 1, pad: 'valid' }, // kernel as large as the image
];

function outShape(c: Case): number[] {
  const info = tf.backend_util.computeConv2DInfo(c.x, c.f, c.s, 1, c.pad, undefined, false, 'channelsLast');
  return info.outShape;
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm', logger: silentLogger });
});

describe('registered wasm kernels', () => {
  it('are the prunebench ones', () => {
    for (const k of WASM_TRAINING_KERNELS) expect(tf.getKernel(k.kernelName, 'wasm')?.kernelFunc).toBe(k.kernelFunc);
  });
});

describe('Conv2DBackpropFilter and Conv2DBackpropInput on wasm match the cpu backend', () => {
  for (const [i, c] of CONV_CASES.entries()) {
    it(`x ${c.x} filter ${c.f} stride ${c.s} pad ${JSON.stringify(c.pad)}`, async () => {
      const xv = randomArray(c.x, 10 + i);
      const fv = randomArray(c.f, 100 + i);
      const dyShape = outShape(c);
      const dyv = randomArray(dyShape, 1000 + i);
      const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
      const filterGrad = () =>
        tf.engine().runKernel(
          tf.Conv2DBackpropFilter,
          { x: tf.tensor4d(xv, c.x), dy: tf.tensor(dyv, dyShape) },
          { ...attrs, filterShape: c.f } as unknown as tf.NamedAttrMap,
        ) as tf.Tensor;
      const inputGrad = () =>
        tf.engine().runKernel(
          tf.Conv2DBackpropInput,
          { dy: tf.tensor(dyv, dyShape), filter: tf.tensor4d(fv, c.f) },
          { ...attrs, inputShape: c.x } as unknown as tf.NamedAttrMap,
        ) as tf.Tensor;
      const [wf] = await valuesOn('wasm', filterGrad);
      const [cf] = await valuesOn('cpu', filterGrad);
      expect(wf.length).toBe(c.f.reduce((a, b) => a * b));
      expect(relError(wf, cf)).toBeLessThan(1e-5);
      expect(await wasmVsCpu(inputGrad)).toBeLessThan(1e-5);
    });
  }
});

describe('MaxPoolGrad on wasm', () => {
  const shape: [number, number, number, number] = [2, 6, 7, 3];
  // All values negative: the stock wasm kernel gives such windows no gradient at all.
  const negative = randomArray(shape, 7).map((v) => -Math.abs(v) - 0.01);
  for (const [size, stride, pad] of [
    [2, 2, 'valid'],
    [3, 2, 'same'],
    [3, 1, 'same'],
    [2, 1, 'valid'],
  ] as const) {
    it(`matches cpu on all-negative input, window ${size} stride ${stride} ${pad}`, async () => {
      const f = () =>
        tf.grad((t: tf.Tensor) => {
          const y = tf.maxPool(t as tf.Tensor4D, size, stride, pad);
          return tf.sum(tf.mul(y, tf.reshape(tf.range(1, y.size + 1), y.shape)));
        })(tf.tensor4d(negative, shape));
      const [w] = await valuesOn('wasm', f);
      const [c] = await valuesOn('cpu', f);
      expect(relError(w, c)).toBe(0);
      // Every window passes its gradient on: the total equals the sum of the weights.
      const outSize = tf.backend_util.computePool2DInfo(shape, size, stride, 1, pad).outShape.reduce((a, b) => a * b);
      expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo((outSize * (outSize + 1)) / 2, 0);
    });
  }
  it('sends the gradient of a tie to the first maximum, like cpu', async () => {
    const ties = new Float32Array(2 * 4 * 4 * 2).fill(-0.5);
    const f = () => tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')))(tf.tensor4d(ties, [2, 4, 4, 2]));
    const [w] = await valuesOn('wasm', f);
    const [c] = await valuesOn('cpu', f);
    expect(Array.from(w)).toEqual(Array.from(c));
    // First element of each 2x2 window (row 0, col 0 of the window) gets 1.
    expect(w[0]).toBe(1);
    expect(w[2]).toBe(0);
  });
});

describe('BatchMatMul on wasm', () => {
  it('gives correct results when one tensor is operand B under two shapes (XNNPACK cache trap)', async () => {
    const bv = randomArray([24], 3);
    const a1v = randomArray([3, 4], 4);
    const a2v = randomArray([5, 6], 5);
    const f = () => {
      const b = tf.tensor1d(bv);
      const r1 = tf.matMul(tf.tensor2d(a1v, [3, 4]), tf.reshape(b, [4, 6]));
      const r2 = tf.matMul(tf.tensor2d(a2v, [5, 6]), tf.reshape(b, [6, 4]));
      const r3 = tf.matMul(tf.tensor2d(a1v, [3, 4]), tf.reshape(b, [4, 6]));
      return [r1, r2, r3];
    };
    // Reference by hand, in float64.
    const ref = (av: Float32Array, m: number, k: number, n: number) => {
      const out = new Float32Array(m * n);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += av[i * k + t] * bv[t * n + j];
        out[i * n + j] = s;
      }
      return out;
    };
    const [r1, r2, r3] = await valuesOn('wasm', f);
    expect(relError(r1, ref(a1v, 3, 4, 6))).toBeLessThan(1e-5);
    expect(relError(r2, ref(a2v, 5, 6, 4))).toBeLessThan(1e-5);
    expect(relError(r3, ref(a1v, 3, 4, 6))).toBeLessThan(1e-5);
  });
  it('matches cpu with transposeA / transposeB and batched operands', async () => {
    const av = randomArray([2, 7, 5], 8);
    const bv = randomArray([2, 5, 6], 9);
    const f = () => {
      const a = tf.tensor3d(av, [2, 7, 5]);
      const b = tf.tensor3d(bv, [2, 5, 6]);
      const a2 = tf.reshape(tf.slice(a, [0, 0, 0], [1, 7, 5]), [7, 5]);
      const b2 = tf.reshape(tf.slice(b, [0, 0, 0], [1, 5, 6]), [5, 6]);
      return [
        tf.matMul(a2, b2),
        tf.matMul(tf.transpose(a2), b2, true, false),
        tf.matMul(a2, tf.transpose(b2), false, true),
        tf.matMul(tf.transpose(a2), tf.transpose(b2), true, true),
        tf.matMul(a, b),
      ];
    };
    expect(await wasmVsCpu(f)).toBeLessThan(1e-5);
  });
});

describe('UnsortedSegmentSum and gather gradient on wasm', () => {
  it('matches cpu (ids repeated, out of range dropped)', async () => {
    const xv = randomArray([6, 3, 4], 11);
    const f = () =>
      tf.unsortedSegmentSum(tf.tensor3d(xv, [6, 3, 4]), tf.tensor1d([2, 0, 2, 4, 1, 0], 'int32'), 4);
    expect(await wasmVsCpu(f)).toBeLessThan(1e-6);
  });
  it('gives the gradient of a channel gather', async () => {
    const xv = randomArray([2, 3, 3, 5], 12);
    const f = () =>
      tf.grad((x: tf.Tensor) => tf.sum(tf.square(tf.gather(x, tf.tensor1d([4, 0, 0, 2], 'int32'), 3))))(
        tf.tensor4d(xv, [2, 3, 3, 5]),
      );
    const [w] = await valuesOn('wasm', f);
    const [c] = await valuesOn('cpu', f);
    expect(relError(w, c)).toBeLessThan(1e-6);
    // Channel 0 is selected twice: gradient 2 * 2x; channel 1 not at all.
    expect(w[0]).toBeCloseTo(4 * xv[0], 5);
    expect(w[1]).toBe(0);
  });
});

describe('Identity and same-dtype Cast on wasm', () => {
  it('share the data (no copy) and keep it alive after the source is disposed', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const x = tf.tensor1d([1, 2, 3]);
    const y = tf.clone(x);
    const z = tf.cast(x, 'float32');
    expect(y.dataId).toBe(x.dataId);
    expect(z.dataId).toBe(x.dataId);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
    y.dispose();
    expect(Array.from(z.dataSync())).toEqual([1, 2, 3]);
    z.dispose();
    expect(tf.memory().numTensors).toBe(before);
    // A real cast still converts.
    const i = tf.cast(tf.tensor1d([1.7, -2.2]), 'int32');
    expect(Array.from(i.dataSync())).toEqual([1, -2]);
    expect(i.dtype).toBe('int32');
    i.dispose();
  });
});
