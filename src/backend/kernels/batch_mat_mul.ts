/**
 * BatchMatMul for wasm, routed to the fast XNNPACK path and around its operator-cache trap.
 *
 * - The stock kernel is fast (XNNPACK fully-connected) only for batch 1 without transposes; with
 *   transposeA/transposeB it falls back to a scalar loop (~20x slower). For batch 1 the
 *   transposed operand is transposed explicitly (a cheap 2-D transpose) and the fast path is used.
 * - XNNPACK's operator cache is keyed by the B operand's tensor id but not its shape, so the same
 *   data used as B under two shapes (reshaped views share the id) aborts the wasm module or
 *   returns garbage. The first shape seen for a data id is remembered; a later call with another
 *   shape gets a fresh copy of B (its own id, freed right after).
 */
import * as tf from '@tensorflow/tfjs-core';
import { originalKernel } from './originals.ts';
import { asTensor, copyData, type KernelArgs, type WasmBackendLike } from './util.ts';

/** First B shape (as "batch,rows,cols") seen for each data id. */
const firstShapeOfB = new WeakMap<object, string>();

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

function batchMatMul(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const { inputs, backend } = args;
  const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  const a = inputs.a as tf.TensorInfo;
  const b = inputs.b as tf.TensorInfo;
  const stock = originalKernel(tf.BatchMatMul);
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return stock(args as never);
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  const untranspose = batchA === 1 && batchB === 1 && (transposeA || transposeB);
  let out: tf.TensorInfo | tf.TensorInfo[] | undefined;
  tf.tidy(() => {
    let aa: tf.TensorInfo = a;
    let bb: tf.TensorInfo = b;
    let freshB = false;
    if (untranspose) {
      if (transposeA) aa = tf.transpose(asTensor(a, backend), swapLastTwo(a.shape.length));
      if (transposeB) {
        bb = tf.transpose(asTensor(b, backend), swapLastTwo(b.shape.length));
        freshB = true;
      }
    }
    if (!freshB) {
      const key = `${batchB},${bb.shape[bb.shape.length - 2]},${bb.shape[bb.shape.length - 1]}`;
      const seen = firstShapeOfB.get(bb.dataId);
      if (seen === undefined) {
        firstShapeOfB.set(bb.dataId, key);
      } else if (seen !== key) {
        // Wrapped in a Tensor that owns the copy, so the tidy frees it.
        bb = tf.engine().makeTensorFromTensorInfo(copyData(bb, backend as unknown as WasmBackendLike));
      }
    }
    out = stock({
      inputs: { a: aa, b: bb } as unknown as tf.NamedTensorInfoMap,
      backend,
      attrs: untranspose ? { transposeA: false, transposeB: false } : args.attrs,
    });
  });
  return out!;
}

export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: tf.BatchMatMul,
  backendName: 'wasm',
  kernelFunc: batchMatMul as unknown as tf.KernelFunc,
};
