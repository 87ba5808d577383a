/**
 * The webgpu backend against the pure-JS cpu backend on small shapes: every kernel a training step
 * of our networks runs (listed by profiling one step of each family: Add ArgMax AvgPool AvgPoolGrad
 * BatchMatMul Cast Concat Conv2D Conv2DBackpropFilter Conv2DBackpropInput Equal Exp Identity Log
 * Max MaxPool MaxPoolGrad Mean Multiply Neg OneHot PadV2 RealDiv Relu Reshape Rsqrt Slice SplitV
 * Square Step Sub Sum ZerosLike; plus Sign for the L1 penalty and GatherV2/UnsortedSegmentSum for a
 * pruned PreResNet's channel selection), forward and gradients. In CI this runs on Mesa's lavapipe
 * (software Vulkan), so shapes are tiny.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { BackendError } from '../../util/errors.ts';
import { silentLogger } from '../../util/log.ts';
import { crossEntropy } from '../../train/index.ts';
import { batchNormInference, batchNormTrain, initBackend, sgdUpdate } from '../index.ts';
import { backendVsCpu, randomArray, relError, valuesOn } from '../test_util.ts';
import { webgpuAvailability } from './availability.ts';
import { READ_SYNC_MESSAGE, WEBGPU_KERNELS } from './workarounds.ts';

const { reason, required } = await webgpuAvailability();
const B = 'webgpu';

describe('webgpu backend availability', () => {
  it.runIf(required)('is usable where it is required (CI)', () => {
    expect(reason).toBeNull();
  });
});

type Pad = 'same' | 'valid' | number;
type ConvCase = { x: [number, number, number, number]; f: [number, number, number, number]; s: number; pad: Pad };

const CONV_CASES: ConvCase[] = [
  { x: [2, 7, 9, 3], f: [3, 3, 3, 5], s: 1, pad: 'same' }, // C=3 (the first layer), odd sizes
  { x: [2, 7, 9, 3], f: [3, 3, 3, 5], s: 2, pad: 'same' }, // stride 2, asymmetric 'same' padding
  { x: [2, 9, 9, 6], f: [3, 3, 6, 8], s: 2, pad: 1 }, // ResNet's stride-2 conv, numeric padding
  { x: [2, 8, 8, 16], f: [3, 3, 16, 16], s: 1, pad: 1 }, // the common 3x3 case
  { x: [2, 8, 8, 24], f: [1, 1, 24, 12], s: 1, pad: 0 }, // 1x1 (PreResNet bottleneck, DenseNet transition)
  { x: [1, 5, 5, 9], f: [5, 5, 9, 3], s: 1, pad: 'valid' }, // kernel as large as the image
];

function convOut(c: ConvCase): number[] {
  return tf.backend_util.computeConv2DInfo(c.x, c.f, c.s, 1, c.pad, undefined, false, 'channelsLast').outShape;
}

/** A loss that weights every output differently, so a gradient sent to the wrong place shows. */
function weighted(y: tf.Tensor): tf.Scalar {
  return tf.sum(tf.mul(y, tf.reshape(tf.sin(tf.range(1, y.size + 1)), y.shape)));
}

