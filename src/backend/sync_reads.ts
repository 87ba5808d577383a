/**
 * Synchronous reads (dataSync) and the backends that cannot do them. WebGPU in Node has no
 * synchronous readback, so code that reads tensors synchronously (pruning: importance scores,
 * plans, reconstruction) runs on the wasm backend while the webgpu backend is active; tfjs moves
 * the tensors it returns to the GPU the first time a GPU kernel uses them.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Whether the active backend can read tensors synchronously. */
export function canReadSync(): boolean {
  return tf.getBackend() !== 'webgpu';
}

/**
 * Runs `fn` with a backend that can read synchronously active: the active one where it can, else
 * wasm (then the active backend again, however fn ends). Tensors `fn` is given must already be
 * readable there (created from host values, or on wasm): a GPU-resident tensor is not.
 */
export async function withSyncReads<T>(fn: () => T | Promise<T>): Promise<T> {
  if (canReadSync()) return fn();
  const active = tf.getBackend();
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend could not be initialised for a step that reads tensors synchronously');
  try {
    return await fn();
  } finally {
    await tf.setBackend(active);
  }
}
