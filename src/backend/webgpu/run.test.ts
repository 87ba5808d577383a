/**
 * A whole experiment on --backend webgpu: the training cells run there (training, evaluation, the
 * paired inference cost, the BN gammas of the record, all read asynchronously); the pruning steps
 * still read synchronously, so a prune cell fails with the one-line BackendError that says so
 * (not a ReferenceError from inside tfjs). When pruning reads asynchronously, this test changes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRunRecords } from '../../results/index.ts';
import { runExperiment } from '../../run/index.ts';
import { silentLogger } from '../../util/log.ts';
import { webgpuAvailability } from './availability.ts';
import { READ_SYNC_MESSAGE } from './workarounds.ts';

const { reason } = await webgpuAvailability();

let dir: string | undefined;
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(reason !== null)('an experiment on webgpu', () => {
  it('trains and records the baseline on webgpu; the prune cell fails with the synchronous-read BackendError', async () => {
    dir = await mkdtemp(join(tmpdir(), 'prunebench-webgpu-run-'));
    const resultsDir = join(dir, 'results');
    const summary = await runExperiment({ experiment: 'quickstart', preset: 'smoke', backend: 'webgpu', jobs: 1, resultsDir, runDir: join(dir, 'run'), progress: false, logger: silentLogger, print: () => {} });
    const state = new Map(summary.cells.map((c) => [c.id, c]));
    expect(state.get('baseline:vgg-tiny:s1')!.state).toBe('completed');
    const prune = [...state.values()].find((c) => c.id.startsWith('prune:'))!;
    expect(prune.state).toBe('failed');
    expect(prune.error).toContain(READ_SYNC_MESSAGE);
    const records = await loadRunRecords(resultsDir, 'quickstart');
    const baseline = records.find((r) => r.row.protocol === 'baseline')!;
    expect(baseline.row.backend).toBe('webgpu');
    expect(baseline.backendDetail).toMatch(/^vendor .*, architecture /);
    expect(baseline.bnGammas!.length).toBeGreaterThan(0);
    expect(baseline.cost!.imagesPerSecBatch64).toBeGreaterThan(0);
  });
});
