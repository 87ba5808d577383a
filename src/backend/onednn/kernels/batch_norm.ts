/**
 * Batch-norm kernels of the onednn backend (custom kernel names: tfjs has no training-mode batch
 * norm kernel), native loops over the wasm heap. Training mode normalises with the batch
 * statistics and can fuse the following ReLU (its backward recomputes the ReLU mask from the saved
 * input, so no mask is stored); inference mode is one pass of scale, shift and ReLU.
 * src/backend/batch_norm.ts uses them when the active backend has them and composes tfjs ops
 * otherwise.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs } from '../../kernels/util.ts';
import { heapOffset, type OnednnRuntime, type WasmHeapBackend } from '../runtime.ts';

/** Inputs {x, gamma, beta}, attrs {eps, relu}; outputs [y, batch mean, biased batch variance]. */
export const BATCH_NORM_TRAIN = 'PrunebenchBatchNormTrain';
/** Inputs {x, gamma, beta, mean, variance, dy}, attrs {eps, relu}; outputs [dx, dgamma, dbeta]. */
export const BATCH_NORM_TRAIN_GRAD = 'PrunebenchBatchNormTrainGrad';
/** Inputs {x, gamma, beta, mean, variance}, attrs {eps, relu}; output y (channels-last x of any rank). */
export const BATCH_NORM_INFERENCE = 'PrunebenchBatchNormInference';

interface BnAttrs {
  eps: number;
  relu: boolean;
}

/** Rows (all but the last axis) and channels of x, after checking dtypes and per-channel shapes. */
function rowsAndChannels(kernel: string, x: tf.TensorInfo, vectors: tf.TensorInfo[]): { rows: number; channels: number } {
  const channels = x.shape[x.shape.length - 1]!;
  for (const t of [x, ...vectors]) {
    if (t.dtype !== 'float32') throw new Error(`${kernel}: expected float32 tensors, got ${t.dtype}`);
  }
  for (const v of vectors) {
    if (v.shape.length !== 1 || v.shape[0] !== channels) throw new Error(`${kernel}: per-channel tensors must have shape [${channels}], got [${v.shape}]`);
  }
  const size = x.shape.reduce((p, d) => p * d, 1);
  if (size === 0) throw new Error(`${kernel}: empty input of shape [${x.shape}]`);
  return { rows: size / channels, channels };
}

export function batchNormKernels(rt: OnednnRuntime): tf.KernelConfig[] {
  const train = ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] => {
    const { x, gamma, beta } = inputs as Record<'x' | 'gamma' | 'beta', tf.TensorInfo>;
    const { eps, relu } = attrs as unknown as BnAttrs;
    const { rows, channels } = rowsAndChannels(BATCH_NORM_TRAIN, x, [gamma, beta]);
    const be = backend as unknown as WasmHeapBackend;
    const y = be.makeOutput(x.shape.slice(), 'float32');
    const mean = be.makeOutput([channels], 'float32');
    const variance = be.makeOutput([channels], 'float32');
    const o = (t: tf.TensorInfo): number => heapOffset(be, t);
    rt.count(BATCH_NORM_TRAIN);
    rt.addon.batchNormTrainForward(be.wasm.HEAPU8, rows, channels, o(x), o(gamma), o(beta), eps, relu, o(y), o(mean), o(variance));
    return [y, mean, variance];
  };

  const trainGrad = ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] => {
    const { x, gamma, beta, mean, variance, dy } = inputs as Record<'x' | 'gamma' | 'beta' | 'mean' | 'variance' | 'dy', tf.TensorInfo>;
    const { eps, relu } = attrs as unknown as BnAttrs;
    const { rows, channels } = rowsAndChannels(BATCH_NORM_TRAIN_GRAD, x, [gamma, beta, mean, variance]);
    if (dy.shape.join() !== x.shape.join()) throw new Error(`${BATCH_NORM_TRAIN_GRAD}: dy [${dy.shape}] must have the shape of x [${x.shape}]`);
    const be = backend as unknown as WasmHeapBackend;
    const dx = be.makeOutput(x.shape.slice(), 'float32');
    const dgamma = be.makeOutput([channels], 'float32');
    const dbeta = be.makeOutput([channels], 'float32');
    const o = (t: tf.TensorInfo): number => heapOffset(be, t);
    rt.count(BATCH_NORM_TRAIN_GRAD);
    rt.addon.batchNormTrainBackward(be.wasm.HEAPU8, rows, channels, o(x), o(gamma), o(beta), o(mean), o(variance), eps, relu, o(dy), o(dx), o(dgamma), o(dbeta));
    return [dx, dgamma, dbeta];
  };

  const inference = ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo => {
    const { x, gamma, beta, mean, variance } = inputs as Record<'x' | 'gamma' | 'beta' | 'mean' | 'variance', tf.TensorInfo>;
    const { eps, relu } = attrs as unknown as BnAttrs;
    const { rows, channels } = rowsAndChannels(BATCH_NORM_INFERENCE, x, [gamma, beta, mean, variance]);
    const be = backend as unknown as WasmHeapBackend;
    const y = be.makeOutput(x.shape.slice(), 'float32');
    const o = (t: tf.TensorInfo): number => heapOffset(be, t);
    rt.count(BATCH_NORM_INFERENCE);
    rt.addon.batchNormInference(be.wasm.HEAPU8, rows, channels, o(x), o(gamma), o(beta), o(mean), o(variance), eps, relu, o(y));
    return y;
  };

  return [
    { kernelName: BATCH_NORM_TRAIN, backendName: 'onednn', kernelFunc: train as unknown as tf.KernelFunc },
    { kernelName: BATCH_NORM_TRAIN_GRAD, backendName: 'onednn', kernelFunc: trainGrad as unknown as tf.KernelFunc },
    { kernelName: BATCH_NORM_INFERENCE, backendName: 'onednn', kernelFunc: inference as unknown as tf.KernelFunc },
  ];
}