describe.skipIf(reason !== null)('webgpu kernels match the cpu backend', () => {
  beforeAll(async () => {
    await initBackend({ backend: B, logger: silentLogger });
  });

  for (const [i, c] of CONV_CASES.entries()) {
    it(`conv2d x ${c.x} filter ${c.f} stride ${c.s} pad ${JSON.stringify(c.pad)}: forward, input and filter gradients`, async () => {
      const xv = randomArray(c.x, 10 + i);
      const fv = randomArray(c.f, 100 + i);
      const dyShape = convOut(c);
      const dyv = randomArray(dyShape, 1000 + i);
      const forward = () => tf.conv2d(tf.tensor4d(xv, c.x), tf.tensor4d(fv, c.f), c.s, c.pad);
      const grads = () =>
        tf.grads((x: tf.Tensor, f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.s, c.pad), tf.tensor(dyv, dyShape))))([
          tf.tensor4d(xv, c.x),
          tf.tensor4d(fv, c.f),
        ]);
      expect(await backendVsCpu(B, forward)).toBeLessThan(1e-5);
      expect(await backendVsCpu(B, grads)).toBeLessThan(1e-5);
    });
  }

  const poolInput = randomArray([3, 8, 8, 5], 8);
  // All-negative input: a max search that starts at 0 would give such windows no gradient.
  const negative = randomArray([2, 7, 6, 3], 7).map((v) => -Math.abs(v) - 0.01);
  for (const [size, stride] of [
    [2, 2],
    [3, 2],
    [4, 4],
  ] as const) {
    it(`max pool ${size}x${size} stride ${stride} valid: forward and gradient (also all-negative windows)`, async () => {
      for (const [values, shape] of [
        [poolInput, [3, 8, 8, 5]],
        [negative, [2, 7, 6, 3]],
      ] as const) {
        const f = () => {
          const x = tf.tensor4d(values, shape as unknown as [number, number, number, number]);
          return [tf.maxPool(x, size, stride, 'valid'), tf.grad((t: tf.Tensor) => weighted(tf.maxPool(t as tf.Tensor4D, size, stride, 'valid')))(x)];
        };
        expect(await backendVsCpu(B, f)).toBeLessThan(1e-6);
      }
    });
    it(`average pool ${size}x${size} stride ${stride} valid: forward and gradient`, async () => {
      const f = () => {
        const x = tf.tensor4d(poolInput, [3, 8, 8, 5]);
        return [tf.avgPool(x, size, stride, 'valid'), tf.grad((t: tf.Tensor) => weighted(tf.avgPool(t as tf.Tensor4D, size, stride, 'valid')))(x)];
      };
      expect(await backendVsCpu(B, f)).toBeLessThan(1e-6);
    });
  }

  it('max pool gradient of ties goes to the first maximum of each window, as on cpu (the stock webgpu kernel picks the last)', async () => {
    const ties = new Float32Array(2 * 4 * 4 * 2).fill(-0.5);
    const f = () => tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')))(tf.tensor4d(ties, [2, 4, 4, 2]));
    const [o] = await valuesOn(B, f);
    const [c] = await valuesOn('cpu', f);
    expect(o!.reduce((a, b) => a + b, 0)).toBe(2 * 2 * 2 * 2); // one 1 per window, none lost or doubled
    expect(Array.from(o!)).toEqual(Array.from(c!));
  });

  it('average pool over a whole batch (the per-channel reduction of batch norm) keeps precision', async () => {
    const big = randomArray([1, 512, 64, 4], 9).map((v) => v + 1000);
    const f = () => tf.avgPool(tf.tensor4d(big, [1, 512, 64, 4]), [512, 64], 1, 'valid');
    const [o] = await valuesOn(B, f);
    const ref = [0, 0, 0, 0];
    for (let i = 0; i < big.length; i++) ref[i % 4]! += big[i]! / (512 * 64);
    for (let c = 0; c < 4; c++) expect(Math.abs(o![c]! - ref[c]!)).toBeLessThan(1e-3);
  });

  for (const shape of [
    [4, 5, 7, 3],
    [16, 1, 1, 10], // BN1d of a VGG classifier, as [N, 1, 1, C]
  ] as [number, number, number, number][]) {
    it(`batch norm ${shape}, training mode with ReLU: y, batch statistics and gradients; inference mode`, async () => {
      const c = shape[3];
      const xv = randomArray(shape, 20).map((v) => 2 * v + 0.3);
      const gv = randomArray([c], 21).map((v) => 1 + 0.5 * v);
      const bv = randomArray([c], 22, 0.5);
      const f = () => {
        const x = tf.tensor4d(xv, shape);
        const g = tf.tensor1d(gv);
        const b = tf.tensor1d(bv);
        const out = batchNormTrain(x, g, b, 1e-5, { relu: true });
        const grads = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => weighted(batchNormTrain(xx as tf.Tensor4D, gg as tf.Tensor1D, bb as tf.Tensor1D, 1e-5, { relu: true }).y))([x, g, b]);
        const inference = batchNormInference(x, g, b, out.mean, tf.add(out.variance, 0.5) as tf.Tensor1D, 1e-5, { relu: true });
        return [out.y, out.mean, out.variance, ...grads, inference];
      };
      expect(await backendVsCpu(B, f)).toBeLessThan(1e-4);
    });
  }

  it('linear layer (BatchMatMul) with bias: forward and gradients', async () => {
    const xv = randomArray([6, 20], 30);
    const wv = randomArray([20, 10], 31);
    const bv = randomArray([10], 32);
    const f = () => {
      const fwd = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b);
      const args = [tf.tensor2d(xv, [6, 20]), tf.tensor2d(wv, [20, 10]), tf.tensor1d(bv)];
      return [fwd(args[0]!, args[1]!, args[2]!), ...tf.grads((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => weighted(fwd(x, w, b)))(args)];
    };
    expect(await backendVsCpu(B, f)).toBeLessThan(1e-5);
  });

  it('cross-entropy loss (OneHot, logSoftmax: Max Sub Exp Sum Log, Neg Mean) and its gradient; accuracy count (ArgMax Equal Cast)', async () => {
    const lv = randomArray([8, 10], 40, 3);
    const labels = [0, 3, 9, 1, 1, 5, 7, 2];
    const f = () => {
      const logits = tf.tensor2d(lv, [8, 10]);
      const y = tf.tensor1d(labels, 'int32');
      const { value, grads } = tf.variableGrads(() => crossEntropy(tf.mul(logits, v) as tf.Tensor2D, y), [v]);
      const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'int32'));
      return [value, grads[v.name]!, correct];
    };
    let v: tf.Variable;
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      v = tf.variable(tf.ones([10]), true, `ce-scale-${backend}`);
      const out = await valuesOn(backend, f);
      v.dispose();
      return out;
    };
    const o = await run(B);
    const c = await run('cpu');
    for (let i = 0; i < c.length; i++) expect(relError(o[i]!, c[i]!), `output ${i}`).toBeLessThan(1e-5);
  });

  it('elementwise ops and their gradients: Add Sub Multiply RealDiv Neg Exp Log Rsqrt Square Relu(Step) Sign, with broadcasting', async () => {
    const av = randomArray([3, 4, 5], 50);
    const bv = randomArray([5], 51).map((v) => Math.abs(v) + 0.5);
    const f = () => {
      const fn = (a: tf.Tensor, b: tf.Tensor) =>
        tf.addN([
          tf.mul(tf.relu(a), b),
          tf.div(tf.sub(a, b), b),
          tf.neg(tf.exp(tf.mul(a, 0.1))),
          tf.log(tf.add(tf.square(a), b)),
          tf.rsqrt(tf.add(tf.square(a), b)),
          tf.mul(tf.sign(a), b),
        ]);
      const a = tf.tensor3d(av, [3, 4, 5]);
      const b = tf.tensor1d(bv);
      return [fn(a, b), ...tf.grads((x: tf.Tensor, y: tf.Tensor) => weighted(fn(x, y)))([a, b])];
    };
    expect(await backendVsCpu(B, f)).toBeLessThan(1e-5);
  });

  it('option-A shortcut (PadV2 on channels, its gradient Slice) and reductions Sum/Mean over axes', async () => {
    const xv = randomArray([2, 4, 4, 3], 60);
    const f = () => {
      const fn = (x: tf.Tensor) => tf.pad(tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid'), [[0, 0], [0, 0], [0, 0], [0, 5]]);
      const x = tf.tensor4d(xv, [2, 4, 4, 3]);
      return [fn(x), tf.grad((t: tf.Tensor) => weighted(fn(t)))(x), tf.sum(x, [0, 1, 2]), tf.mean(x, 3), tf.slice(x, [0, 1, 1, 1], [2, 2, 3, 2])];
    };
    expect(await backendVsCpu(B, f)).toBeLessThan(1e-5);
  });

  it('DenseNet concatenation on channels (Concat) and its gradient (SplitV)', async () => {
    const av = randomArray([2, 4, 4, 3], 70);
    const bv = randomArray([2, 4, 4, 5], 71);
    const f = () => {
      const fn = (a: tf.Tensor, b: tf.Tensor) => tf.relu(tf.concat([a, b], 3));
      const a = tf.tensor4d(av, [2, 4, 4, 3]);
      const b = tf.tensor4d(bv, [2, 4, 4, 5]);
      return [fn(a, b), ...tf.grads((x: tf.Tensor, y: tf.Tensor) => weighted(fn(x, y)))([a, b])];
    };
    expect(await backendVsCpu(B, f)).toBeLessThan(1e-6);
  });

  it("PreResNet's channel selection (GatherV2 on channels) and its gradient (UnsortedSegmentSum), indices repeated", async () => {
    const xv = randomArray([2, 3, 3, 6], 80);
    const f = () => {
      const idx = tf.tensor1d([4, 0, 2, 2, 5], 'int32');
      const fn = (x: tf.Tensor) => tf.gather(x, idx, 3);
      const x = tf.tensor4d(xv, [2, 3, 3, 6]);
      return [fn(x), tf.grad((t: tf.Tensor) => weighted(fn(t)))(x)];
    };
    expect(await backendVsCpu(B, f)).toBeLessThan(1e-6);
  });

  it('SGD update with momentum and weight decay (Nesterov and not)', async () => {
    const pv = randomArray([4, 7], 90);
    const gv = randomArray([4, 7], 91);
    const bv = randomArray([4, 7], 92);
    for (const nesterov of [false, true]) {
      const f = () => {
        const o = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov };
        const first = sgdUpdate(tf.tensor2d(pv, [4, 7]), tf.tensor2d(gv, [4, 7]), null, o);
        const next = sgdUpdate(tf.tensor2d(pv, [4, 7]), tf.tensor2d(gv, [4, 7]), tf.tensor2d(bv, [4, 7]), o);
        return [first.param, first.buffer!, next.param, next.buffer!];
      };
      expect(await backendVsCpu(B, f)).toBeLessThan(1e-6);
    }
  });

  it('a synchronous read of a GPU tensor is a clear BackendError, not a ReferenceError from inside tfjs', async () => {
    await tf.setBackend(B);
    const t = tf.relu(tf.matMul(tf.ones([8, 8]), tf.ones([8, 8])));
    let err: unknown;
    try {
      t.dataSync();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BackendError);
    expect((err as Error).message).toBe(READ_SYNC_MESSAGE);
    // The asynchronous read of the same tensor works.
    expect(Array.from((await t.data()).slice(0, 2))).toEqual([8, 8]);
    t.dispose();
  });
});

describe.skipIf(reason !== null)('prunebench kernels for webgpu', () => {
  it("MaxPoolGrad is prunebench's (first maximum wins a tie), not the stock one", async () => {
    await initBackend({ backend: B, logger: silentLogger });
    for (const k of WEBGPU_KERNELS) expect(tf.getKernel(k.kernelName, B)?.kernelFunc).toBe(k.kernelFunc);
  });
});
