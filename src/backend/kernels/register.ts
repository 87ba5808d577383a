/**
 * The one list of prunebench's wasm training kernels, and their registration.
 *
 * Each replaces (or fills in) a tfjs-backend-wasm 4.22 kernel; see each file for why. The stock
 * kernel, if any, is captured first (some replacements hand unusual cases back to it) and its
 * setupFunc is kept, so registering before or after the wasm backend initialises both work.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { batchMatMulConfig } from './batch_mat_mul.ts';
import { castConfig } from './cast.ts';
import { conv2dBackpropFilterConfig } from './conv2d_backprop_filter.ts';
import { conv2dBackpropInputConfig } from './conv2d_backprop_input.ts';
import { identityConfig } from './identity.ts';
import { maxPoolGradConfig } from './max_pool_grad.ts';
import { captureOriginal } from './originals.ts';
import { unsortedSegmentSumConfig } from './unsorted_segment_sum.ts';

export const WASM_TRAINING_KERNELS: readonly tf.KernelConfig[] = [
  conv2dBackpropFilterConfig,
  conv2dBackpropInputConfig,
  maxPoolGradConfig,
  unsortedSegmentSumConfig,
  batchMatMulConfig,
  identityConfig,
  castConfig,
];

const ours = new Set<tf.KernelFunc>(WASM_TRAINING_KERNELS.map((k) => k.kernelFunc));

/**
 * Registers the kernels above for the 'wasm' backend, replacing the stock ones. Idempotent:
 * kernels already registered are left alone. Returns the names of the kernels it registered now.
 */
export function registerWasmTrainingKernels(): string[] {
  const registered: string[] = [];
  for (const config of WASM_TRAINING_KERNELS) {
    const current = tf.getKernel(config.kernelName, 'wasm');
    if (current != null && ours.has(current.kernelFunc)) continue;
    const stock = current != null ? captureOriginal(config.kernelName) : undefined;
    if (current != null) tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel({ ...config, setupFunc: config.setupFunc ?? stock?.setupFunc, disposeFunc: config.disposeFunc ?? stock?.disposeFunc });
    registered.push(config.kernelName);
  }
  return registered;
}
