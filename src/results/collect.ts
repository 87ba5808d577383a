/**
 * Collecting run records from another results folder: a sweep's git worktree, another machine's
 * checkout, a cluster's scratch space. The records are the source of truth (see write.ts), so
 * collecting copies the ones this folder lacks and rebuilds the CSV from all of them.
 *
 * Not copied: a record whose file this folder already has (in runs/ or moved aside to
 * superseded/, where a replaced arm's records go), and a record that repeats a cell already
 * recorded here with the same figures (a prune cell or zoo baseline that a fresh run dir ran
 * again to get its output): it adds no sample, only a duplicate to explain.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, DatasetError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs.ts';
import type { RunRecord } from './columns.ts';
import { readRunRecordFiles } from './read.ts';
import { rebuildResultsCsv, runFileName, runRecordsDir } from './write.ts';

/** Where an experiment's replaced records are kept for provenance (read by no CSV or report). */
export function supersededDir(resultsDir: string, experiment: string): string {
  return join(resultsDir, experiment, 'superseded');
}

export interface CollectSummary {
  experiment: string;
  /** File names copied, in order. */
  copied: string[];
  /** File names not copied because they repeat a recorded cell's figures. */
  repeats: string[];
  /** Records whose file this folder already had (in runs/ or superseded/). */
  present: number;
  /** The rebuilt CSV (absent on a dry run or when nothing was copied). */
  csv?: { path: string; rows: number };
}

/**
 * The keys under which a record is a sample already held: its cell's figures and, for a baseline
 * served from the zoo, the training run it came from (so a served copy repeats the record of the
 * run that trained it, and other served copies of it, whatever config hash each run had).
 */
function sampleKeys(r: RunRecord): string[] {
  const row = r.row;
  const j = (...xs: unknown[]): string => xs.map((v) => String(v ?? '')).join('\u0000');
  if (r.baselineSource) return [j('served', row.preset, row.cell, r.baselineSource.runId)];
  const keys = [j(row.preset, row.cell, row.config_hash, row.status, row.top1_final, row.params_effective, row.macs_effective)];
  if (row.status === 'ok') keys.push(j('served', row.preset, row.cell, row.run_id));
  return keys;
}

/** This folder's records, each also checked for what collecting relies on: a cell, and the file name its run_id gives. */
function readRecords(dir: string): ReturnType<typeof readRunRecordFiles> {
  const files = readRunRecordFiles(dir);
  for (const { name, record } of files) {
    const file = join(dir, name);
    if (typeof record.row.cell !== 'string' || typeof record.row.run_id !== 'string') throw new DatasetError(`${file}: not a run record (no row with a cell and run_id)`, file);
    if (runFileName(record.row.run_id) !== name) throw new DatasetError(`${file}: its run_id ${record.row.run_id} would be stored as ${runFileName(record.row.run_id)}, not ${name}`, file);
  }
  return files;
}

/**
 * Copies `experiment`'s run records from each of `from` into `resultsDir` (never overwriting a
 * file) and rebuilds its CSV. Every source record is read and checked before anything is written.
 */
export async function collectRunRecords(o: { experiment: string; from: readonly string[]; resultsDir: string; dryRun?: boolean }): Promise<CollectSummary> {
  const to = resolve(o.resultsDir);
  const sources = o.from.map((f) => {
    if (resolve(f) === to) throw new ConfigError(`--from ${f} is the results folder itself (--results-dir ${o.resultsDir}): name the other one`, 'from');
    const dir = runRecordsDir(f, o.experiment);
    if (!existsSync(dir)) throw new ConfigError(`--from ${f}: no run records of ${o.experiment} there (expected ${dir})`, 'from');
    return readRecords(dir);
  });
  const here = readRecords(runRecordsDir(o.resultsDir, o.experiment));
  const names = new Set(here.map((r) => r.name));
  const aside = supersededDir(o.resultsDir, o.experiment);
  if (existsSync(aside)) for (const n of readdirSync(aside)) names.add(n);
  const known = new Set(here.flatMap((r) => sampleKeys(r.record)));
  const summary: CollectSummary = { experiment: o.experiment, copied: [], repeats: [], present: 0 };
  const toCopy: { name: string; text: string }[] = [];
  for (const { name, text, record } of sources.flat()) {
    if (names.has(name)) {
      summary.present++;
      continue;
    }
    const keys = sampleKeys(record);
    names.add(name);
    if (known.has(keys[0]!)) {
      summary.repeats.push(name);
      continue;
    }
    for (const k of keys) known.add(k);
    toCopy.push({ name, text });
    summary.copied.push(name);
  }
  if (o.dryRun || toCopy.length === 0) return summary;
  const dst = runRecordsDir(o.resultsDir, o.experiment);
  for (const { name, text } of toCopy) await writeFileAtomic(join(dst, name), text);
  summary.csv = await rebuildResultsCsv(o.resultsDir, o.experiment);
  return summary;
}
