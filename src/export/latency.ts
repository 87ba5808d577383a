import * as tf from '@tensorflow/tfjs-core';
import { median } from 'mathjs';
import { countSpec } from '../metrics/index.ts';
import type { Model } from '../models/index.ts';
import { modelToOnnx } from './onnx.ts';
import { createOrtSession, nchwInput } from './ort.ts';
import { ONNX_INPUT } from './onnx.ts';
import type * as Ort from 'onnxruntime-node';

/**
 * Inference latency of models in prunebench's engine (the current tfjs backend) and in ONNX
 * Runtime (CPU, their export), at batch 1 and 64; each figure is a median.
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

/** Zero weights and MACs of a model, dense and with its zero weights not counted. */
function macsOf(model: Model): Pick<LatencyResult, 'macs' | 'macsEffective' | 'zeroFraction'> {
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
  return { macs: countSpec(model.spec).macs, macsEffective: countSpec(model.spec, { nonZero }).macsEffective, zeroFraction: total ? zeros / total : 0 };
}

/**
 * Latency of several models, measured together: every repeat times each model at batch 1 and 64
 * in the engine and then in ONNX Runtime, so a change in the machine's load over the run affects
 * every model and runtime alike, and their ratios stay comparable.
 */
export async function measureLatency(models: Model[], o: LatencyOptions = {}): Promise<LatencyResult[]> {
  const repeats = o.repeats ?? 20;
  const sessions: Ort.InferenceSession[] = [];
  const xs = new Map<string, tf.Tensor4D>();
  const inputOf = (model: Model, n: number): tf.Tensor4D => {
    const { height, width, channels } = model.spec.input;
    const key = `${n}x${height}x${width}x${channels}`;
    if (!xs.has(key)) xs.set(key, tf.randomNormal([n, height, width, channels], 0, 1, 'float32', n) as tf.Tensor4D);
    return xs.get(key)!;
  };
  try {
    for (const model of models) sessions.push(await createOrtSession(modelToOnnx(model), { threads: o.threads ?? 1 }));
    const cases = await Promise.all(
      models.flatMap((model, m) =>
        [1, 64].map(async (n) => {
          const x = inputOf(model, n);
          return { m, n, x, feed: { [ONNX_INPUT]: await nchwInput(x) }, engine: [] as number[], ort: [] as number[] };
        }),
      ),
    );
    for (let r = -3; r < repeats; r++) {
      for (const c of cases) {
        const e = await timed(async () => {
          const { logits } = models[c.m]!.forward(c.x, false);
          await logits.data();
          logits.dispose();
        });
        const t = await timed(async () => {
          await sessions[c.m]!.run(c.feed);
        });
        if (r >= 0) {
          c.engine.push(e);
          c.ort.push(t);
        }
      }
    }
    const med = (v: number[]): number => +median<number>(v).toFixed(3);
    return models.map((model, m) => {
      const [b1, b64] = [1, 64].map((n) => cases.find((c) => c.m === m && c.n === n)!);
      return { model: model.spec.name, ...macsOf(model), engineMsBatch1: med(b1!.engine), engineMsBatch64: med(b64!.engine), ortMsBatch1: med(b1!.ort), ortMsBatch64: med(b64!.ort), repeats };
    });
  } finally {
    for (const x of xs.values()) x.dispose();
    for (const s of sessions) await s.release();
  }
}
