/**
 * Per-kernel time profile of the active backend: wraps every kernel registered for it with a
 * timer for the duration of one callback. Times are inclusive wall times of top-level kernels
 * (a kernel composed of other ops is charged once, its inner kernels not separately), so they add
 * up to the time spent in kernels; the rest of a step is tfjs engine and JavaScript overhead.
 * Used by `prunebench bench --profile` to find what dominates ("measure, then move").
 */
import * as tf from '@tensorflow/tfjs-core';

export interface KernelProfile {
  /** Milliseconds per kernel name, summed over the callback, largest first. */
  kernels: { name: string; ms: number; calls: number }[];
  /** Total milliseconds in top-level kernels. */
  kernelMs: number;
  /** Wall milliseconds of the whole callback. */
  wallMs: number;
}

export async function profileKernels(fn: () => void | Promise<void>): Promise<KernelProfile> {
  const backendName = tf.getBackend();
  const originals = tf.getKernelsForBackend(backendName);
  const totals = new Map<string, { ms: number; calls: number }>();
  let depth = 0;
  for (const k of originals) {
    tf.unregisterKernel(k.kernelName, backendName);
    const inner = k.kernelFunc;
    tf.registerKernel({
      ...k,
      kernelFunc: (args) => {
        if (depth > 0) return inner(args);
        depth++;
        const t0 = performance.now();
        try {
          return inner(args);
        } finally {
          const ms = performance.now() - t0;
          depth--;
          const e = totals.get(k.kernelName) ?? { ms: 0, calls: 0 };
          e.ms += ms;
          e.calls++;
          totals.set(k.kernelName, e);
        }
      },
    });
  }
  const t0 = performance.now();
  try {
    await fn();
  } finally {
    for (const k of originals) {
      tf.unregisterKernel(k.kernelName, backendName);
      tf.registerKernel(k);
    }
  }
  const wallMs = performance.now() - t0;
  const kernels = [...totals].map(([name, e]) => ({ name, ...e })).sort((a, b) => b.ms - a.ms);
  return { kernels, kernelMs: kernels.reduce((s, k) => s + k.ms, 0), wallMs };
}
