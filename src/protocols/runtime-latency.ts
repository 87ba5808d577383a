/**
 * A cell's inference cost on other runtimes than its own backend (ExperimentConfig
 * latencyRuntimes): prunebench's onednn and wasm backends and ONNX Runtime (CPU, on the ONNX
 * export), each timing the model against the unpruned model of its spec alternately, as the
 * cell's own measurement does. A runtime that cannot run here is recorded as missing (with a
 * warning, once per process and reason) instead of failing a cell that may have trained for hours.
 */
import * as tf from '@tensorflow/tfjs-core';
import { canReadSync, initBackend, withSyncReads } from '../backend/index.ts';
import { measureOrtPaired, modelToOnnx } from '../export/index.ts';
import { measureInferencePaired } from '../metrics/index.ts';
import { Model, type ModelSpec } from '../models/index.ts';
import { LATENCY_RUNTIMES, runtimeColumns, type LatencyRuntime, type PairedInferenceCost, type RunRecord, type RunRow } from '../results/index.ts';
import { silentLogger, type Logger } from '../util/log.ts';

/**
 * Fewer calls than the cell's own measurement (10 batch-1 and 4 batch-64 calls per model after 2
 * warm-ups): ResNet-56 at half width costs about 1 s per batch-64 call on wasm, and three runtimes
 * at the own measurement's counts would add about 30 s to every cell.
 */
export const RUNTIME_REPEATS = 6;
export const RUNTIME_WARMUP = 1;

export type RuntimeCosts = NonNullable<RunRecord['runtimes']>;

const warned = new Set<string>();

function missing(rt: LatencyRuntime, reason: string, logger: Logger): { missing: string } {
  const key = `${rt}\u0000${reason}`;
  if (!warned.has(key)) {
    warned.add(key);
    logger.warn(`latency on ${rt} not measured (recorded as missing; later cells that meet this say nothing): ${reason}`);
  }
  return { missing: reason };
}

const rounded = (c: { latencyMsBatch1: number; imagesPerSecBatch64: number; reference: { latencyMsBatch1: number; imagesPerSecBatch64: number } }): PairedInferenceCost => ({
  latencyMsBatch1: +c.latencyMsBatch1.toFixed(3),
  imagesPerSecBatch64: +c.imagesPerSecBatch64.toFixed(1),
  baseLatencyMsBatch1: +c.reference.latencyMsBatch1.toFixed(3),
  baseImagesPerSecBatch64: +c.reference.imagesPerSecBatch64.toFixed(1),
});

type HostWeights = [string, Float32Array | Int32Array | Uint8Array, number[]][];

/** A copy of the model on the active backend, from host values (the original may live on another backend). */
function copyOf(spec: ModelSpec, host: HostWeights): Model {
  const weights = new Map(host.map(([n, v, shape]) => [n, tf.tensor(v, shape)] as const));
  try {
    return Model.fromWeights(spec, weights);
  } finally {
    tf.dispose([...weights.values()]);
  }
}

/** On a tfjs backend (onednn at 1 thread, or wasm), then back to the backend that was active. */
async function onTfjsBackend(rt: 'onednn' | 'wasm', spec: ModelSpec, host: HostWeights, baseSpec: ModelSpec, calls: TimedCalls): Promise<PairedInferenceCost> {
  const active = tf.getBackend();
  try {
    await initBackend({ backend: rt, threads: 1, logger: silentLogger });
    const model = copyOf(spec, host);
    // Speed does not depend on the weights' values: a fresh unpruned model is the reference.
    const reference = Model.init(baseSpec, 0);
    try {
      return rounded(await measureInferencePaired(model, reference, calls));
    } finally {
      model.dispose();
      reference.dispose();
    }
  } finally {
    if (tf.getBackend() !== active) await tf.setBackend(active);
  }
}

/** In ONNX Runtime on the two exports, built where tensors can be read synchronously (on webgpu: wasm, from a host copy). */
async function onOrt(model: Model, host: HostWeights, baseSpec: ModelSpec, calls: TimedCalls): Promise<PairedInferenceCost> {
  const direct = canReadSync();
  const [onnx, referenceOnnx] = await withSyncReads(() => {
    const source = direct ? model : copyOf(model.spec, host);
    const reference = Model.init(baseSpec, 0);
    try {
      return [modelToOnnx(source), modelToOnnx(reference)] as const;
    } finally {
      if (source !== model) source.dispose();
      reference.dispose();
    }
  });
  const { channels, height, width } = model.spec.input;
  return rounded(await measureOrtPaired(onnx, referenceOnnx, { channels, height, width }, { ...calls, threads: 1 }));
}

/** Timed batch-1 calls per model (batch 64 gets a third, at least 3) and untimed calls first. */
export interface TimedCalls {
  repeats: number;
  warmup: number;
}

/**
 * The paired cost of `model` against the unpruned `baseSpec` on each runtime. The cell's own
 * backend, when listed, is its own measurement `own` (not timed again); without `own`, every
 * runtime is timed here.
 */
export async function measureRuntimeLatency(
  model: Model,
  baseSpec: ModelSpec,
  runtimes: readonly LatencyRuntime[],
  own: { backend: string; cost: PairedInferenceCost } | null,
  logger: Logger,
  calls: TimedCalls = { repeats: RUNTIME_REPEATS, warmup: RUNTIME_WARMUP },
): Promise<RuntimeCosts> {
  const out: RuntimeCosts = {};
  const host: HostWeights = [];
  for (const [n, t] of model.namedWeights()) host.push([n, (await t.data()) as Float32Array, t.shape]);
  for (const rt of runtimes) {
    if (own && rt === own.backend) {
      out[rt] = own.cost;
      continue;
    }
    try {
      out[rt] = rt === 'ort' ? await onOrt(model, host, baseSpec, calls) : await onTfjsBackend(rt, model.spec, host, baseSpec, calls);
    } catch (e) {
      out[rt] = missing(rt, String((e as Error)?.message ?? e).split('\n')[0]!, logger);
    }
  }
  return out;
}

/** The runtimes' columns of a row ('' for a runtime not measured or missing). */
export function runtimeCells(costs: RuntimeCosts | undefined): Partial<RunRow> {
  const row: Partial<RunRow> = {};
  for (const rt of LATENCY_RUNTIMES) {
    const c = costs?.[rt];
    const cols = runtimeColumns(rt);
    const ok = c !== undefined && !('missing' in c);
    row[cols.latency] = ok ? c.latencyMsBatch1 : '';
    row[cols.baseLatency] = ok ? c.baseLatencyMsBatch1 : '';
    row[cols.throughput] = ok ? c.imagesPerSecBatch64 : '';
    row[cols.baseThroughput] = ok ? c.baseImagesPerSecBatch64 : '';
  }
  return row;
}
