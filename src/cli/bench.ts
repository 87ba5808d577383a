import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend/index.ts';
import { countSpec, measureInference, median } from '../metrics/index.ts';
import { Model, modelSpec } from '../models/index.ts';
import { Sgd, trainStep } from '../train/index.ts';
import type { Logger } from '../util/log.ts';
import { Rng } from '../util/rng.ts';

export const BENCH_NETWORKS = ['vgg-tiny', 'vgg-tiny-wide', 'vgg16'] as const;

export interface BenchResult {
  backend: string;
  network: string;
  batch: number;
  trainImagesPerSec: number;
  inferImagesPerSecBatch1: number;
  inferImagesPerSecBatch64: number;
  peakRssMB: number;
  macs: number;
  trainSteps: number;
}

/**
 * Trains and evaluates fixed networks on synthetic CIFAR-shaped data at batch 64: training
 * images/s (median of timed steps after 2 warm-up steps), inference at batch 1 and 64, peak RSS.
 */
export async function runBench(opts: { backend?: string; networks?: string[]; steps?: number; logger: Logger }): Promise<BenchResult[]> {
  const info = await initBackend({ ...(opts.backend ? { backend: opts.backend } : {}), logger: opts.logger });
  const results: BenchResult[] = [];
  for (const network of opts.networks ?? BENCH_NETWORKS) {
    const spec = modelSpec(network);
    const model = Model.init(spec, 1);
    const sgd = new Sgd({ momentum: 0.9, nesterov: false, weightDecay: 1e-4 });
    const rng = new Rng(2);
    const batch = 64;
    const xs = new Float32Array(batch * 32 * 32 * 3).map(() => rng.normal());
    const x = tf.tensor4d(xs, [batch, 32, 32, 3]);
    const y = tf.tensor1d(Array.from({ length: batch }, () => rng.int(10)), 'int32');
    const macs = countSpec(spec).macs;
    // Fewer timed steps for the big network: one VGG-16 step takes seconds on wasm.
    const steps = opts.steps ?? (macs > 1e8 ? 3 : 10);
    for (let i = 0; i < 2; i++) trainStep(model, sgd, x, y, 0.01, {});
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      trainStep(model, sgd, x, y, 0.01, {});
      times.push(performance.now() - t0);
    }
    const cost = measureInference(model, { repeats: macs > 1e8 ? 5 : 20 });
    results.push({
      backend: info.name,
      network,
      batch,
      trainImagesPerSec: +((batch * 1000) / median(times)).toFixed(1),
      inferImagesPerSecBatch1: +(1000 / cost.latencyMsBatch1).toFixed(1),
      inferImagesPerSecBatch64: +cost.imagesPerSecBatch64.toFixed(1),
      peakRssMB: +(process.resourceUsage().maxRSS / 1024).toFixed(0),
      macs,
      trainSteps: steps,
    });
    opts.logger.info(`${network}: ${results[results.length - 1]!.trainImagesPerSec} train img/s`);
    x.dispose();
    y.dispose();
    sgd.dispose();
    model.dispose();
  }
  return results;
}

export function formatBench(results: BenchResult[]): string {
  const lines = ['backend  network        train img/s  infer img/s b1  infer img/s b64  peak RSS MB'];
  for (const r of results) {
    lines.push(`${r.backend.padEnd(8)} ${r.network.padEnd(14)} ${String(r.trainImagesPerSec).padStart(11)}  ${String(r.inferImagesPerSecBatch1).padStart(14)}  ${String(r.inferImagesPerSecBatch64).padStart(15)}  ${String(r.peakRssMB).padStart(11)}`);
  }
  return lines.join('\n');
}
