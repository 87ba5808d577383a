/**
 * The `onednn` tfjs backend: a second instance of the wasm backend (its own heap) whose hot
 * kernels are replaced by native oneDNN ones that work in place on that heap. Every other op runs
 * the wasm kernel, including prunebench's wasm training kernels, so the two backends compute the
 * same functions and can run side by side in one process (`bench --compare`).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../kernels/register.ts';
import { loadOnednnAddon } from './addon.ts';
import { batchNormKernels } from './kernels/batch_norm.ts';
import { conv2dKernels } from './kernels/conv2d.ts';
import { copyKernels } from './kernels/copy.ts';
import { poolKernels } from './kernels/pool.ts';
import { sgdKernels } from './kernels/sgd.ts';
import { OnednnRuntime } from './runtime.ts';

export const ONEDNN_BACKEND = 'onednn';

let runtime: OnednnRuntime | undefined;

/** The runtime of the registered onednn backend, if it was registered in this process. */
export function onednnRuntime(): OnednnRuntime | undefined {
  return runtime;
}

/** The kernels the onednn backend runs natively (the rest are the wasm backend's). */
export function onednnNativeKernelNames(): string[] {
  return runtime ? nativeConfigs(runtime).map((k) => k.kernelName) : [];
}

function nativeConfigs(rt: OnednnRuntime): tf.KernelConfig[] {
  const fallback = (name: string): tf.KernelFunc => {
    const k = tf.getKernel(name, 'wasm');
    if (k == null) throw new Error(`onednn backend: no wasm kernel ${name} to fall back to`);
    return k.kernelFunc;
  };
  return [...conv2dKernels(rt, fallback), ...poolKernels(rt, fallback), ...batchNormKernels(rt), ...copyKernels(rt, fallback), ...sgdKernels(rt)];
}

/**
 * Registers the onednn backend with tfjs (idempotent). Returns null on success, else the reason
 * it cannot be used (the addon is missing or does not load), in one line.
 */
export function registerOnednnBackend(): string | null {
  if (runtime) return null;
  const loaded = loadOnednnAddon();
  if ('reason' in loaded) return loaded.reason;
  const rt = new OnednnRuntime(loaded.addon);
  registerWasmTrainingKernels();
  const wasmFactory = tf.findBackendFactory('wasm');
  if (wasmFactory == null) return 'the wasm backend is not registered (tfjs-backend-wasm did not load)';
  const natives = nativeConfigs(rt);
  const nativeNames = new Set(natives.map((k) => k.kernelName));
  for (const k of tf.getKernelsForBackend('wasm')) {
    if (nativeNames.has(k.kernelName)) continue;
    tf.registerKernel({ ...k, backendName: ONEDNN_BACKEND });
  }
  for (const k of natives) {
    // The wasm kernel's setupFunc binds its wasm functions to the active backend's module; keep it
    // so the fallback to that kernel works on this backend's module.
    const wasmKernel = tf.getKernel(k.kernelName, 'wasm');
    tf.registerKernel({ ...k, ...(wasmKernel?.setupFunc ? { setupFunc: wasmKernel.setupFunc } : {}), ...(wasmKernel?.disposeFunc ? { disposeFunc: wasmKernel.disposeFunc } : {}) });
  }
  // A fresh wasm module and heap for this backend (the wasm factory instantiates a new one per call).
  tf.registerBackend(ONEDNN_BACKEND, () => wasmFactory(), 1);
  runtime = rt;
  return null;
}
