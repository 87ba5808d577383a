/**
 * The training and inference benchmark (`prunebench bench`): fixed networks on synthetic
 * CIFAR-shaped data at batch 64, on one backend or on several timed alternately in one process,
 * so that their ratio does not depend on what else the machine was doing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { median } from 'mathjs';
import { initBackend, profileKernels, type BackendInfo } from '../backend/index.ts';
import { Model, modelSpec, type ModelSpec } from '../models/index.ts';
import { Sgd, trainStep } from '../train/index.ts';
import { ConfigError } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import { Rng } from '../util/rng.ts';
import { countSpec } from './count.ts';

import { BENCH_NETWORKS } from './bench-networks.ts';
export { BENCH_NETWORKS };

export interface BenchResult {
  backend: string;
  /** The native library behind the backend, where there is one (onednn: version, ISA, threads). */
  backendDetail?: string;
  network: string;
  batch: number;
  trainImagesPerSec: number;
  inferImagesPerSecBatch1: number;
  inferImagesPerSecBatch64: number;
  /** Peak resident memory of the whole process so far (it accumulates over networks and backends). */
  peakRssMB: number;
  macs: number;
  trainSteps: number;
  /** Per-kernel milliseconds per training step, largest first (with `profile`). */
  profile?: { kernel: string; msPerStep: number; callsPerStep: number }[];
}

export interface BenchComparison {
  network: string;
  /** The first backend (the reference) and another one, timed alternately. */
  base: string;
  other: string;
  /** other / base, for training and inference throughput. */
  trainSpeedup: number;
  inferSpeedupBatch1: number;
  inferSpeedupBatch64: number;
}

export interface BenchOptions {
  /** Backends to measure; with more than one they are timed alternately and compared with the first. */
  backends?: string[];
  networks?: string[];
  /** Architectures to measure instead of `networks` (the `list` estimate measures the pruned ones too). */
  specs?: { network: string; spec: ModelSpec }[];
  /** Timed training steps per backend (default 10, 3 for networks over 1e8 MACs). */
  steps?: number;
  /** Threads of the onednn backend. */
  threads?: number;
  /** Also profile the training step per kernel. */
  profile?: boolean;
  logger: Logger;
}

/** The spec of a bench network: a model name, optionally `@width` for a width multiplier. */
export function benchNetworkSpec(network: string): ModelSpec {
  const [name, width, ...rest] = network.split('@');
  const multiplier = width === undefined ? 1 : Number(width);
  if (rest.length > 0 || !name || !(multiplier > 0 && multiplier <= 4)) {
    throw new ConfigError(`--networks: "${network}" is not a model name or name@width (width in (0, 4], e.g. vgg16@0.25)`, 'networks');
  }
  return modelSpec(name, { widthMultiplier: multiplier });
}

interface Subject {
  info: BackendInfo;
  model: Model;
  sgd: Sgd;
  x: tf.Tensor4D;
  y: tf.Tensor1D;
  x1: tf.Tensor4D;
  x64: tf.Tensor4D;
}

const BATCH = 64;

