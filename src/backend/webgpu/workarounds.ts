/**
 * Fixes to tfjs-backend-webgpu 4.22 for Node. Each is tested in webgpu/kernels.test.ts.
 *
 * Synchronous reads: the backend's readSync (behind dataSync/arraySync) copies the GPU buffer
 * through an OffscreenCanvas, which exists only in browsers; in Node it fails with
 * "ReferenceError: OffscreenCanvas is not defined" from deep inside tfjs. WebGPU itself has no
 * synchronous readback (mapAsync resolves only on the event loop), so there is nothing to fall
 * back to: the fix is a clear error, and prunebench's training and benchmark paths read
 * asynchronously (trainStep, evaluate).
 *
 * MaxPoolGrad: the stock kernel gives a tied window's gradient to its last maximum, every other
 * backend to the first; replaced by max_pool_grad.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BackendError } from '../../util/errors.ts';
import { webgpuMaxPoolGradConfig } from './max_pool_grad.ts';

/** The kernels prunebench registers for the webgpu backend, replacing the stock ones. */
export const WEBGPU_KERNELS: readonly tf.KernelConfig[] = [webgpuMaxPoolGradConfig];

interface WebgpuBackendModule {
  WebGPUBackend: { prototype: { readSync(dataId: object): unknown } };
}

const PATCHED = Symbol.for('prunebench.webgpuReadSync');

export const READ_SYNC_MESSAGE =
  'the webgpu backend cannot read a GPU tensor synchronously in Node (dataSync/arraySync need a browser\'s OffscreenCanvas); ' +
  'this operation is not supported on --backend webgpu yet: use onednn or wasm for it';

export function registerWebgpuWorkarounds(mod: WebgpuBackendModule): void {
  const proto = mod.WebGPUBackend.prototype as { readSync(dataId: object): unknown; [PATCHED]?: boolean };
  if (proto[PATCHED]) return;
  const original = proto.readSync;
  proto.readSync = function (this: { hasReadSyncWarned?: boolean }, dataId: object): unknown {
    // Its warning ("synchronous reads are slow") would precede our error, misleadingly.
    this.hasReadSyncWarned = true;
    try {
      return original.call(this, dataId);
    } catch (err) {
      if (err instanceof ReferenceError && /OffscreenCanvas/.test(err.message)) throw new BackendError(READ_SYNC_MESSAGE);
      throw err;
    }
  };
  proto[PATCHED] = true;
  for (const k of WEBGPU_KERNELS) {
    if (tf.getKernel(k.kernelName, k.backendName)?.kernelFunc === k.kernelFunc) continue;
    if (tf.getKernel(k.kernelName, k.backendName) != null) tf.unregisterKernel(k.kernelName, k.backendName);
    tf.registerKernel(k);
  }
}
