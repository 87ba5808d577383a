/**
 * One SGD step of one parameter as a single native kernel (custom name), replacing the six tfjs
 * ops per parameter of the composed update; src/backend/sgd.ts uses it when the active backend
 * has it. Same float32 operation order, so the same result.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs } from '../../kernels/util.ts';
import { heapOffset, type OnednnRuntime, type WasmHeapBackend } from '../runtime.ts';

/** Inputs {param, grad, buffer?}, attrs {lr, momentum, weightDecay, nesterov}; outputs [param] or [param, buffer] (momentum != 0). */
export const SGD_STEP = 'PrunebenchSgdStep';

interface SgdAttrs {
  lr: number;
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
}

export function sgdKernels(rt: OnednnRuntime): tf.KernelConfig[] {
  const step = ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] => {
    const { param, grad, buffer } = inputs as { param: tf.TensorInfo; grad: tf.TensorInfo; buffer?: tf.TensorInfo };
    const a = attrs as unknown as SgdAttrs;
    const n = param.shape.reduce((p, d) => p * d, 1);
    for (const t of [param, grad, ...(buffer ? [buffer] : [])]) {
      if (t.dtype !== 'float32' || t.shape.join() !== param.shape.join()) throw new Error(`${SGD_STEP}: param, grad and buffer must be float32 of one shape`);
    }
    const be = backend as unknown as WasmHeapBackend;
    const outParam = be.makeOutput(param.shape.slice(), 'float32');
    const outBuffer = a.momentum !== 0 ? be.makeOutput(param.shape.slice(), 'float32') : null;
    if (n > 0) {
      rt.count(SGD_STEP);
      const o = (t: tf.TensorInfo): number => heapOffset(be, t);
      rt.addon.sgdStep(be.wasm.HEAPU8, n, o(param), o(grad), buffer ? o(buffer) : -1, o(outParam), outBuffer ? o(outBuffer) : 0, a.lr, a.momentum, a.weightDecay, a.nesterov);
    }
    return outBuffer ? [outParam, outBuffer] : [outParam];
  };
  return [{ kernelName: SGD_STEP, backendName: 'onednn', kernelFunc: step as unknown as tf.KernelFunc }];
}
