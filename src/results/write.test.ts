import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_COLUMNS, type RunRecord, type RunRow } from './columns.ts';
import { DatasetError } from '../util/errors.ts';
import { readResultsCsv } from './read.ts';
import { latestRowPerCell, rebuildResultsCsv, servedOnce, withBudgetColumns, writeRunRecord } from './write.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prunebench-results-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

function row(cell: string, seed: number, acc: number): RunRow {
  const r = Object.fromEntries(RUN_COLUMNS.map((c) => [c, ''])) as RunRow;
  return { ...r, run_id: `${cell}:s${seed}@2026-01-01T00:00:0${seed}Z`, experiment: 'exp', preset: 'smoke', cell: `${cell}:s${seed}`, protocol: 'fine-tune', model: 'vgg16', method: 'l1', seed, top1_final: acc, top1_best: acc + 0.5, status: 'ok', git_dirty: false, error: 'a "quoted", comma\nand newline' };
}

describe('results', () => {
  it('round-trips rows through run records and the rebuilt CSV, quoting included', async () => {
    const records: RunRecord[] = [row('fine-tune:a', 2, 91.25), row('fine-tune:a', 1, 90.5)].map((r) => ({ row: r, config: {}, curve: [] }));
    for (const r of records) await writeRunRecord(dir, r);
    const { path, rows } = await rebuildResultsCsv(dir, 'exp');
    expect(rows).toBe(2);
    const back = readResultsCsv(path);
    expect(back.map((r) => r.seed)).toEqual([1, 2]);
    expect(back[0]!.top1_final).toBe(90.5);
    expect(back[1]!.error).toBe('a "quoted", comma\nand newline');
    expect(back[0]!.git_dirty).toBe(false);
    // No temporary files are left behind.
    expect((await readdir(dir)).filter((f) => f.includes('.tmp'))).toEqual([]);
  });
});

describe('one row per cell', () => {
  it('keeps the latest ok run of a cell, else its latest failure', () => {
    const a = { ...row('fine-tune:a', 1, 90), started_at: '2026-01-01T00:00:01Z', status: 'failed' };
    const b = { ...row('fine-tune:a', 1, 91), started_at: '2026-01-01T00:00:02Z' };
    const c = { ...row('fine-tune:a', 1, 92), started_at: '2026-01-01T00:00:03Z' };
    const d = { ...row('fine-tune:b', 1, 0), started_at: '2026-01-01T00:00:04Z', status: 'failed', error: 'old' };
    const e = { ...row('fine-tune:b', 1, 0), started_at: '2026-01-01T00:00:05Z', status: 'failed', error: 'new' };
    const kept = latestRowPerCell([b, a, c, e, d]);
    expect(kept.map((r) => [r.cell, r.top1_final, r.error === 'new' || r.status === 'ok'])).toEqual([
      ['fine-tune:a:s1', 92, true],
      ['fine-tune:b:s1', 0, true],
    ]);
  });
});

describe('a zoo baseline served again', () => {
  it('is one row, not one per run (or config) that served it; trained baselines and other zoo runs stay', () => {
    const source = { zoo: 'zoo', entry: 'e1', baselineHash: 'h', experiment: 'exp', cell: 'baseline:m:s1', runId: 'baseline:m:s1@2026-01-01T00:00:00Z', startedAt: '', finishedAt: '' };
    const served = (at: string, hash: string, runId = source.runId): RunRecord => ({
      row: { ...row('baseline:m', 1, 90), protocol: 'baseline', run_id: `baseline:m:s1@${at}`, started_at: at, config_hash: hash },
      config: {},
      curve: [],
      baselineSource: { ...source, runId },
    });
    const first = served('2026-01-02T00:00:00Z', 'cfgA');
    const again = served('2026-01-03T00:00:00Z', 'cfgA');
    const otherConfig = served('2026-01-04T00:00:00Z', 'cfgB');
    const otherZooRun = served('2026-01-05T00:00:00Z', 'cfgB', 'baseline:m:s1@2026-01-01T09:00:00Z');
    const trained: RunRecord = { row: { ...row('baseline:m', 2, 91), protocol: 'baseline' }, config: {}, curve: [] };
    expect(servedOnce([otherConfig, again, trained, first, otherZooRun])).toEqual([trained, first, otherZooRun]);
    // Without the rule, the two config hashes would leave two rows of one model in the CSV.
    expect(latestRowPerCell([first, again, otherConfig].map((r) => r.row))).toHaveLength(2);
    expect(latestRowPerCell(servedOnce([first, again, otherConfig]).map((r) => r.row))).toHaveLength(1);
  });
});

