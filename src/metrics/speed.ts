import * as tf from '@tensorflow/tfjs-core';
import { median } from 'mathjs';
import type { Model } from '../models/index.ts';

export interface InferenceCost {
  /** Median latency of one image (batch 1), milliseconds. */
  latencyMsBatch1: number;
  /** Images per second at batch 64 (median over repeats). */
  imagesPerSecBatch64: number;
}

/**
 * Time one inference call, waiting for the result, in ms. The read is asynchronous because a GPU
 * backend (webgpu) has none other; on wasm and onednn it costs a resolved promise.
 */
async function timeOnce(model: Model, x: tf.Tensor4D): Promise<number> {
  const t0 = performance.now();
  const { logits } = model.forward(x, false);
  await logits.data();
  const ms = performance.now() - t0;
  logits.dispose();
  return ms;
}

/**
 * Real cost of a model on the current backend: median latency at batch 1 and throughput at
 * batch 64, after warm-up. A masked (unstructured) model runs dense, so its cost shows that
 * weight-level sparsity gives no speedup without sparse kernels.
 */
export async function measureInference(model: Model, opts: { repeats?: number; warmup?: number } = {}): Promise<InferenceCost> {
  const repeats = opts.repeats ?? 10;
  const warmup = opts.warmup ?? 2;
  const { height, width, channels } = model.spec.input;
  const x1 = tf.randomNormal([1, height, width, channels], 0, 1, 'float32', 1) as tf.Tensor4D;
  const x64 = tf.randomNormal([64, height, width, channels], 0, 1, 'float32', 2) as tf.Tensor4D;
  try {
    for (let i = 0; i < warmup; i++) {
      await timeOnce(model, x1);
      await timeOnce(model, x64);
    }
    const lat: number[] = [];
    for (let i = 0; i < repeats; i++) lat.push(await timeOnce(model, x1));
    const thr: number[] = [];
    for (let i = 0; i < Math.max(3, Math.ceil(repeats / 3)); i++) thr.push(64000 / (await timeOnce(model, x64)));
    return { latencyMsBatch1: median<number>(lat), imagesPerSecBatch64: median<number>(thr) };
  } finally {
    x1.dispose();
    x64.dispose();
  }
}

export interface PairedInferenceCost extends InferenceCost {
  /** The reference (unpruned) model measured in the same process, interleaved with the model. */
  reference: InferenceCost;
}

/**
 * Which of two models timed alternately goes first in round `round`: they swap every round
 * (A B, B A, A B, ...). With a fixed order the first of each pair ran 5-13% slower at batch 1 on
 * onednn, even when both were copies of one model (2026-12-07, AVX-512 VM), which made masked
 * models look slower than the dense model they equal.
 */
export function pairOrder(round: number): readonly [0, 1] | readonly [1, 0] {
  return round % 2 === 0 ? [0, 1] : [1, 0];
}

/**
 * Cost of a model and of a reference model timed alternately in one process, so both see the
 * same machine load: their ratio is a speedup that does not depend on when each ran. The order
 * within each pair alternates (pairOrder), so neither model is always the first.
 */
export async function measureInferencePaired(model: Model, reference: Model, opts: { repeats?: number; warmup?: number } = {}): Promise<PairedInferenceCost> {
  const repeats = opts.repeats ?? 10;
  const warmup = opts.warmup ?? 2;
  const { height, width, channels } = model.spec.input;
  const x1 = tf.randomNormal([1, height, width, channels], 0, 1, 'float32', 1) as tf.Tensor4D;
  const x64 = tf.randomNormal([64, height, width, channels], 0, 1, 'float32', 2) as tf.Tensor4D;
  try {
    const models = [model, reference] as const;
    for (let i = 0; i < warmup; i++) for (const m of models) for (const x of [x1, x64]) await timeOnce(m, x);
    const lat: [number[], number[]] = [[], []];
    const thr: [number[], number[]] = [[], []];
    for (let i = 0; i < repeats; i++) for (const k of pairOrder(i)) lat[k].push(await timeOnce(models[k], x1));
    for (let i = 0; i < Math.max(3, Math.ceil(repeats / 3)); i++) for (const k of pairOrder(i)) thr[k].push(64000 / (await timeOnce(models[k], x64)));
    return {
      latencyMsBatch1: median<number>(lat[0]),
      imagesPerSecBatch64: median<number>(thr[0]),
      reference: { latencyMsBatch1: median<number>(lat[1]), imagesPerSecBatch64: median<number>(thr[1]) },
    };
  } finally {
    x1.dispose();
    x64.dispose();
  }
}
