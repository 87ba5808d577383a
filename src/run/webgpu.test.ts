/**
 * A whole experiment on --backend webgpu: every cell completes. Training, evaluation, the paired
 * inference cost and the BN gammas of the record are read asynchronously; pruning, which reads
 * synchronously, runs on wasm from a host copy of the model (withSyncReads).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRunRecords } from '../results/index.ts';
import { runExperiment } from './index.ts';
import { silentLogger } from '../util/log.ts';
import { webgpuAvailability } from '../backend/webgpu/availability.ts';

const { reason } = await webgpuAvailability();

let dir: string | undefined;
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(reason !== null)('an experiment on webgpu', () => {
  // Software Vulkan is slow: three cells (baseline, prune, fine-tune) take about a minute on lavapipe.
  it('runs the quickstart to its fine-tune cell (baseline, prune, fine-tune) and records webgpu as the backend', { timeout: 300_000 }, async () => {
    dir = await mkdtemp(join(tmpdir(), 'prunebench-webgpu-run-'));
    const resultsDir = join(dir, 'results');
    const summary = await runExperiment({ experiment: 'quickstart', preset: 'smoke', only: ['fine-tune:*'], backend: 'webgpu', jobs: 1, resultsDir, runDir: join(dir, 'run'), progress: false, logger: silentLogger, print: () => {} });
    expect(summary.cells.map((c) => c.id.split(':')[0])).toEqual(['baseline', 'prune', 'fine-tune']);
    for (const c of summary.cells) expect([c.id, c.state, c.error]).toEqual([c.id, 'completed', undefined]);
    const records = await loadRunRecords(resultsDir, 'quickstart');
    const baseline = records.find((r) => r.row.protocol === 'baseline')!;
    expect(baseline.row.backend).toBe('webgpu');
    expect(baseline.backendDetail).toMatch(/^vendor .*, architecture /);
    expect(baseline.bnGammas!.length).toBeGreaterThan(0);
    expect(baseline.cost!.imagesPerSecBatch64).toBeGreaterThan(0);
    for (const r of records) expect(r.row.backend).toBe('webgpu');
    const prune = records.find((r) => r.row.protocol === 'prune')!;
    expect(prune.prune!.removedFraction).toBeGreaterThan(0);
  });
});
