/**
 * Re-timed latencies (results/<experiment>/latency-retimed.csv, `prunebench retime`) in place of the
 * ones the cells measured while other cells trained beside them. The rows and records on disk are
 * left alone; the report works on copies.
 */
import { LATENCY_RUNTIMES, prunedModelKey, RETIMED_PROTOCOLS, runtimeColumns, type RetimedLatency, type RunRecord, type RunRow } from '../results/index.ts';

export interface RetimedOverlay {
  rows: RunRow[];
  records: RunRecord[];
  /** Pruned models (cell without protocol) with re-timed latencies, and all pruned models with a latency. */
  retimedModels: number;
  prunedModels: number;
  /** One sentence for the summary: where the latencies come from. */
  note: string;
}

/** Protocols that train a pruned architecture from scratch. */
const SCRATCH_PROTOCOLS: ReadonlySet<string> = new Set(['scratch-B', 'scratch-E']);

export function applyRetimed(rows: RunRow[], records: RunRecord[], retimed: RetimedLatency[], preset: string): RetimedOverlay {
  const byModel = new Map<string, Map<string, RetimedLatency>>();
  for (const r of retimed) {
    if (r.preset !== preset) continue;
    let m = byModel.get(r.pruned_model);
    if (!m) byModel.set(r.pruned_model, (m = new Map()));
    m.set(r.runtime, r);
  }
  // A Scratch row trains the pruned model's architecture anew (the same arm and seed): where its
  // counts say so, it takes that model's re-timed latency too (latency does not depend on weights).
  const timedKey = (row: RunRow): string | null => (RETIMED_PROTOCOLS.has(String(row.protocol)) ? prunedModelKey(String(row.cell)) : null);
  const counts = (row: RunRow): string => [row.params, row.macs, row.params_effective, row.macs_effective].map(String).join('/');
  const architectureOf = new Map<string, string>();
  for (const row of rows) {
    const key = timedKey(row);
    if (key !== null) architectureOf.set(key, counts(row));
  }
  const keyOf = (row: RunRow): string | null => {
    if (!SCRATCH_PROTOCOLS.has(String(row.protocol))) return timedKey(row);
    const key = prunedModelKey(String(row.cell));
    return key !== null && architectureOf.get(key) === counts(row) ? key : null;
  };
  const pruned = new Set<string>();
  const used = new Set<string>();
  const replacedRuns = new Map<string, RunRow>();
  let scratchRows = 0;
  const outRows = rows.map((row) => {
    const key = keyOf(row);
    if (key === null) return row;
    if (RETIMED_PROTOCOLS.has(String(row.protocol))) pruned.add(key);
    const entries = byModel.get(key);
    if (!entries) return row;
    used.add(key);
    if (SCRATCH_PROTOCOLS.has(String(row.protocol))) scratchRows++;
    const next: RunRow = { ...row };
    for (const rt of LATENCY_RUNTIMES) {
      const e = entries.get(rt);
      const c = runtimeColumns(rt);
      // A runtime the cell measured but the re-timing did not is dropped too: mixing a contended
      // figure into re-timed ones would bring back the noise the re-timing removes.
      next[c.latency] = e ? e.latency_ms_b1 : '';
      next[c.baseLatency] = e ? e.base_latency_ms_b1 : '';
      next[c.throughput] = e ? e.infer_images_per_sec_b64 : '';
      next[c.baseThroughput] = e ? e.base_infer_images_per_sec_b64 : '';
    }
    const own = entries.get(String(row.backend) as RetimedLatency['runtime']);
    next.latency_ms_b1 = own ? own.latency_ms_b1 : '';
    next.infer_images_per_sec_b64 = own ? own.infer_images_per_sec_b64 : '';
    replacedRuns.set(String(row.run_id), next);
    return next;
  });
  const outRecords = records.map((rec) => {
    const row = replacedRuns.get(String(rec.row.run_id));
    if (!row) return rec;
    const entries = byModel.get(keyOf(row)!)!;
    const own = entries.get(String(row.backend) as RetimedLatency['runtime']);
    const { cost: _measuredInCell, runtimes: _alsoInCell, ...rest } = rec;
    return {
      ...rest,
      row,
      ...(own ? { cost: { latencyMsBatch1: own.latency_ms_b1, imagesPerSecBatch64: own.infer_images_per_sec_b64, baseLatencyMsBatch1: own.base_latency_ms_b1, baseImagesPerSecBatch64: own.base_infer_images_per_sec_b64 } } : {}),
    };
  });
  const mine = retimed.filter((r) => r.preset === preset && used.has(r.pruned_model));
  let note: string;
  if (used.size === 0) {
    note = 'Latencies are as the cells measured them, right after training, while other cells of the sweep may have trained beside them (`prunebench retime` times them again on an idle machine).';
  } else {
    const dates = mine.map((r) => r.measured_at.slice(0, 10)).sort();
    const details = [...new Set(mine.map((r) => `${r.runtime}: ${r.runtime_detail}`))].sort();
    const loads = mine.map((r) => r.loadavg_1m);
    const runtimes = LATENCY_RUNTIMES.filter((rt) => mine.some((r) => r.runtime === rt));
    note =
      `Latencies of ${used.size} of ${pruned.size} pruned models are re-timed (\`prunebench retime\`, ${dates[0]}${dates.at(-1) !== dates[0] ? ` to ${dates.at(-1)}` : ''}; ${runtimes.join(', ')}; ` +
      `${[...new Set(mine.map((r) => r.repeats))].join('/')} batch-1 calls per model, median, and a third as many batch-64 calls for throughput, alternating with the unpruned model${orderNote(mine)}; 1-minute load average ${Math.min(...loads).toFixed(2)}-${Math.max(...loads).toFixed(2)} before each model, the re-timing itself counting about 1; ${details.join('; ')})` +
      (scratchRows ? `; ${scratchRows} Scratch row${scratchRows === 1 ? '' : 's'} of the same architecture take${scratchRows === 1 ? 's' : ''} its pruned model's` : '') +
      (used.size < pruned.size ? `; ${notRetimed([...pruned].filter((k) => !used.has(k)))} keep${pruned.size - used.size === 1 ? 's' : ''} the latencies ${pruned.size - used.size === 1 ? 'its cell' : 'their cells'} measured.` : '.');
  }
  return { rows: outRows, records: outRecords, retimedModels: used.size, prunedModels: pruned.size, note };
}

/** The pruned models a re-timing missed, named when few (a reader can then find them in the tables). */
function notRetimed(keys: string[]): string {
  const sorted = keys.sort();
  if (sorted.length === 1) return `the other (${sorted[0]})`;
  return sorted.length <= 3 ? `the others (${sorted.join(', ')})` : `the other ${sorted.length}`;
}

/** Which model went first in each timed pair: taking turns, or (older rows) the pruned model always. */
function orderNote(rows: RetimedLatency[]): string {
  const fixed = new Set(rows.filter((r) => r.pair_order === 'fixed').map((r) => r.pruned_model));
  if (fixed.size === 0) return ', each going first in every other round';
  const all = new Set(rows.map((r) => r.pruned_model));
  return `, ${fixed.size === all.size ? 'all' : `${fixed.size} of ${all.size}`} pruned models with the pruned model always first, which biases onednn's batch-1 latency against it by up to ~13% (\`prunebench retime\` times them again taking turns)`;
}
