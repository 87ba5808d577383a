import * as tf from '@tensorflow/tfjs-core';
import { median } from 'mathjs';
import { countSpec, pairOrder } from '../metrics/index.ts';
import type { Model } from '../models/index.ts';
import { modelToOnnx } from './onnx.ts';
import { createOrtSession, loadOrt, nchwInput } from './ort.ts';
import { Rng } from '../util/rng.ts';
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

/** Batch-1 latency and batch-64 throughput of an exported model and of a reference, from paired timing. */
export interface OrtPairedCost {
  latencyMsBatch1: number;
  imagesPerSecBatch64: number;
  reference: { latencyMsBatch1: number; imagesPerSecBatch64: number };
}

export interface OrtPairedOptions {
  /** Timed batch-1 calls per model (default 10); batch 64 gets a third of them, at least 3. */
  repeats?: number;
  /** Untimed calls per model and batch size first (default 2). */
  warmup?: number;
  /** ONNX Runtime intra-op threads (default 1). */
  threads?: number;
}

/**
 * ONNX Runtime's cost of two ONNX exports (a model and its unpruned reference) taking the same
 * input shape, timed alternately (each first in every other round) as measureInferencePaired does in prunebench's engine, so their
 * ratio is a speedup that does not depend on the machine's load. The input is seeded noise
 * (timing does not depend on values), made without tfjs so any backend may be active.
 */
export async function measureOrtPaired(onnx: Uint8Array, referenceOnnx: Uint8Array, input: { channels: number; height: number; width: number }, o: OrtPairedOptions = {}): Promise<OrtPairedCost> {
  const repeats = o.repeats ?? 10;
  const warmup = o.warmup ?? 2;
  const ort = await loadOrt();
  const sessions: Ort.InferenceSession[] = [];
  try {
    sessions.push(await createOrtSession(onnx, { threads: o.threads ?? 1 }));
    sessions.push(await createOrtSession(referenceOnnx, { threads: o.threads ?? 1 }));
    const rng = new Rng(1);
    const feed = (n: number): Record<string, Ort.Tensor> => {
      const data = Float32Array.from({ length: n * input.channels * input.height * input.width }, () => rng.normal());
      return { [ONNX_INPUT]: new ort.Tensor('float32', data, [n, input.channels, input.height, input.width]) };
    };
    const [x1, x64] = [feed(1), feed(64)];
    for (let i = 0; i < warmup; i++) for (const s of sessions) for (const x of [x1, x64]) await s.run(x);
    const lat: [number[], number[]] = [[], []];
    const thr: [number[], number[]] = [[], []];
    for (let i = 0; i < repeats; i++) for (const k of pairOrder(i)) lat[k].push(await timed(async () => void (await sessions[k]!.run(x1))));
    for (let i = 0; i < Math.max(3, Math.ceil(repeats / 3)); i++) for (const k of pairOrder(i)) thr[k].push(64000 / (await timed(async () => void (await sessions[k]!.run(x64)))));
    return {
      latencyMsBatch1: median<number>(lat[0]),
      imagesPerSecBatch64: median<number>(thr[0]),
      reference: { latencyMsBatch1: median<number>(lat[1]), imagesPerSecBatch64: median<number>(thr[1]) },
    };
  } finally {
    for (const s of sessions) await s.release();
  }
}
