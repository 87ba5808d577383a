/**
 * The onednn backend's native kernels against the pure-JS cpu backend, on small shapes: stride 1
 * and 2, odd sizes, C=3, 1x1 kernels, every padding form; plus the fallbacks, heap safety (bounds,
 * detached heaps after wasm memory growth) and plans per thread count.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../util/log.ts';
import { batchNormInference, batchNormTrain, initBackend, sgdUpdate } from '../index.ts';
import { backendVsCpu, randomArray, relError, valuesOn } from '../test_util.ts';
import { onednnAvailability } from './availability.ts';
import { onednnRuntime } from './register.ts';
import type { WasmHeapBackend } from './runtime.ts';

const { reason, required } = onednnAvailability();
const B = 'onednn';

describe('onednn backend availability', () => {
  it.runIf(required)('is usable where it is required (CI)', () => {
    expect(reason).toBeNull();
  });
});

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
type ConvCase = { x: [number, number, number, number]; f: [number, number, number, number]; s: number | [number, number]; pad: Pad };

const CONV_CASES: ConvCase[] = [
  { x: [2, 7, 9, 3], f: [3, 3, 3, 5], s: 1, pad: 'same' }, // C=3, odd sizes
  { x: [2, 7, 9, 3], f: [3, 3, 3, 5], s: 2, pad: 'same' }, // stride 2, asymmetric 'same' padding
  { x: [2, 9, 9, 6], f: [3, 3, 6, 8], s: 2, pad: 1 }, // ResNet's stride-2 conv, odd size, numeric padding
  { x: [2, 8, 8, 16], f: [3, 3, 16, 16], s: 1, pad: 1 },
  { x: [1, 9, 7, 1], f: [5, 5, 1, 4], s: 2, pad: 'valid' }, // batch 1, Cin 1
  { x: [3, 8, 8, 2], f: [3, 1, 2, 3], s: [2, 1], pad: 'same' }, // non-square kernel and stride
  { x: [2, 9, 7, 4], f: [5, 5, 4, 4], s: 1, pad: [[0, 0], [1, 2], [0, 3], [0, 0]] }, // explicit padding
  { x: [1, 8, 8, 8], f: [1, 1, 8, 4], s: 2, pad: 'valid' }, // 1x1 stride 2
  { x: [2, 8, 8, 24], f: [1, 1, 24, 12], s: 1, pad: 0 }, // 1x1 (PreResNet bottleneck, DenseNet transition)
  { x: [1, 5, 5, 9], f: [5, 5, 9, 3], s: 1, pad: 'valid' }, // kernel as large as the image
];

function convOut(c: ConvCase): number[] {
  return tf.backend_util.computeConv2DInfo(c.x, c.f, c.s, 1, c.pad, undefined, false, 'channelsLast').outShape;
}

describe.skipIf(reason !== null)('onednn convolution kernels match the cpu backend', () => {
  beforeAll(async () => {
    await initBackend({ backend: B, logger: silentLogger });
  });
  for (const [i, c] of CONV_CASES.entries()) {
    it(`x ${c.x} filter ${c.f} stride ${c.s} pad ${JSON.stringify(c.pad)}`, async () => {
      const xv = randomArray(c.x, 10 + i);
      const fv = randomArray(c.f, 100 + i);
      const dyShape = convOut(c);
      const dyv = randomArray(dyShape, 1000 + i);
      const plansBefore = onednnRuntime()!.planCount;
      const forward = () => tf.conv2d(tf.tensor4d(xv, c.x), tf.tensor4d(fv, c.f), c.s, c.pad as 'same');
      const grads = () => {
        const g = tf.grads((x: tf.Tensor, f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.s, c.pad as 'same'), tf.tensor(dyv, dyShape))));
        return g([tf.tensor4d(xv, c.x), tf.tensor4d(fv, c.f)]);
      };
      expect(await backendVsCpu(B, forward)).toBeLessThan(1e-5);
      expect(await backendVsCpu(B, grads)).toBeLessThan(1e-5);
      // The native path ran (a plan was made), rather than a silent fallback to the wasm kernels.
      expect(onednnRuntime()!.planCount).toBeGreaterThan(plansBefore);
    });
  }
  it('falls back to the wasm kernel for a dilated convolution, still correct', async () => {
    const xv = randomArray([1, 9, 9, 4], 5);
    const fv = randomArray([3, 3, 4, 2], 6);
    const plansBefore = onednnRuntime()!.planCount;
    const f = () => tf.conv2d(tf.tensor4d(xv, [1, 9, 9, 4]), tf.tensor4d(fv, [3, 3, 4, 2]), 1, 'same', 'NHWC', 2);
    expect(await backendVsCpu(B, f)).toBeLessThan(1e-5);
    expect(onednnRuntime()!.planCount).toBe(plansBefore);
  });
});

describe.skipIf(reason !== null)('onednn pooling kernels match the cpu backend', () => {
  const shape: [number, number, number, number] = [2, 7, 6, 3];
  // All-negative input: a max search that starts at 0 would give such windows no gradient.
  const negative = randomArray(shape, 7).map((v) => -Math.abs(v) - 0.01);
  const mixed = randomArray([3, 8, 8, 5], 8);
  for (const [size, stride, pad] of [
    [2, 2, 'valid'],
    [3, 2, 'same'],
    [3, 1, 'same'],
    [2, 1, 'valid'],
    [3, 3, 'valid'],
  ] as const) {
    it(`max pool ${size}x${size} stride ${stride} ${pad}: forward and gradient`, async () => {
      for (const [values, s] of [[negative, shape], [mixed, [3, 8, 8, 5]]] as const) {
        const f = () => {
          const x = tf.tensor4d(values, s as [number, number, number, number]);
          const y = tf.maxPool(x, size, stride, pad);
          const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, size, stride, pad), tf.reshape(tf.range(1, y.size + 1), y.shape))))(x);
          return [y, g];
        };
        const [yo, go] = await valuesOn(B, f);
        const [yc, gc] = await valuesOn('cpu', f);
        expect(relError(yo, yc)).toBe(0);
        expect(relError(go, gc)).toBe(0);
      }
    });
    it(`average pool ${size}x${size} stride ${stride} ${pad}: forward and gradient`, async () => {
      const f = () => {
        const x = tf.tensor4d(mixed, [3, 8, 8, 5]);
        const y = tf.avgPool(x, size, stride, pad);
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(t as tf.Tensor4D, size, stride, pad), tf.reshape(tf.range(1, y.size + 1), y.shape))))(x);
        return [y, g];
      };
      expect(await backendVsCpu(B, f)).toBeLessThan(1e-6);
    });
  }
  it('max pool gradient of ties goes to the first maximum', async () => {
    const ties = new Float32Array(2 * 4 * 4 * 2).fill(-0.5);
    const f = () => tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')))(tf.tensor4d(ties, [2, 4, 4, 2]));
    const [o] = await valuesOn(B, f);
    expect(Array.from(o.slice(0, 4))).toEqual([1, 1, 0, 0]);
    expect(Array.from(o)).toEqual(Array.from((await valuesOn('cpu', f))[0]!));
  });
  it('average pool over a whole batch (the per-channel reduction of batch norm) keeps precision', async () => {
    const big = randomArray([1, 512, 64, 4], 9).map((v) => v + 1000);
    const f = () => tf.avgPool(tf.tensor4d(big, [1, 512, 64, 4]), [512, 64], 1, 'valid');
    const [o] = await valuesOn(B, f);
    const ref = [0, 0, 0, 0];
    for (let i = 0; i < big.length; i++) ref[i % 4]! += big[i]! / (512 * 64);
    for (let c = 0; c < 4; c++) expect(Math.abs(o[c]! - ref[c]!)).toBeLessThan(1e-4);
  });
});

describe.skipIf(reason !== null)('onednn batch norm', () => {
  const cases: { shape: [number, number, number, number]; relu: boolean }[] = [
    { shape: [4, 5, 7, 3], relu: false },
    { shape: [4, 5, 7, 3], relu: true },
    { shape: [8, 4, 4, 16], relu: true },
    { shape: [16, 1, 1, 10], relu: true }, // BN1d of a VGG classifier, as [N, 1, 1, C]
  ];
  for (const { shape, relu } of cases) {
    it(`training mode ${shape} relu=${relu}: y, batch statistics and gradients match cpu`, async () => {
      const c = shape[3];
      const xv = randomArray(shape, 20).map((v) => 2 * v + 0.3);
      const gv = randomArray([c], 21).map((v) => 1 + 0.5 * v);
      const bv = randomArray([c], 22, 0.5);
      const wv = randomArray(shape, 23);
      const f = () => {
        const x = tf.tensor4d(xv, shape);
        const g = tf.tensor1d(gv);
        const b = tf.tensor1d(bv);
        const out = batchNormTrain(x, g, b, 1e-5, { relu });
        const grads = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
          tf.sum(tf.mul(batchNormTrain(xx as tf.Tensor4D, gg as tf.Tensor1D, bb as tf.Tensor1D, 1e-5, { relu }).y, tf.tensor(wv, shape))),
        )([x, g, b]);
        return [out.y, out.mean, out.variance, ...grads];
      };
      const native = await valuesOn(B, f);
      const reference = await valuesOn('cpu', f);
      for (const [i, v] of native.entries()) expect(relError(v, reference[i]!)).toBeLessThan(2e-5);
      if (relu) expect(Math.min(...native[0]!)).toBe(0);
    });
  }
  it('the native kernels ran on onednn (not the composed ops)', async () => {
    await tf.setBackend(B);
    const calls = onednnRuntime()!.calls;
    const before = [calls.get('PrunebenchBatchNormTrain') ?? 0, calls.get('PrunebenchBatchNormTrainGrad') ?? 0];
    const x = tf.randomNormal([2, 3, 3, 4]) as tf.Tensor4D;
    const g = tf.grad((t: tf.Tensor) => tf.sum(batchNormTrain(t as tf.Tensor4D, tf.ones([4]) as tf.Tensor1D, tf.zeros([4]) as tf.Tensor1D, 1e-5).y))(x);
    expect([calls.get('PrunebenchBatchNormTrain'), calls.get('PrunebenchBatchNormTrainGrad')]).toEqual([before[0]! + 1, before[1]! + 1]);
    tf.dispose([x, g]);
  });
  it('keeps the batch statistics accurate on a large batch with a large mean', async () => {
    const shape: [number, number, number, number] = [64, 16, 16, 5];
    const xv = randomArray(shape, 25).map((v) => 100 + 0.01 * v);
    const [, mean, variance] = await valuesOn(B, () => {
      const r = batchNormTrain(tf.tensor4d(xv, shape), tf.ones([5]) as tf.Tensor1D, tf.zeros([5]) as tf.Tensor1D, 1e-5);
      return [r.y, r.mean, r.variance];
    });
    const m = [0, 0, 0, 0, 0];
    for (let i = 0; i < xv.length; i++) m[i % 5]! += xv[i]! / (xv.length / 5);
    const v = [0, 0, 0, 0, 0];
    for (let i = 0; i < xv.length; i++) v[i % 5]! += (xv[i]! - m[i % 5]!) ** 2 / (xv.length / 5);
    for (let c = 0; c < 5; c++) {
      expect(Math.abs(mean![c]! - m[c]!)).toBeLessThan(1e-4);
      expect(Math.abs(variance![c]! - v[c]!) / v[c]!).toBeLessThan(1e-2);
    }
  });
  for (const relu of [false, true]) {
    it(`inference mode relu=${relu} matches cpu (rank 4 and rank 2)`, async () => {
      for (const shape of [[3, 4, 5, 6], [7, 6]]) {
        const xv = randomArray(shape, 30);
        const vec = (seed: number, base: number) => randomArray([6], seed, 0.3).map((v) => v + base);
        const [g, b, m, v] = [vec(31, 1), vec(32, 0), vec(33, 0), vec(34, 1.2)];
        const f = () => batchNormInference(tf.tensor(xv, shape), tf.tensor1d(g), tf.tensor1d(b), tf.tensor1d(m), tf.tensor1d(v), 1e-5, { relu });
        expect(await backendVsCpu(B, f)).toBeLessThan(1e-6);
      }
    });
  }
});

describe.skipIf(reason !== null)('onednn Concat, SplitV and Slice match the cpu backend', () => {
  const shapes: [number, number, number, number][] = [[2, 3, 5, 4], [2, 3, 5, 1], [2, 3, 5, 7]];
  const values = shapes.map((s, i) => randomArray(s, 60 + i));
  const counts = (): number[] => ['Concat', 'SplitV', 'Slice'].map((k) => onednnRuntime()!.calls.get(k) ?? 0);
  it('channel concatenation and its gradient (a channel split)', async () => {
    const before = counts();
    const f = () => {
      const xs = shapes.map((s, i) => tf.tensor4d(values[i]!, s));
      const w = tf.tensor(randomArray([2, 3, 5, 12], 70), [2, 3, 5, 12]);
      const y = tf.concat(xs, 3);
      const grads = tf.grads((...ts: tf.Tensor[]) => tf.sum(tf.mul(tf.concat(ts as tf.Tensor4D[], -1), w)))(xs);
      return [y, ...grads, ...tf.split(y, [4, 1, 7], 3), ...tf.split(y, 3, 3)];
    };
    expect(await backendVsCpu(B, f)).toBe(0);
    const after = counts();
    expect(after[0]).toBeGreaterThan(before[0]!);
    expect(after[1]).toBeGreaterThan(before[1]!);
  });
  it('concatenation and split on other axes still work (wasm kernels)', async () => {
    const f = () => {
      const a = tf.tensor4d(values[0]!, shapes[0]);
      return [tf.concat([a, a], 1), ...tf.split(a, [1, 2], 1), tf.concat([tf.tensor1d([1, 2]), tf.tensor1d([3])])];
    };
    expect(await backendVsCpu(B, f)).toBe(0);
  });
  it('slices (the gradient of a channel pad, ResNet option A), int32 too', async () => {
    const before = counts()[2]!;
    const f = () => {
      const a = tf.tensor4d(values[2]!, shapes[2]);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.pad(t, [[0, 0], [0, 0], [0, 0], [2, 3]]), tf.range(0, 12))))(a);
      return [g, tf.slice(a, [1, 0, 2, 1], [1, 3, -1, 4]), tf.slice(tf.reshape(a, [2, 105]), [0, 10], [2, 50]), tf.cast(tf.slice(tf.tensor1d([1, 2, 3, 4], 'int32'), 1, 2), 'float32')];
    };
    expect(await backendVsCpu(B, f)).toBe(0);
    expect(counts()[2]).toBeGreaterThan(before);
  });
});

describe.skipIf(reason !== null)('onednn SGD step', () => {
  for (const o of [
    { momentum: 0.9, weightDecay: 1e-4, nesterov: false },
    { momentum: 0.9, weightDecay: 5e-4, nesterov: true },
    { momentum: 0, weightDecay: 1e-4, nesterov: false },
    { momentum: 0.9, weightDecay: 0, nesterov: false },
  ]) {
    it(`gives the composed update's exact bits over 3 steps (${JSON.stringify(o)})`, async () => {
      const pv = randomArray([7, 5], 80);
      const gs = [81, 82, 83].map((seed) => randomArray([7, 5], seed));
      const f = () => {
        let p: tf.Tensor = tf.tensor2d(pv, [7, 5]);
        let buf: tf.Tensor | null = null;
        const out: tf.Tensor[] = [];
        for (const [i, g] of gs.entries()) {
          const next = sgdUpdate(p, tf.tensor2d(g, [7, 5]), buf, { lr: 0.1 / (i + 1), ...o });
          [p, buf] = [next.param, next.buffer];
          out.push(p, ...(buf ? [buf] : []));
        }
        return out;
      };
      const before = onednnRuntime()!.calls.get('PrunebenchSgdStep') ?? 0;
      const native = await valuesOn(B, f);
      expect(onednnRuntime()!.calls.get('PrunebenchSgdStep')).toBe(before + 3);
      const composed = await valuesOn('cpu', f);
      expect(native.length).toBe(o.momentum ? 6 : 3);
      for (const [i, v] of native.entries()) expect(Array.from(v)).toEqual(Array.from(composed[i]!));
    });
  }
});

describe.skipIf(reason !== null)('onednn heap safety', () => {
  beforeAll(async () => {
    await tf.setBackend(B);
  });
  const backend = (): WasmHeapBackend => tf.backend() as unknown as WasmHeapBackend;
  const offset = (t: tf.Tensor): number => backend().dataIdMap.get(t.dataId)!.memoryOffset;

  it('kernels stay correct across wasm memory growth, and a stale (detached) heap view is a RangeError', async () => {
    const rt = onednnRuntime()!;
    const xv = randomArray([2, 6, 6, 4], 40);
    const fv = randomArray([3, 3, 4, 5], 41);
    const conv = () => tf.conv2d(tf.tensor4d(xv, [2, 6, 6, 4]), tf.tensor4d(fv, [3, 3, 4, 5]), 1, 'same');
    const reference = (await valuesOn('cpu', conv))[0]!;
    await tf.setBackend(B);
    const x = tf.tensor4d(xv, [2, 6, 6, 4]);
    const f = tf.tensor4d(fv, [3, 3, 4, 5]);
    const y = tf.zeros([2, 6, 6, 5]);
    const staleHeap = backend().wasm.HEAPU8;
    const before = staleHeap.byteLength;
    // Grow the wasm memory: a tensor larger than the whole current heap.
    const big = tf.zeros([Math.ceil(before / 4) + (16 << 20)]);
    expect(backend().wasm.HEAPU8.byteLength).toBeGreaterThan(before);
    expect(staleHeap.byteLength).toBe(0);
    const id = rt.convPlan([2, 6, 6, 4, 5, 3, 3, 1, 1, 1, 1, 1, 1]);
    expect(() => rt.addon.convForward(id, staleHeap, offset(x), offset(f), offset(y))).toThrow(RangeError);
    expect(relError(conv().dataSync() as Float32Array, reference)).toBeLessThan(1e-5);
    tf.dispose([x, f, y, big]);
  });

  it('out-of-bounds, misaligned and negative offsets and unknown plans are errors, not crashes', () => {
    const rt = onednnRuntime()!;
    const heap = backend().wasm.HEAPU8;
    const id = rt.convPlan([1, 4, 4, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1]);
    expect(() => rt.addon.convForward(id, heap, heap.byteLength - 8, 0, 0)).toThrow(/out of bounds: x/);
    expect(() => rt.addon.convForward(id, heap, 2, 0, 64)).toThrow(/misaligned/);
    expect(() => rt.addon.convForward(id, heap, -4, 0, 64)).toThrow(/negative/);
    expect(() => rt.addon.convForward(123456, heap, 0, 0, 64)).toThrow(/unknown convolution plan/);
    expect(() => rt.addon.convForward(id, new Float32Array(4) as unknown as Uint8Array, 0, 0, 0)).toThrow(TypeError);
    const params = Int32Array.from([1, 4, 4, 2, 2, 2, 2, 2, 0, 0, 2, 2]);
    expect(() => rt.addon.maxPoolForward(heap, params, heap.byteLength, 0)).toThrow(/out of bounds/);
    expect(() => rt.addon.createConvPlan(Int32Array.from([1, 4, 4, 2, 2, 9, 9, 1, 1, 0, 0, 0, 0]))).toThrow(/larger than the padded input/);
  });
});

describe.skipIf(reason !== null)('onednn threads', () => {
  it('plans are keyed by thread count and give the same results', async () => {
    const rt = onednnRuntime()!;
    const xv = randomArray([4, 8, 8, 16], 50);
    const fv = randomArray([3, 3, 16, 16], 51);
    const conv = () => tf.conv2d(tf.tensor4d(xv, [4, 8, 8, 16]), tf.tensor4d(fv, [3, 3, 16, 16]), 1, 'same');
    const one = (await valuesOn(B, conv))[0]!;
    const plans = rt.planCount;
    rt.setThreads(2);
    try {
      expect(rt.addon.info().threads).toBe(2);
      const two = (await valuesOn(B, conv))[0]!;
      expect(rt.planCount).toBe(plans + 1);
      expect(relError(two, one)).toBeLessThan(1e-5);
    } finally {
      rt.setThreads(1);
    }
    expect(() => rt.setThreads(0)).toThrow(/positive integer/);
  });
});