async function timeMs(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

/** One inference call, waiting for the result; asynchronous because webgpu has no synchronous read. */
async function inferOnce(model: Model, x: tf.Tensor4D): Promise<void> {
  const { logits } = model.forward(x, false);
  await logits.data();
  logits.dispose();
}

/**
 * Measures every network on every backend. Each backend gets the same initial weights and data;
 * with several backends, every timed step and inference call alternates between them.
 */
export async function runBench(opts: BenchOptions): Promise<{ results: BenchResult[]; comparisons: BenchComparison[] }> {
  const backends = opts.backends?.length ? opts.backends : [undefined];
  const infos: BackendInfo[] = [];
  for (const backend of backends) {
    infos.push(await initBackend({ ...(backend ? { backend } : {}), ...(opts.threads ? { threads: opts.threads } : {}), logger: opts.logger }));
  }
  const results: BenchResult[] = [];
  const comparisons: BenchComparison[] = [];
  const targets = opts.specs ?? (opts.networks ?? BENCH_NETWORKS).map((network) => ({ network, spec: benchNetworkSpec(network) }));
  for (const { network, spec } of targets) {
    const macs = countSpec(spec).macs;
    const steps = opts.steps ?? (macs > 1e8 ? 3 : 10);
    const rng = new Rng(2);
    const { height, width, channels } = spec.input;
    const pixels = Float32Array.from({ length: BATCH * height * width * channels }, () => rng.normal());
    const labels = Array.from({ length: BATCH }, () => rng.int(spec.numClasses));
    let init: Map<string, { values: Float32Array; shape: number[] }> | undefined;
    const subjects: Subject[] = [];
    for (const info of infos) {
      await tf.setBackend(backendName(info));
      if (!init) {
        const seed = Model.init(spec, 1);
        init = new Map();
        for (const [n, t] of seed.namedWeights()) init.set(n, { values: Float32Array.from(await t.data()), shape: t.shape });
        seed.dispose();
      }
      const weights = new Map([...init].map(([n, w]) => [n, tf.tensor(w.values, w.shape)]));
      const model = Model.fromWeights(spec, weights);
      tf.dispose([...weights.values()]);
      subjects.push({
        info,
        model,
        sgd: new Sgd({ momentum: 0.9, nesterov: false, weightDecay: 1e-4 }),
        x: tf.tensor4d(pixels, [BATCH, height, width, channels]),
        y: tf.tensor1d(labels, 'int32'),
        x1: tf.tensor4d(pixels.subarray(0, height * width * channels), [1, height, width, channels]),
        x64: tf.tensor4d(pixels, [BATCH, height, width, channels]),
      });
    }
    const use = async (s: Subject): Promise<void> => {
      if (tf.getBackend() !== backendName(s.info)) await tf.setBackend(backendName(s.info));
    };
    const train: number[][] = subjects.map(() => []);
    const b1: number[][] = subjects.map(() => []);
    const b64: number[][] = subjects.map(() => []);
    for (const s of subjects) {
      await use(s);
      for (let i = 0; i < 2; i++) await trainStep(s.model, s.sgd, s.x, s.y, 0.01, {});
      for (let i = 0; i < 2; i++) {
        await inferOnce(s.model, s.x1);
        await inferOnce(s.model, s.x64);
      }
    }
    for (let i = 0; i < steps; i++) {
      for (const [k, s] of subjects.entries()) {
        await use(s);
        train[k]!.push(await timeMs(() => trainStep(s.model, s.sgd, s.x, s.y, 0.01, {})));
      }
    }
    const inferRepeats = macs > 1e8 ? 5 : 20;
    for (let i = 0; i < inferRepeats; i++) {
      for (const [k, s] of subjects.entries()) {
        await use(s);
        b1[k]!.push(await timeMs(() => inferOnce(s.model, s.x1)));
        if (i % 3 === 0) b64[k]!.push(await timeMs(() => inferOnce(s.model, s.x64)));
      }
    }
    for (const [k, s] of subjects.entries()) {
      let profile: BenchResult['profile'];
      if (opts.profile) {
        await use(s);
        const p = await profileKernels(async () => {
          for (let i = 0; i < steps; i++) await trainStep(s.model, s.sgd, s.x, s.y, 0.01, {});
        });
        profile = p.kernels.map((e) => ({ kernel: e.name, msPerStep: +(e.ms / steps).toFixed(3), callsPerStep: +(e.calls / steps).toFixed(1) }));
        const outside = (p.wallMs - p.kernelMs) / steps;
        profile.push({ kernel: '(outside kernels: tfjs engine, JavaScript)', msPerStep: +outside.toFixed(3), callsPerStep: 0 });
      }
      const result: BenchResult = {
        backend: s.info.name,
        ...(s.info.detail ? { backendDetail: s.info.detail } : {}),
        network,
        batch: BATCH,
        trainImagesPerSec: +((BATCH * 1000) / median<number>(train[k]!)).toFixed(1),
        inferImagesPerSecBatch1: +(1000 / median<number>(b1[k]!)).toFixed(1),
        inferImagesPerSecBatch64: +((BATCH * 1000) / median<number>(b64[k]!)).toFixed(1),
        peakRssMB: +(process.resourceUsage().maxRSS / 1024).toFixed(0),
        macs,
        trainSteps: steps,
        ...(profile ? { profile } : {}),
      };
      results.push(result);
      opts.logger.info(`${network} on ${s.info.name}: ${result.trainImagesPerSec} train img/s`);
    }
    const [base, ...others] = results.slice(-subjects.length);
    for (const other of others) {
      comparisons.push({
        network,
        base: base!.backend,
        other: other.backend,
        trainSpeedup: +(other.trainImagesPerSec / base!.trainImagesPerSec).toFixed(2),
        inferSpeedupBatch1: +(other.inferImagesPerSecBatch1 / base!.inferImagesPerSecBatch1).toFixed(2),
        inferSpeedupBatch64: +(other.inferImagesPerSecBatch64 / base!.inferImagesPerSecBatch64).toFixed(2),
      });
    }
    for (const s of subjects) {
      await use(s);
      tf.dispose([s.x, s.y, s.x1, s.x64]);
      s.sgd.dispose();
      s.model.dispose();
    }
  }
  return { results, comparisons };
}

/** The tfjs backend name of a prunebench backend ('tensorflow-gpu' registers as 'tensorflow'). */
function backendName(info: BackendInfo): string {
  return info.name === 'tensorflow-gpu' ? 'tensorflow' : info.name;
}