describe('writing a zoo baseline served again', () => {
  it('keeps the first record and writes no second file; a trained baseline of the same cell is still written', async () => {
    const d = await mkdtemp(join(tmpdir(), 'prunebench-served-'));
    try {
      const source = { zoo: 'zoo', entry: 'e1', baselineHash: 'h', experiment: 'exp', cell: 'baseline:m:s1', runId: 'baseline:m:s1@2026-01-01T00:00:00Z', startedAt: '', finishedAt: '' };
      const served = (at: string, runId = source.runId): RunRecord => ({
        row: { ...row('baseline:m', 1, 90), protocol: 'baseline', run_id: `baseline:m:s1@${at}`, started_at: at },
        config: {},
        curve: [],
        baselineSource: { ...source, runId },
      });
      const firstPath = await writeRunRecord(d, served('2026-01-02T00:00:00Z'));
      const runsDir = join(d, 'exp', 'runs');
      expect(await readdir(runsDir)).toHaveLength(1);
      expect(await writeRunRecord(d, served('2026-01-03T00:00:00Z'))).toBe(firstPath);
      expect(await readdir(runsDir)).toHaveLength(1);
      // another zoo source run of the cell, and a failed serving, are records of their own
      await writeRunRecord(d, served('2026-01-04T00:00:00Z', 'baseline:m:s1@2026-01-01T09:00:00Z'));
      const failed = served('2026-01-05T00:00:00Z');
      await writeRunRecord(d, { ...failed, row: { ...failed.row, status: 'failed' } });
      expect(await readdir(runsDir)).toHaveLength(3);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});

describe('budget columns of rows written before every row carried them', () => {
  const budgetRow = (protocol: string, over: Partial<RunRow> = {}): RunRow => ({
    ...row(`${protocol}:vgg16-l1-global-x2`, 1, 80), protocol, config_hash: 'h1', target_kind: 'speedup', target: 2,
    macs_base: 300, macs_effective: 150.5, params_base: 1000, params_effective: 400, ...over,
  });
  const prune = budgetRow('prune', { achieved: 1.993355, criterion_seconds: 0.25 });

  it("a fine-tune row gets achieved from its own counts and criterion_seconds from its arm's prune row", () => {
    const [, ft] = withBudgetColumns([prune, budgetRow('fine-tune')]);
    expect(ft!.achieved).toBe(+(300 / 150.5).toFixed(6));
    expect(ft!.criterion_seconds).toBe(0.25);
    // A compression target counts parameters.
    const [, c] = withBudgetColumns([prune, budgetRow('fine-tune', { target_kind: 'compression' })]);
    expect(c!.achieved).toBe(2.5);
  });

  it('keeps values a row has, and fills nothing for the unpruned model, a failed row, or a prune row of another config', () => {
    const [, kept] = withBudgetColumns([prune, budgetRow('fine-tune', { achieved: 1.9, criterion_seconds: 9 })]);
    expect([kept!.achieved, kept!.criterion_seconds]).toEqual([1.9, 9]);
    const [, base] = withBudgetColumns([prune, budgetRow('baseline')]);
    expect([base!.achieved, base!.criterion_seconds]).toEqual(['', '']);
    const [, failed] = withBudgetColumns([prune, budgetRow('fine-tune', { status: 'failed' })]);
    expect(failed!.achieved).toBe('');
    const [, other] = withBudgetColumns([prune, budgetRow('fine-tune', { config_hash: 'h2' })]);
    expect(other!.criterion_seconds).toBe('');
  });

  it('the rebuilt CSV holds the filled values; the run record is left as written', async () => {
    const results = join(dir, 'budget');
    await writeRunRecord(results, { row: prune, config: {}, curve: [] });
    await writeRunRecord(results, { row: budgetRow('fine-tune'), config: {}, curve: [] });
    const { path } = await rebuildResultsCsv(results, 'exp');
    const ft = readResultsCsv(path).find((r) => r.protocol === 'fine-tune')!;
    expect([ft.achieved, ft.criterion_seconds]).toEqual([+(300 / 150.5).toFixed(6), 0.25]);
    const { readFile } = await import('node:fs/promises');
    const files = await readdir(join(results, 'exp', 'runs'));
    const record = JSON.parse(await readFile(join(results, 'exp', 'runs', files.find((f) => f.startsWith('fine-tune'))!), 'utf8')) as RunRecord;
    expect(record.row.achieved).toBe('');
  });
});

describe('a broken run record', () => {
  it('is a DatasetError naming the file, not a JSON parser stack', async () => {
    const results = join(dir, 'broken');
    await writeRunRecord(results, { row: row('a', 1, 50), config: {}, curve: [] });
    const runs = join(results, 'exp', 'runs');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(runs, 'zz-truncated.json'), '{"row": {');
    const e = await rebuildResultsCsv(results, 'exp').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DatasetError);
    expect((e as DatasetError).file).toBe(join(runs, 'zz-truncated.json'));
    expect((e as Error).message).toMatch(/zz-truncated\.json: not a readable run record \(.*JSON.*\); move it away and rerun its cell$/);
  });
});
