/**
 * `prunebench prune --backend webgpu` (issue 32 item 11): WebGPU has no synchronous read in Node,
 * which pruning needs, so the command prunes on wasm as run's prune cells do; its output is the
 * one a wasm prune writes.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/index.ts';
import { webgpuAvailability } from '../backend/webgpu/availability.ts';
import { Model, modelSpec, saveModel } from '../models/index.ts';
import { silentLogger } from '../util/log.ts';
import { main } from './main.ts';

const { reason, required } = await webgpuAvailability();

let tmp: string | undefined;
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function cli(argv: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: () => {} });
  return { code, out: out.join('\n') };
}

describe('prune --backend webgpu', () => {
  it.runIf(required)('the webgpu backend is usable where it is required (CI)', () => {
    expect(reason).toBeNull();
  });

  it.skipIf(reason !== null)('prunes a saved model by channels and by weights, writing what a wasm prune writes', { timeout: 120_000 }, async () => {
    tmp = await mkdtemp(join(tmpdir(), 'prunebench-prune-webgpu-'));
    await initBackend({ backend: 'wasm', logger: silentLogger });
    const trained = Model.init(modelSpec('vgg-tiny'), 3);
    const weights = join(tmp, 'trained');
    await saveModel(weights, trained);
    trained.dispose();
    for (const args of [['--method', 'l1', '--prune-ratio', '0.5'], ['--criterion', 'lamp', '--granularity', 'weight', '--prune-ratio', '0.6']]) {
      const outs: string[] = [];
      for (const backend of ['webgpu', 'wasm']) {
        const out = join(tmp, `${args[1]}-${backend}`);
        const r = await cli(['prune', '--backend', backend, '--model', 'vgg-tiny', '--weights', weights, ...args, '--out', out]);
        expect(r.code, `${backend} ${args.join(' ')}`).toBe(0);
        expect(tf.getBackend()).toBe(backend);
        outs.push(out);
      }
      for (const f of ['spec.json', 'weights.bin', 'summary.json'].concat(args[1] === 'lamp' ? ['masks.bin'] : [])) {
        const [g, w] = await Promise.all(outs.map((o) => readFile(join(o, f))));
        const strip = (b: Buffer): Buffer => (f === 'summary.json' ? Buffer.from(b.toString().replace(/"criterionSeconds": [\d.e-]+/, '')) : b);
        expect(strip(g!).equals(strip(w!)), `${args[1]}: ${f}`).toBe(true);
      }
    }
  });
});
