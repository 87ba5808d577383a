import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../models/index.ts';
import { prunableGroups, slimmingGammaParams } from '../pruning/index.ts';
import { loadRunRecords, type RunRecord } from '../results/index.ts';
import { runExperiment } from '../run/index.ts';
import { silentLogger } from '../util/log.ts';
import { cellDirName } from './steps.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prunebench-prune-cell-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

/** The prune cell of liu2017-slimming's smoke preset (and its sparsity-trained baseline), with extra --set overrides. */
async function pruneCell(name: string, set: string[]): Promise<{ record: RunRecord; runDir: string }> {
  const runDir = join(dir, name);
  const resultsDir = join(dir, name, 'results');
  const summary = await runExperiment({ experiment: 'liu2017-slimming', preset: 'smoke', only: ['prune:*'], set, jobs: 1, resultsDir, runDir, progress: false, logger: silentLogger, print: () => {} });
  expect(summary.cells.map((c) => [c.id, c.state])).toEqual([['sparsity-train:vgg19:s1', 'completed'], ['prune:vgg19-70:s1', 'completed']]);
  const records = await loadRunRecords(resultsDir, 'liu2017-slimming');
  return { record: records.find((r) => r.row.protocol === 'prune')!, runDir };
}

describe('--set arms.0.thresholdRule in an experiment', () => {
  it("reference prunes floor(0.7 x channels) + 1 of the sparsity-trained gammas, and the prune cell's record says which rule", async () => {
    const { record, runDir } = await pruneCell('reference', ['arms.0.thresholdRule=reference']);
    expect(record.prune).toMatchObject({ thresholdRule: 'reference' });
    expect((record.config as { arms: { thresholdRule?: string }[] }).arms[0]!.thresholdRule).toBe('reference');
    // The trained gammas, read back from the baseline's artifact: count what the rule must prune.
    const trained = await loadModel(join(runDir, 'artifacts', cellDirName('sparsity-train:vgg19:s1'), 'trained'));
    try {
      const gammas = slimmingGammaParams(trained).flatMap((n) => Array.from(trained.param(n).dataSync()).map(Math.abs));
      const sorted = Float32Array.from(gammas).sort();
      const threshold = sorted[Math.floor(sorted.length * 0.7)]!;
      expect(record.prune!.threshold).toBe(threshold);
      const plan = record.keepPlan as { groups: Record<string, number[]> };
      const kept = Object.values(plan.groups).reduce((n, k) => n + k.length, 0);
      const guarded = record.guardedLayers ?? [];
      // int(n x 0.7) + 1 channels are at or below the value at that index (more only on ties).
      const atOrBelow = gammas.filter((g) => Math.fround(g) <= threshold).length;
      expect(atOrBelow).toBeGreaterThanOrEqual(Math.floor(sorted.length * 0.7) + 1);
      // The minimum-channels guard gives a layer it would empty its largest channel back.
      if (guarded.length === 0) expect(sorted.length - kept).toBe(atOrBelow);
      else expect(sorted.length - kept).toBe(atOrBelow - guarded.length);
      expect(prunableGroups(trained.graph).reduce((n, g) => n + g.channels, 0)).toBe(sorted.length);
    } finally {
      trained.dispose();
    }
  });

  it('without the override the rule is floor, and the record says so', async () => {
    const { record } = await pruneCell('default', []);
    expect(record.prune).toMatchObject({ thresholdRule: 'floor' });
    expect((record.config as { arms: { thresholdRule?: string }[] }).arms[0]!.thresholdRule).toBeUndefined();
  });
});

