import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '../backend/index.ts';
import { Model } from '../models/index.ts';
import { silentLogger } from '../util/log.ts';
import { Rng } from '../util/rng.ts';

/** Correctness tests run on the pure-JS cpu backend unless they test another one. */
export async function useCpuBackend(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

/** Tests that train use the wasm backend with prunebench's kernels (the cpu one is ~300x slower). */
export async function useWasmBackend(): Promise<void> {
  await initBackend({ backend: 'wasm', logger: silentLogger });
}

/**
 * Replace every weight with random values (BN statistics too), so an equivalence test cannot pass
 * by accident on the benign initial values (beta = 0, mean = 0, variance = 1).
 */
export function randomizeWeights(model: Model, seed: number): void {
  const rng = new Rng(seed);
  for (const info of model.paramInfo) {
    const size = info.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      // Weights scaled by fan-in keep activations O(1) through 164 layers.
      values[i] =
        info.field === 'variance' || info.field === 'gamma'
          ? 0.5 + rng.next()
          : rng.normal() * (info.field === 'weight' ? 1 / Math.sqrt(info.fanIn) : 0.5);
    }
    model.param(info.name).assign(tf.tensor(values, info.shape));
  }
}

export function randomImages(n: number, h: number, w: number, c: number, seed: number): tf.Tensor4D {
  const rng = new Rng(seed);
  const v = new Float32Array(n * h * w * c);
  for (let i = 0; i < v.length; i++) v[i] = rng.normal();
  return tf.tensor4d(v, [n, h, w, c]);
}

export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}
