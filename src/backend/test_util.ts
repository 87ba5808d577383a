/** Helpers for this folder's tests: run the same computation on wasm and cpu and compare. */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../util/rng.ts';

export function randomArray(shape: number[], seed: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * scale;
  return out;
}

/**
 * Runs `f` on `backend` inside a tidy and returns copies of the outputs' values, read
 * asynchronously (the webgpu backend has no synchronous read in Node).
 */
export async function valuesOn(backend: string, f: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const outs = tf.tidy(() => {
    const out = f();
    return Array.isArray(out) ? out : [out];
  });
  try {
    return await Promise.all(outs.map(async (t) => Float32Array.from(await t.data())));
  } finally {
    tf.dispose(outs);
  }
}

/** max |a-b| / max |b| (b is the reference), and whether the lengths agree. */
export function relError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

/** Largest relative error over all outputs of `f` on wasm versus the cpu backend. */
export async function wasmVsCpu(f: () => tf.Tensor | tf.Tensor[]): Promise<number> {
  const w = await valuesOn('wasm', f);
  const c = await valuesOn('cpu', f);
  if (w.length !== c.length) return Infinity;
  return Math.max(...w.map((v, i) => relError(v, c[i])));
}

/** Largest relative error over all outputs of `f` on `backend` versus the cpu backend. */
export async function backendVsCpu(backend: string, f: () => tf.Tensor | tf.Tensor[]): Promise<number> {
  const w = await valuesOn(backend, f);
  const c = await valuesOn('cpu', f);
  if (w.length !== c.length) return Infinity;
  return Math.max(...w.map((v, i) => relError(v, c[i])));
}
