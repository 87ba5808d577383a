/**
 * The stock tfjs-backend-wasm kernels that the prunebench kernels replace, captured before they
 * are unregistered, for the cases the replacements hand back to them.
 */
import * as tf from '@tensorflow/tfjs-core';

const originals = new Map<string, tf.KernelConfig>();

/** Remembers the currently registered wasm kernel for `kernelName` (first call wins). */
export function captureOriginal(kernelName: string): tf.KernelConfig | undefined {
  const known = originals.get(kernelName);
  if (known != null) return known;
  const current = tf.getKernel(kernelName, 'wasm');
  if (current != null) originals.set(kernelName, current);
  return current;
}

/** The stock wasm kernel function for `kernelName`; throws if it was never captured. */
export function originalKernel(kernelName: string): tf.KernelFunc {
  const k = originals.get(kernelName);
  if (k == null) {
    throw new Error(`prunebench wasm kernels: no stock wasm kernel '${kernelName}' was captured (call registerWasmTrainingKernels())`);
  }
  return k.kernelFunc;
}
