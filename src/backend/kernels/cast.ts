/**
 * Cast for wasm: a same-dtype cast (the gradient of clone/identity is one) shares the data with a
 * reference-count bump instead of copying it; other casts use the stock wasm kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import { originalKernel } from './originals.ts';
import type { KernelArgs } from './util.ts';

function cast(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const x = args.inputs.x as tf.TensorInfo;
  const { dtype } = args.attrs as unknown as { dtype: tf.DataType };
  if (dtype !== x.dtype || x.dtype === 'string') return originalKernel(tf.Cast)(args as never);
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export const castConfig: tf.KernelConfig = {
  kernelName: tf.Cast,
  backendName: 'wasm',
  kernelFunc: cast as unknown as tf.KernelFunc,
};
