/**
 * `retime` end to end on the granularity smoke preset: the prune cells of three granularities
 * (weight masks, compacted channels, removed blocks) run in this process, then their pruned
 * models are rebuilt from the run records and timed again.
 */
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRetimed, retimedToCsv, retimedLatencyPath, runRecordsDir, type RetimedLatency } from '../results/index.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import { runExperiment } from './local.ts';
import { retimeExperiment } from './retime.ts';

const EXPERIMENT = 'granularity';
const tmp = mkdtempSync(join(tmpdir(), 'prunebench-retime-'));
const results = join(tmp, 'results');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const log: string[] = [];
const logger: Logger = { info: (m) => log.push(m), warn: (m) => log.push(`warning: ${m}`) };
const retime = (over: { force?: boolean } = {}) => retimeExperiment({ experiment: EXPERIMENT, resultsDir: results, runtimes: ['wasm'], repeats: 3, logger, ...over });

beforeAll(async () => {
  const s = await runExperiment({ experiment: EXPERIMENT, preset: 'smoke', only: ['prune:*'], jobs: 1, progress: false, resultsDir: results, runDir: join(tmp, 'run'), logger: silentLogger, print: () => {} });
  expect(s.cells.filter((c) => c.state !== 'completed').map((c) => `${c.id}: ${c.error}`)).toEqual([]);
}, 240_000);

describe('retime (granularity smoke: weight, channel and layer models)', () => {
  let first: RetimedLatency[];
  it('times each pruned model once per runtime, rebuilt in the structure it ran in, swapped order, and the row counts match the records', async () => {
    const s = await retime();
    first = readRetimed(results, EXPERIMENT);
    expect(s).toMatchObject({ models: 3, timed: 3, skipped: 0, rows: 3 });
    expect(first.map((r) => [r.pruned_model, r.structure, r.runtime]).sort()).toEqual([
      ['resnet56-channel-l1-global-c2:s1', 'compacted', 'wasm'],
      ['resnet56-layer-block-c2:s1', 'blocks removed', 'wasm'],
      ['resnet56-weight-lamp-c2:s1', 'masked (dense)', 'wasm'],
    ]);
    for (const r of first) {
      expect(r).toMatchObject({ experiment: EXPERIMENT, preset: 'smoke', model: 'resnet56', seed: 1, repeats: 3, pair_order: 'swapped' });
      expect(r.source_run_id).toMatch(new RegExp(`^prune:${r.pruned_model.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}@`));
      expect(r.latency_ms_b1).toBeGreaterThan(0);
      expect(r.base_latency_ms_b1).toBeGreaterThan(0);
      expect(r.infer_images_per_sec_b64).toBeGreaterThan(0);
    }
    expect(log.filter((l) => /^\[\d\/3\] /.test(l))).toHaveLength(3);
  }, 240_000);

  it('resumes: a second call times nothing; a row timed in a fixed order (biased) is timed again, alone', async () => {
    const again = await retime();
    expect(again).toMatchObject({ models: 3, timed: 0, skipped: 3, rows: 3 });
    expect(readRetimed(results, EXPERIMENT)).toEqual(first);
    const fixed = first.map((r) => (r.pruned_model === 'resnet56-layer-block-c2:s1' ? { ...r, pair_order: 'fixed' as const } : r));
    writeFileSync(retimedLatencyPath(results, EXPERIMENT), retimedToCsv(fixed));
    const s = await retime();
    expect(s).toMatchObject({ timed: 1, skipped: 2, rows: 3 });
    const now = readRetimed(results, EXPERIMENT);
    const block = now.find((r) => r.pruned_model === 'resnet56-layer-block-c2:s1')!;
    expect(block.pair_order).toBe('swapped');
    expect(block.measured_at > first.find((r) => r.pruned_model === block.pruned_model)!.measured_at).toBe(true);
    // the other two rows are untouched
    expect(now.filter((r) => r !== block).sort((a, b) => a.pruned_model.localeCompare(b.pruned_model))).toEqual(
      first.filter((r) => r.pruned_model !== block.pruned_model).sort((a, b) => a.pruned_model.localeCompare(b.pruned_model)),
    );
  }, 240_000);

  it('drops the rows of a pruned model whose records moved out of runs/ (a replaced arm), and --force times the rest again', async () => {
    const runs = runRecordsDir(results, EXPERIMENT);
    const aside = join(tmp, 'superseded');
    mkdirSync(aside);
    const moved = readdirSync(runs).filter((f) => f.includes('resnet56-weight-lamp-c2'));
    expect(moved.length).toBeGreaterThan(0);
    for (const f of moved) renameSync(join(runs, f), join(aside, f));
    const before = readRetimed(results, EXPERIMENT);
    const s = await retime({ force: true });
    expect(s).toMatchObject({ models: 2, timed: 2, skipped: 0, rows: 2 });
    for (const r of readRetimed(results, EXPERIMENT)) expect(r.measured_at > before.find((b) => b.pruned_model === r.pruned_model)!.measured_at).toBe(true);
    expect(readRetimed(results, EXPERIMENT).map((r) => r.pruned_model).sort()).toEqual(['resnet56-channel-l1-global-c2:s1', 'resnet56-layer-block-c2:s1']);
    expect(log.some((l) => /dropped 1 re-timed rows of 1 pruned models .*resnet56-weight-lamp-c2:s1/.test(l))).toBe(true);
  }, 240_000);
});
