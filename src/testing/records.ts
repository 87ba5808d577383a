/**
 * Run-record fixtures for collect's tests: a main results folder and a sweep's that share history,
 * the sweep holding new records, repeats and a record the main folder moved to superseded/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { supersededDir } from '../results/collect.ts';
import { RUN_COLUMNS, type RunRecord, type RunRow } from '../results/columns.ts';
import { rebuildResultsCsv, runFileName, runRecordsDir } from '../results/write.ts';

export const EXP = 'exp';

export function record(cell: string, startedAt: string, over: Partial<RunRow> = {}, extra: Partial<RunRecord> = {}): RunRecord {
  const blank = Object.fromEntries(RUN_COLUMNS.map((c) => [c, ''])) as RunRow;
  const row: RunRow = {
    ...blank, run_id: `${cell}@${startedAt}`, experiment: EXP, preset: 'cpu', cell, protocol: cell.split(':')[0]!, model: 'resnet56', seed: Number(cell.slice(-1)),
    top1_final: 80, params_effective: 1000, macs_effective: 5000, config_hash: 'h1', status: 'ok', started_at: startedAt, git_dirty: false, ...over,
  };
  return { row, config: {}, curve: [], ...extra };
}

export function put(resultsDir: string, r: RunRecord, sub: 'runs' | 'superseded' = 'runs'): string {
  const dir = sub === 'runs' ? runRecordsDir(resultsDir, EXP) : supersededDir(resultsDir, EXP);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, runFileName(String(r.row.run_id)));
  writeFileSync(file, `${JSON.stringify(r)}\n`);
  return file;
}

/** A main results folder and a sweep's, sharing history, the sweep with new records. */
export async function collectFixture(tmp: string, name: string): Promise<{ main: string; sweep: string; fresh: RunRecord[] }> {
  const main = join(tmp, name, 'main');
  const sweep = join(tmp, name, 'sweep');
  const trained = record('baseline:resnet56:s1', '2026-01-01T00:00:00Z', { top1_final: 85 });
  const prune = record('prune:a:s1', '2026-01-01T01:00:00Z', { top1_final: 20 });
  const replaced = record('fine-tune:old:s1', '2026-01-01T02:00:00Z');
  for (const r of [trained, prune]) {
    put(main, r);
    put(sweep, r);
  }
  put(main, replaced, 'superseded');
  put(sweep, replaced);
  // The sweep's own: a fine-tune (new), a re-run prune with the same figures (a repeat), a served
  // copy of the trained baseline under a new config hash (a repeat), a second seed's prune (new).
  const fresh = [record('fine-tune:a:s1', '2026-01-01T03:00:00Z', { top1_final: 79.5 }), record('prune:a:s2', '2026-01-01T04:00:00Z', { top1_final: 21 })];
  for (const r of fresh) put(sweep, r);
  put(sweep, record('prune:a:s1', '2026-01-02T00:00:00Z', { top1_final: 20 }));
  put(sweep, record('baseline:resnet56:s1', '2026-01-02T00:00:01Z', { top1_final: 85, config_hash: 'h2' }, {
    baselineSource: { zoo: 'zoo', entry: 'e', baselineHash: 'b', experiment: EXP, cell: 'baseline:resnet56:s1', runId: String(trained.row.run_id), startedAt: '', finishedAt: '' },
  }));
  await rebuildResultsCsv(main, EXP);
  return { main, sweep, fresh };
}
