import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { initBackend } from '../backend/index.ts';
import { webgpuAvailability } from '../backend/webgpu/availability.ts';
import { Model, modelSpec } from '../models/index.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import { measureRuntimeLatency, runtimeCells } from './runtime-latency.ts';

const previous = process.env.PRUNEBENCH_DISABLE_ONEDNN;
beforeAll(async () => {
  // onednn switched off here: how a machine without its addon looks.
  process.env.PRUNEBENCH_DISABLE_ONEDNN = '1';
  await initBackend({ backend: 'wasm', logger: silentLogger });
});
afterAll(() => {
  if (previous === undefined) delete process.env.PRUNEBENCH_DISABLE_ONEDNN;
  else process.env.PRUNEBENCH_DISABLE_ONEDNN = previous;
});

it('times a model on ONNX Runtime, reuses the own backend, records an unavailable runtime as missing with one warning', async () => {
  const full = modelSpec('vgg-tiny');
  const small = modelSpec('vgg-tiny', { widthMultiplier: 0.5 });
  const model = Model.init(small, 1);
  const warnings: string[] = [];
  const logger: Logger = { ...silentLogger, warn: (m) => warnings.push(m) };
  const own = { latencyMsBatch1: 1, imagesPerSecBatch64: 2, baseLatencyMsBatch1: 3, baseImagesPerSecBatch64: 4 };
  try {
    const costs = await measureRuntimeLatency(model, full, ['onednn', 'wasm', 'ort'], { backend: 'wasm', cost: own }, logger);
    expect(costs.wasm).toEqual(own);
    expect(costs.onednn).toEqual({ missing: expect.stringContaining('PRUNEBENCH_DISABLE_ONEDNN') });
    const ort = costs.ort as { latencyMsBatch1: number; baseLatencyMsBatch1: number; imagesPerSecBatch64: number; baseImagesPerSecBatch64: number };
    for (const v of Object.values(ort)) expect(v).toBeGreaterThan(0);
    // The half-width model does a quarter of the MACs: ONNX Runtime runs it faster at batch 64.
    expect(ort.imagesPerSecBatch64).toBeGreaterThan(ort.baseImagesPerSecBatch64);
    expect(tf.getBackend()).toBe('wasm');
    const again = await measureRuntimeLatency(model, full, ['onednn'], { backend: 'wasm', cost: own }, logger);
    expect(again.onednn).toEqual(costs.onednn);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/latency on onednn not measured/);
    const row = runtimeCells(costs);
    expect(row.latency_ms_b1_onednn).toBe('');
    expect(row.base_infer_images_per_sec_b64_wasm).toBe(4);
    expect(row.latency_ms_b1_ort).toBe(ort.latencyMsBatch1);
  } finally {
    model.dispose();
  }
});

it('measures on another tfjs backend and comes back to the active one', async () => {
  const spec = modelSpec('vgg-tiny');
  await initBackend({ backend: 'cpu', logger: silentLogger });
  const model = Model.init(spec, 1);
  try {
    const costs = await measureRuntimeLatency(model, spec, ['wasm'], { backend: 'cpu', cost: { latencyMsBatch1: 1, imagesPerSecBatch64: 1, baseLatencyMsBatch1: 1, baseImagesPerSecBatch64: 1 } }, silentLogger);
    const wasm = costs.wasm as { latencyMsBatch1: number; baseLatencyMsBatch1: number };
    expect(wasm.latencyMsBatch1).toBeGreaterThan(0);
    expect(wasm.baseLatencyMsBatch1).toBeGreaterThan(0);
    expect(tf.getBackend()).toBe('cpu');
    // The model still runs where it was.
    const { logits } = model.forward(tf.zeros([1, 32, 32, 3]) as tf.Tensor4D, false);
    expect(logits.shape).toEqual([1, spec.numClasses]);
  } finally {
    model.dispose();
  }
});

const webgpu = await webgpuAvailability();

it.skipIf(webgpu.reason !== null)('a cell on webgpu (no synchronous read) measures on wasm and in ONNX Runtime from a host copy, and stays on webgpu', async () => {
  const spec = modelSpec('vgg-tiny', { widthMultiplier: 0.5, input: { height: 8, width: 8, channels: 3 } });
  await initBackend({ backend: 'webgpu', logger: silentLogger });
  const model = Model.init(spec, 1);
  try {
    const costs = await measureRuntimeLatency(model, spec, ['wasm', 'ort'], { backend: 'webgpu', cost: { latencyMsBatch1: 1, imagesPerSecBatch64: 1, baseLatencyMsBatch1: 1, baseImagesPerSecBatch64: 1 } }, silentLogger);
    for (const rt of ['wasm', 'ort'] as const) {
      const c = costs[rt] as unknown as Record<string, number>;
      expect(c, rt).not.toHaveProperty('missing');
      for (const v of Object.values(c)) expect(v, rt).toBeGreaterThan(0);
    }
    expect(tf.getBackend()).toBe('webgpu');
  } finally {
    model.dispose();
  }
});
