/**
 * Batch-norm kernels of the onednn backend (custom kernel names: tfjs has no training-mode batch
 * norm kernel). Training mode runs oneDNN's batch norm with batch statistics, optionally with the
 * following ReLU fused in (its backward then applies the ReLU mask kept in the workspace);
 * inference mode is one pass of scale, shift and ReLU. src/backend/batch_norm.ts uses them when
 * the active backend has them and composes tfjs ops otherwise.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs } from '../../kernels/util.ts';
import { heapOffset, type OnednnRuntime, type WasmHeapBackend } from '../runtime.ts';

/** Inputs {x, gamma, beta}, attrs {eps, relu}; outputs [y, batch mean, biased batch variance, workspace]. */
export const BATCH_NORM_TRAIN = 'PrunebenchBatchNormTrain';
/** Inputs {x, gamma, beta, mean, variance, dy, workspace}, attrs {eps, relu}; outputs [dx, dgamma, dbeta]. */
export const BATCH_NORM_TRAIN_GRAD = 'PrunebenchBatchNormTrainGrad';
/** Inputs {x, gamma, beta, mean, variance}, attrs {eps, relu}; output y (channels-last x of any rank). */
export const BATCH_NORM_INFERENCE = 'PrunebenchBatchNormInference';

interface BnAttrs {
  eps: number;
  relu: boolean;
}

function check(kernel: string, x: tf.TensorInfo, vectors: tf.TensorInfo[], rank4: boolean): void {
  if (rank4 && x.shape.length !== 4) throw new Error(`${kernel}: expected an NHWC tensor of rank 4, got shape [${x.shape}]`);
  const c = x.shape[x.shape.length - 1]!;
  for (const t of [x, ...vectors]) {
    if (t.dtype !== 'float32') throw new Error(`${kernel}: expected float32 tensors, got ${t.dtype}`);
  }
  for (const v of vectors) {
    if (v.shape.length !== 1 || v.shape[0] !== c) throw new Error(`${kernel}: per-channel tensors must have shape [${c}], got [${v.shape}]`);
  }
}

export function batchNormKernels(rt: OnednnRuntime): tf.KernelConfig[] {
  const train = ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] => {
    const { x, gamma, beta } = inputs as Record<'x' | 'gamma' | 'beta', tf.TensorInfo>;
    const { eps, relu } = attrs as unknown as BnAttrs;
    check(BATCH_NORM_TRAIN, x, [gamma, beta], true);
    const be = backend as unknown as WasmHeapBackend;
    const c = x.shape[3]!;
    const plan = rt.bnPlan(x.shape, eps, relu);
    const y = be.makeOutput(x.shape.slice(), 'float32');
    const mean = be.makeOutput([c], 'float32');
    const variance = be.makeOutput([c], 'float32');
    const workspace = be.makeOutput([Math.max(1, Math.ceil(plan.workspaceBytes / 4))], 'int32');
    const o = (t: tf.TensorInfo): number => heapOffset(be, t);
    rt.addon.batchNormForward(plan.id, be.wasm.HEAPU8, o(x), o(gamma), o(beta), o(y), o(mean), o(variance), o(workspace));
    return [y, mean, variance, workspace];
  };

  const trainGrad = ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] => {
    const { x, gamma, beta, mean, variance, dy, workspace } = inputs as Record<'x' | 'gamma' | 'beta' | 'mean' | 'variance' | 'dy' | 'workspace', tf.TensorInfo>;
    const { eps, relu } = attrs as unknown as BnAttrs;
    check(BATCH_NORM_TRAIN_GRAD, x, [gamma, beta, mean, variance], true);
    if (dy.shape.join() !== x.shape.join()) throw new Error(`${BATCH_NORM_TRAIN_GRAD}: dy [${dy.shape}] must have the shape of x [${x.shape}]`);
    const be = backend as unknown as WasmHeapBackend;
    const c = x.shape[3]!;
    const plan = rt.bnPlan(x.shape, eps, relu);
    if (workspace.shape[0]! * 4 < plan.workspaceBytes) throw new Error(`${BATCH_NORM_TRAIN_GRAD}: workspace too small`);
    const dx = be.makeOutput(x.shape.slice(), 'float32');
    const dgamma = be.makeOutput([c], 'float32');
    const dbeta = be.makeOutput([c], 'float32');
    const o = (t: tf.TensorInfo): number => heapOffset(be, t);
    rt.addon.batchNormBackward(plan.id, be.wasm.HEAPU8, o(x), o(gamma), o(beta), o(mean), o(variance), o(dy), o(workspace), o(dx), o(dgamma), o(dbeta));
    return [dx, dgamma, dbeta];
  };

  const inference = ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo => {
    const { x, gamma, beta, mean, variance } = inputs as Record<'x' | 'gamma' | 'beta' | 'mean' | 'variance', tf.TensorInfo>;
    const { eps, relu } = attrs as unknown as BnAttrs;
    check(BATCH_NORM_INFERENCE, x, [gamma, beta, mean, variance], false);
    const be = backend as unknown as WasmHeapBackend;
    const c = x.shape[x.shape.length - 1]!;
    const size = x.shape.reduce((p, d) => p * d, 1);
    const y = be.makeOutput(x.shape.slice(), 'float32');
    const o = (t: tf.TensorInfo): number => heapOffset(be, t);
    rt.addon.batchNormInference(be.wasm.HEAPU8, size / c, c, o(x), o(gamma), o(beta), o(mean), o(variance), eps, relu, o(y));
    return y;
  };

  return [
    { kernelName: BATCH_NORM_TRAIN, backendName: 'onednn', kernelFunc: train as unknown as tf.KernelFunc },
    { kernelName: BATCH_NORM_TRAIN_GRAD, backendName: 'onednn', kernelFunc: trainGrad as unknown as tf.KernelFunc },
    { kernelName: BATCH_NORM_INFERENCE, backendName: 'onednn', kernelFunc: inference as unknown as tf.KernelFunc },
  ];
}