describe('a prune cell that removes nothing', () => {
  it('fails with the reason (a minimum-channels guard keeping every channel); its dependants are not run, and Scratch-E/B refuse for the same reason', async () => {
    const resultsDir = join(dir, 'noop', 'results');
    const summary = await runExperiment({
      experiment: 'quickstart',
      preset: 'smoke',
      set: ['arms.0.minChannels=1000'],
      jobs: 1,
      resultsDir,
      runDir: join(dir, 'noop'),
      progress: false,
      logger: silentLogger,
      print: () => {},
    });
    const state = new Map(summary.cells.map((c) => [c.id, c]));
    expect(state.get('baseline:vgg-tiny:s1')!.state).toBe('completed');
    const prune = state.get('prune:vgg-tiny-l1-30:s1')!;
    expect(prune.state).toBe('failed');
    const why = 'Arm vgg-tiny-l1-30: l1 ratio 0.3 removes nothing from vgg-tiny (width x0.5): every layer is too narrow for the ratio to round to a removal, or the minimum-channels guard (1000) kept it whole';
    expect(prune.error).toBe(why);
    const fineTune = state.get('fine-tune:vgg-tiny-l1-30:s1')!;
    expect([fineTune.state, fineTune.error]).toEqual(['failed', 'dependency prune:vgg-tiny-l1-30:s1 failed']);
    // An L1 ratio fixes the architecture before training, so Scratch-E/B do not wait for the prune
    // cell (cells.ts); they must not train the unpruned network instead.
    const scratch = summary.cells.filter((x) => x.id.startsWith('scratch'));
    expect(scratch).toHaveLength(2);
    for (const c of scratch) expect([c.id, c.state, c.error]).toEqual([c.id, 'failed', why]);
  });
});

describe('the local executor', () => {
  it('refuses jobs < 1 before writing anything', async () => {
    await expect(runExperiment({ experiment: 'quickstart', preset: 'smoke', jobs: 0, resultsDir: join(dir, 'j0', 'results'), runDir: join(dir, 'j0'), progress: false, logger: silentLogger, print: () => {} })).rejects.toThrow(
      '--jobs expects a positive integer, got 0',
    );
    expect(existsSync(join(dir, 'j0'))).toBe(false);
  });
});

describe('scope and exact budgets in a prune cell', () => {
  it('--set arms.0.scope=global, arms.0.target=compression:1.5: the row carries scope, target, achieved (= params_base / params_effective) and criterion_seconds', async () => {
    const resultsDir = join(dir, 'budget', 'results');
    const summary = await runExperiment({
      experiment: 'quickstart',
      preset: 'smoke',
      only: ['prune:*'],
      set: ['arms.0.scope=global', 'arms.0.pruneRatio=0', 'arms.0.target=compression:1.5'],
      jobs: 1,
      resultsDir,
      runDir: join(dir, 'budget'),
      progress: false,
      logger: silentLogger,
      print: () => {},
    });
    expect(summary.cells.every((c) => c.state === 'completed')).toBe(true);
    const records = await loadRunRecords(resultsDir, 'quickstart');
    const prune = records.find((r) => r.row.protocol === 'prune')!;
    const base = records.find((r) => r.row.protocol === 'baseline')!;
    expect(prune.row).toMatchObject({ scope: 'global', target_kind: 'compression', target: 1.5, calibration_batches: 0 });
    expect(typeof prune.row.criterion_seconds).toBe('number');
    expect(prune.row.criterion_seconds as number).toBeGreaterThanOrEqual(0);
    // Achieved, recomputed from the row's own counts.
    const achieved = (prune.row.params_base as number) / (prune.row.params_effective as number);
    expect(prune.row.achieved as number).toBeCloseTo(achieved, 5);
    expect(prune.prune!.budget).toMatchObject({ kind: 'compression', target: 1.5 });
    const status = Math.abs(achieved / 1.5 - 1) <= 0.01 ? 'exact' : 'nearest';
    expect(prune.prune!.budget!.status).toBe(status);
    // The unpruned baseline has no scope or budget.
    expect(base.row).toMatchObject({ scope: 'none', target_kind: '', target: '', achieved: '', criterion_seconds: '' });
  });
});
