import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { writeFileAtomic } from '../util/fs.ts';
import { readRunRecords } from './read.ts';
import { RUN_COLUMNS, UNPRUNED_PROTOCOLS, type RunRecord, type RunRow } from './columns.ts';

/**
 * Results are written crash-safe in two layers. Each finished run writes its JSON record
 * (`<resultsDir>/<experiment>/runs/<run_id>.json`) atomically; that record is the source of truth.
 * The CSV (`<resultsDir>/<experiment>.csv`) is then rebuilt from all records and swapped in with
 * a rename, so a crash mid-write never leaves a half row, and concurrent cells (local jobs,
 * Slurm array tasks) never interleave their writes.
 */
export function resultsCsvPath(resultsDir: string, experiment: string): string {
  return join(resultsDir, `${experiment}.csv`);
}

export function runRecordsDir(resultsDir: string, experiment: string): string {
  return join(resultsDir, experiment, 'runs');
}

/** File-name-safe form of a run id (cell ids contain ':' and '/'). */
export function runFileName(runId: string): string {
  return `${runId.replace(/[^A-Za-z0-9._@-]+/g, '_')}.json`;
}

export function rowsToCsv(rows: RunRow[]): string {
  return stringify(
    rows.map((r) => RUN_COLUMNS.map((c) => r[c] ?? '')),
    { header: true, columns: [...RUN_COLUMNS], cast: { boolean: (v) => (v ? 'true' : 'false'), number: (v) => (Number.isFinite(v) ? String(v) : '') } },
  );
}

/**
 * Writes a run's record; returns its path. A zoo baseline that an earlier run already recorded
 * (same preset, cell and zoo source run: each new run dir serves it again) is not written twice:
 * the path of the earlier record is returned (servedOnce drops such repeats from the CSV anyway).
 */
export async function writeRunRecord(resultsDir: string, record: RunRecord): Promise<string> {
  const experiment = String(record.row.experiment);
  const key = servedKey(record);
  if (key !== null) {
    const earlier = (await loadRunRecords(resultsDir, experiment)).find((r) => servedKey(r) === key);
    if (earlier) return join(runRecordsDir(resultsDir, experiment), runFileName(String(earlier.row.run_id)));
  }
  const path = join(runRecordsDir(resultsDir, experiment), runFileName(String(record.row.run_id)));
  await writeFileAtomic(path, `${JSON.stringify(record)}\n`);
  return path;
}

/** (preset, cell, zoo source run) of an ok zoo-served baseline; null for any other record. */
function servedKey(r: RunRecord): string | null {
  const src = r.baselineSource;
  return src && r.row.status === 'ok' ? `${String(r.row.preset)}\u0000${String(r.row.cell)}\u0000${src.runId}` : null;
}

/** The run records of `experiment` under `resultsDir` (none if it has no runs directory yet). */
export async function loadRunRecords(resultsDir: string, experiment: string): Promise<RunRecord[]> {
  return readRunRecords(runRecordsDir(resultsDir, experiment));
}

/**
 * One row per (preset, cell, config): the latest ok run, else the latest failed one. A cell that
 * failed and then succeeded, or was killed after writing its record and rerun, must not count
 * twice in the statistics over seeds.
 */
export function latestRowPerCell(rows: RunRow[]): RunRow[] {
  const best = new Map<string, RunRow>();
  for (const r of rows) {
    const key = `${String(r.preset)}\u0000${String(r.cell)}\u0000${String(r.config_hash)}`;
    const prev = best.get(key);
    const better = !prev || (r.status === 'ok') > (prev.status === 'ok') || ((r.status === 'ok') === (prev.status === 'ok') && String(r.started_at) > String(prev.started_at));
    if (better) best.set(key, r);
  }
  return [...best.values()];
}

/**
 * A baseline served from the zoo is one trained model however often runs serve it again (each new
 * run dir, or a config whose arms changed, records it anew): keep the first record of each
 * (preset, cell, zoo source run), so the CSV holds it once rather than once per run that served it.
 */
export function servedOnce(records: RunRecord[]): RunRecord[] {
  const seen = new Set<string>();
  const order = [...records].sort((a, b) => String(a.row.started_at).localeCompare(String(b.row.started_at)) || String(a.row.run_id).localeCompare(String(b.row.run_id)));
  const repeats = new Set<RunRecord>();
  for (const r of order) {
    const key = servedKey(r);
    if (key === null) continue;
    if (seen.has(key)) repeats.add(r);
    else seen.add(key);
  }
  return records.filter((r) => !repeats.has(r));
}

/** Rebuild `<experiment>.csv` from the run records (sorted by preset, cell, start time). */
export async function rebuildResultsCsv(resultsDir: string, experiment: string): Promise<{ path: string; rows: number }> {
  const rows = withBudgetColumns(latestRowPerCell(servedOnce(await loadRunRecords(resultsDir, experiment)).map((r) => r.row)));
  rows.sort((a, b) => String(a.preset).localeCompare(String(b.preset)) || String(a.cell).localeCompare(String(b.cell)) || String(a.started_at).localeCompare(String(b.started_at)));
  const path = resultsCsvPath(resultsDir, experiment);
  await writeFileAtomic(path, rowsToCsv(rows));
  return { path, rows: rows.length };
}

const blank = (v: unknown): boolean => v === '' || v === undefined || v === null;

/**
 * The budget columns of rows written before every row of an arm carried them (fine-tune and
 * Scratch rows before 2026-12-07): `achieved` counted from the row's own columns as the prune
 * step counts it (macs_base / macs_effective for a speedup target, params_base /
 * params_effective for compression), and `criterion_seconds` taken from the prune row of the same
 * arm, seed, preset and config. Filled in the CSV only; the run records stay as they were written.
 */
export function withBudgetColumns(rows: RunRow[]): RunRow[] {
  const pruneRows = new Map<string, RunRow>();
  const key = (r: RunRow, cell: string): string => `${String(r.preset)}\u0000${String(r.config_hash)}\u0000${cell}`;
  for (const r of rows) if (r.protocol === 'prune' && r.status === 'ok') pruneRows.set(key(r, String(r.cell)), r);
  return rows.map((r) => {
    if (UNPRUNED_PROTOCOLS.has(String(r.protocol)) || r.status !== 'ok') return r;
    const kind = String(r.target_kind);
    let out = r;
    if (blank(r.achieved) && (kind === 'speedup' || kind === 'compression')) {
      const [base, effective] = kind === 'speedup' ? [Number(r.macs_base), Number(r.macs_effective)] : [Number(r.params_base), Number(r.params_effective)];
      if (base > 0 && effective > 0) out = { ...out, achieved: +(base / effective).toFixed(6) };
    }
    if (blank(r.criterion_seconds) && r.protocol !== 'prune') {
      const prune = pruneRows.get(key(r, String(r.cell).replace(/^[^:]+:/, 'prune:')));
      if (prune && !blank(prune.criterion_seconds)) out = { ...out, criterion_seconds: prune.criterion_seconds };
    }
    return out;
  });
}
