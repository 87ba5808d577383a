/**
 * Identity for wasm without a copy. The stock wasm kernel copies the data, and the engine clones
 * (Identity) every tensor it saves for backprop. tfjs tensors are immutable, so sharing the data
 * with a reference-count bump is enough, exactly as the cpu backend's Identity and the wasm
 * backend's own Reshape do.
 */
import * as tf from '@tensorflow/tfjs-core';
import { originalKernel } from './originals.ts';
import type { KernelArgs } from './util.ts';

function identity(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype === 'string') return originalKernel(tf.Identity)(args as never);
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export const identityConfig: tf.KernelConfig = {
  kernelName: tf.Identity,
  backendName: 'wasm',
  kernelFunc: identity as unknown as tf.KernelFunc,
};
