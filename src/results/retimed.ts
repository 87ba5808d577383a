/**
 * `results/<experiment>/latency-retimed.csv`: the pruned models of an experiment timed again after
 * their cells ran (`prunebench retime`), one row per pruned model and runtime.
 *
 * A cell times its model right after training, while the sweep's other cells train on the other
 * cores: on a small machine that contention moves batch-1 latencies by up to 2x either way. A
 * re-timing pass on an otherwise idle machine rebuilds each pruned architecture from its run record
 * and times it against the unpruned model again, alternately, with more repeats. The report uses
 * these rows in place of the cells' own measurements where they exist.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { DatasetError } from '../util/errors.ts';
import { LATENCY_RUNTIMES, type LatencyRuntime } from './columns.ts';

export const RETIMED_LATENCY_FILE = 'latency-retimed.csv';

export function retimedLatencyPath(resultsDir: string, experiment: string): string {
  return join(resultsDir, experiment, RETIMED_LATENCY_FILE);
}

/** How the re-timed model ran: compacted (smaller tensors), with blocks removed, or masked and dense. */
export const RETIMED_STRUCTURES = ['compacted', 'blocks removed', 'masked (dense)'] as const;
export type RetimedStructure = (typeof RETIMED_STRUCTURES)[number];

export const RETIMED_COLUMNS = [
  'experiment',
  'preset',
  /** The cell without its protocol (`resnet56-channel-l1-global-c2:s1`): prune and fine-tune cells share it. */
  'pruned_model',
  'model',
  'seed',
  'structure',
  'runtime',
  'latency_ms_b1',
  'base_latency_ms_b1',
  'infer_images_per_sec_b64',
  'base_infer_images_per_sec_b64',
  /** Timed batch-1 calls per model (batch 64 gets a third, at least 3), after warm-up. */
  'repeats',
  /** The runtime as it ran (onednn: version, ISA, threads). */
  'runtime_detail',
  /** The machine's 1-minute load average just before the model was timed: about 1 is the re-timing alone, more is other processes. */
  'loadavg_1m',
  'source_run_id',
  'git_commit',
  'measured_at',
  /**
   * 'swapped': the pruned and the unpruned model took turns going first (pairOrder); 'fixed': the
   * pruned model always went first, which biased onednn's batch-1 latency against it by up to
   * ~13%. Files written before this column existed read as 'fixed'; `retime` re-times such rows.
   */
  'pair_order',
] as const;
export type RetimedColumn = (typeof RETIMED_COLUMNS)[number];

export interface RetimedLatency {
  experiment: string;
  preset: string;
  pruned_model: string;
  model: string;
  seed: number;
  structure: RetimedStructure;
  runtime: LatencyRuntime;
  latency_ms_b1: number;
  base_latency_ms_b1: number;
  infer_images_per_sec_b64: number;
  base_infer_images_per_sec_b64: number;
  repeats: number;
  runtime_detail: string;
  loadavg_1m: number;
  source_run_id: string;
  git_commit: string;
  measured_at: string;
  pair_order: PairOrder;
}

export const PAIR_ORDERS = ['swapped', 'fixed'] as const;
export type PairOrder = (typeof PAIR_ORDERS)[number];

const NUMERIC: ReadonlySet<RetimedColumn> = new Set<RetimedColumn>(['seed', 'latency_ms_b1', 'base_latency_ms_b1', 'infer_images_per_sec_b64', 'base_infer_images_per_sec_b64', 'repeats', 'loadavg_1m']);

/** Protocols whose rows time the pruned model of their cell (prune and fine-tune share one architecture). */
export const RETIMED_PROTOCOLS: ReadonlySet<string> = new Set(['prune', 'fine-tune']);

/** The cell's pruned model: its id without the protocol (`fine-tune:a:s1` and `prune:a:s1` -> `a:s1`). */
export function prunedModelKey(cell: string): string | null {
  const i = cell.indexOf(':');
  return i > 0 && i < cell.length - 1 ? cell.slice(i + 1) : null;
}

/** Rows in a stable order (pruned model, then runtime), so a re-run's diff shows what changed. */
export function retimedToCsv(rows: RetimedLatency[]): string {
  const order = (r: RetimedLatency): string => `${r.preset}\u0000${r.pruned_model}\u0000${LATENCY_RUNTIMES.indexOf(r.runtime)}`;
  const sorted = [...rows].sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  return stringify(sorted, { header: true, columns: [...RETIMED_COLUMNS] });
}

export function parseRetimedCsv(text: string, source: string): RetimedLatency[] {
  let records: Record<string, string>[];
  try {
    records = parse(text, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
  } catch (e) {
    throw new DatasetError(`${source}: not a valid CSV: ${(e as Error).message}`, source);
  }
  return records.map((rec, i) => {
    const line = i + 2;
    const out: Record<string, string | number> = {};
    for (const c of RETIMED_COLUMNS) {
      // Before pair_order existed every row was timed in a fixed order.
      const v = c === 'pair_order' ? (rec[c] ?? 'fixed') : rec[c];
      if (v === undefined) throw new DatasetError(`${source}: column "${c}" is missing (expected the columns ${RETIMED_COLUMNS.join(', ')})`, source);
      if (NUMERIC.has(c)) {
        const n = Number(v);
        if (v === '' || !Number.isFinite(n)) throw new DatasetError(`${source}:${line}: ${c} must be a number, got "${v}"`, source);
        out[c] = n;
      } else out[c] = v;
    }
    if (!(LATENCY_RUNTIMES as readonly string[]).includes(String(out.runtime))) {
      throw new DatasetError(`${source}:${line}: runtime must be one of ${LATENCY_RUNTIMES.join(', ')}, got "${String(out.runtime)}"`, source);
    }
    if (!(RETIMED_STRUCTURES as readonly string[]).includes(String(out.structure))) {
      throw new DatasetError(`${source}:${line}: structure must be one of ${RETIMED_STRUCTURES.join(', ')}, got "${String(out.structure)}"`, source);
    }
    if (!(PAIR_ORDERS as readonly string[]).includes(String(out.pair_order))) {
      throw new DatasetError(`${source}:${line}: pair_order must be one of ${PAIR_ORDERS.join(', ')}, got "${String(out.pair_order)}"`, source);
    }
    if (!(Number(out.latency_ms_b1) > 0 && Number(out.base_latency_ms_b1) > 0)) throw new DatasetError(`${source}:${line}: latencies must be > 0`, source);
    return out as unknown as RetimedLatency;
  });
}

/** The re-timed latencies of an experiment; none when the file does not exist. */
export function readRetimed(resultsDir: string, experiment: string): RetimedLatency[] {
  const path = retimedLatencyPath(resultsDir, experiment);
  if (!existsSync(path)) return [];
  return parseRetimedCsv(readFileSync(path, 'utf8'), path);
}
