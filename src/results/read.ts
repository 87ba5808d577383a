/**
 * Reading results: `results/<experiment>.csv` (one RunRow per cell run, columns RUN_COLUMNS) and
 * the per-run JSON records in `results/<experiment>/runs/`. Values are checked against the
 * documented column set so a renamed column or a typo in a protocol fails loudly here, with the
 * file and row named, instead of as a silently empty figure.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { DatasetError, fsErrorReason } from '../util/errors.ts';
import { LATENCY_RUNTIMES, PROTOCOLS, RUN_COLUMNS, runtimeColumns, RUN_STATUSES, type RunColumn, type RunRecord, type RunRow } from './columns.ts';

/** Columns whose values are numbers ('' where not applicable). */
export const NUMERIC_COLUMNS: ReadonlySet<RunColumn> = new Set<RunColumn>([
  'train_subset',
  'test_images',
  'prune_ratio',
  'target',
  'achieved',
  'criterion_seconds',
  'calibration_batches',
  'seed',
  'epochs_configured',
  'epochs_derived',
  'params',
  'params_without_bn',
  'macs',
  'flops',
  'params_effective',
  'macs_effective',
  'params_base',
  'macs_base',
  'params_reduction_pct',
  'macs_reduction_pct',
  'top1_before_finetune',
  'top1_final',
  'top1_best',
  'best_epoch',
  'wall_time_s',
  'train_images_per_sec',
  'latency_ms_b1',
  'infer_images_per_sec_b64',
  ...LATENCY_RUNTIMES.flatMap((rt) => Object.values(runtimeColumns(rt))),
]);

/**
 * Columns appended to RUN_COLUMNS after results were committed: a CSV written before them lacks
 * them, and they read as '' (unknown or not applicable) there. Any other missing column is an error.
 */
export const LATER_COLUMNS: ReadonlySet<RunColumn> = new Set<RunColumn>(['test_images', 'scope', 'target_kind', 'target', 'achieved', 'criterion_seconds', 'calibration_batches', ...LATENCY_RUNTIMES.flatMap((rt) => Object.values(runtimeColumns(rt)))]);

/** Columns whose values are booleans ('true'/'false'; '1'/'0' accepted). */
export const BOOLEAN_COLUMNS: ReadonlySet<RunColumn> = new Set<RunColumn>(['git_dirty']);

const PROTOCOL_SET: ReadonlySet<string> = new Set(PROTOCOLS);
const STATUS_SET: ReadonlySet<string> = new Set(RUN_STATUSES);

/** Parse the text of a results CSV. `source` names the file in error messages. */
export function parseResultsCsv(text: string, source: string): RunRow[] {
  let records: string[][];
  try {
    records = parse(text, { skip_empty_lines: true, relax_column_count: false, bom: true }) as string[][];
  } catch (e) {
    throw new DatasetError(`${source}: not a valid CSV file: ${(e as Error).message}`, source);
  }
  if (records.length === 0) throw new DatasetError(`${source}: empty file, expected a header row with the RUN_COLUMNS`, source);
  const header = records[0]!.map((h) => h.trim());
  const index = new Map<string, number>();
  header.forEach((h, i) => index.set(h, i));
  for (const column of RUN_COLUMNS) {
    if (!index.has(column) && !LATER_COLUMNS.has(column)) {
      throw new DatasetError(
        `${source}: missing column "${column}" (a results CSV has the columns RUN_COLUMNS of src/results/columns.ts; header has ${header.length} columns)`,
        source,
      );
    }
  }
  const rows: RunRow[] = [];
  for (let r = 1; r < records.length; r++) {
    const record = records[r]!;
    const line = r + 1; // 1-based, header is line 1
    const runId = record[index.get('run_id')!] ?? '';
    const where = `${source}: row ${r} (line ${line}, run_id "${runId}")`;
    const row = {} as RunRow;
    for (const column of RUN_COLUMNS) {
      const at = index.get(column);
      const raw = at === undefined ? '' : (record[at] ?? '');
      row[column] = convertCell(column, raw, where);
    }
    const protocol = String(row.protocol);
    if (!PROTOCOL_SET.has(protocol)) {
      throw new DatasetError(`${where}: unknown protocol "${protocol}"; expected one of ${PROTOCOLS.join(', ')}`, source);
    }
    const status = String(row.status);
    if (!STATUS_SET.has(status)) {
      throw new DatasetError(`${where}: unknown status "${status}"; expected one of ${RUN_STATUSES.join(', ')}`, source);
    }
    rows.push(row);
  }
  return rows;
}

function convertCell(column: RunColumn, raw: string, where: string): string | number | boolean {
  const value = raw.trim();
  if (NUMERIC_COLUMNS.has(column)) {
    if (value === '') return '';
    const n = Number(value);
    if (!Number.isFinite(n)) throw new DatasetError(`${where}: column "${column}" expected a number, got "${raw}"`);
    return n;
  }
  if (BOOLEAN_COLUMNS.has(column)) {
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0' || value === '') return false;
    throw new DatasetError(`${where}: column "${column}" expected true or false, got "${raw}"`);
  }
  return raw;
}

/** Read `results/<experiment>.csv`. Throws DatasetError naming the file for a missing file or column. */
export function readResultsCsv(path: string): RunRow[] {
  if (!existsSync(path)) throw new DatasetError(`${path}: results file not found`, path);
  return parseResultsCsv(readFileSync(path, 'utf8'), path);
}

/**
 * Read every `*.json` RunRecord in `dir` (e.g. `results/<experiment>/runs`), sorted by file name.
 * A missing directory gives no records (an experiment may have written only its CSV).
 */
export function readRunRecords(dir: string): RunRecord[] {
  return readRunRecordFiles(dir).map((f) => f.record);
}

/** readRunRecords with each record's file name and text (for copying records unchanged). */
export function readRunRecordFiles(dir: string): { name: string; text: string; record: RunRecord }[] {
  if (!existsSync(dir)) return [];
  if (!statSync(dir).isDirectory()) throw new DatasetError(`${dir}: expected a directory of run JSON files`, dir);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  return files.map((name) => {
    const file = join(dir, name);
    // `merge`, `collect` and every run rebuild the CSV from these: name the file and what to do.
    const unreadable = (why: string): DatasetError => new DatasetError(`${file}: not a readable run record (${why}); move it away and rerun its cell`, file);
    let text: string;
    let value: unknown;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw unreadable(fsErrorReason(e));
    }
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw unreadable(`not valid JSON: ${(e as Error).message}`);
    }
    if (typeof value !== 'object' || value === null || !('row' in value) || typeof value.row !== 'object') {
      throw unreadable('expected an object with a "row" field');
    }
    const record = value as RunRecord;
    if (!Array.isArray(record.curve)) {
      throw unreadable('expected a "curve" array');
    }
    return { name, text, record };
  });
}
