import * as tf from '@tensorflow/tfjs-core';
import { median } from 'mathjs';
import { countSpec } from '../metrics/index.ts';
import type { Model } from '../models/index.ts';
import { modelToOnnx } from './onnx.ts';
import { createOrtSession, nchwInput } from './ort.ts';
import { ONNX_INPUT } from './onnx.ts';

/**
 * Inference latency of one model in prunebench's engine (the current tfjs backend) and in ONNX
 * Runtime (CPU, its export), at batch 1 and 64. Calls alternate between the two runtimes, so load
 * from other processes on a shared machine hits both alike; each figure is a median.
 */
export interface LatencyResult {
  model: string;
  /** Dense MACs per image, and with zero weights not counted (masked models). */
  macs: number;
  macsEffective: number;
  /** Fraction of conv/linear weights that are zero. */
  zeroFraction: number;
  engineMsBatch1: number;
  engineMsBatch64: number;
  ortMsBatch1: number;
  ortMsBatch64: number;
  repeats: number;
}

export interface LatencyOptions {
  /** Timed calls per runtime and batch size (default 20), after 3 warm-up calls. */
  repeats?: number;
  /** ONNX Runtime intra-op threads (default 1). */
  threads?: number;
}

async function timed(f: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

export async function measureLatency(model: Model, o: LatencyOptions = {}): Promise<LatencyResult> {
  const repeats = o.repeats ?? 20;
  const nonZero = new Map<string, number>();
  let zeros = 0;
  let total = 0;
  for (const info of model.paramInfo) {
    if (info.field !== 'weight') continue;
    const v = model.param(info.name).dataSync();
    let nz = 0;
    for (let i = 0; i < v.length; i++) if (v[i] !== 0) nz++;
    nonZero.set(info.name, nz);
    zeros += v.length - nz;
    total += v.length;
  }
  const dense = countSpec(model.spec);
  const effective = countSpec(model.spec, { nonZero });
  const session = await createOrtSession(modelToOnnx(model), { threads: o.threads ?? 1 });
  const { height, width, channels } = model.spec.input;
  const xs = [1, 64].map((n) => tf.randomNormal([n, height, width, channels], 0, 1, 'float32', n) as tf.Tensor4D);
  try {
    const feeds = await Promise.all(xs.map(async (x) => ({ [ONNX_INPUT]: await nchwInput(x) })));
    const engine = (x: tf.Tensor4D) => async (): Promise<void> => {
      const { logits } = model.forward(x, false);
      await logits.data();
      logits.dispose();
    };
    const ort = (i: number) => async (): Promise<void> => {
      await session.run(feeds[i]!);
    };
    const times: number[][] = [[], [], [], []];
    for (let r = -3; r < repeats; r++) {
      for (let i = 0; i < 2; i++) {
        const e = await timed(engine(xs[i]!));
        const t = await timed(ort(i));
        if (r >= 0) {
          times[i]!.push(e);
          times[2 + i]!.push(t);
        }
      }
    }
    const m = (k: number): number => +median<number>(times[k]!).toFixed(3);
    return {
      model: model.spec.name,
      macs: dense.macs,
      macsEffective: effective.macsEffective,
      zeroFraction: total ? zeros / total : 0,
      engineMsBatch1: m(0),
      engineMsBatch64: m(1),
      ortMsBatch1: m(2),
      ortMsBatch64: m(3),
      repeats,
    };
  } finally {
    for (const x of xs) x.dispose();
    await session.release();
  }
}
