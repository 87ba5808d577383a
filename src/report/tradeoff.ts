/**
 * The tradeoff study's statistics (issue 30): methods identified by (granularity, method,
 * criterion, scope), operating points by (model, target_kind, target); per-point rank tables of
 * Welch differences with a verdict that knows a margin; the minimum detectable difference beside
 * each verdict; and the study's hypotheses as data.
 *
 * The columns scope, target_kind, target, achieved, criterion_seconds and calibration_batches
 * come from the benchmark core; rows that lack them read as empty ('' / null).
 */
import { mean, std } from 'mathjs';
import { LATENCY_RUNTIMES, runtimeColumns, type LatencyRuntime, type RunRecord, type RunRow } from '../results/columns.ts';
import { prunedModelKey } from '../results/retimed.ts';
import { isOk, num, summarize, welch, type Summary, type WelchResult } from './stats.ts';
import { studentTQuantile } from './tdist.ts';

/** The columns this module reads beyond RUN_COLUMNS (names fixed by the benchmark core). */
export const TRADEOFF_COLUMNS = ['scope', 'target_kind', 'target', 'achieved', 'criterion_seconds', 'calibration_batches'] as const;
export type TradeoffColumn = (typeof TRADEOFF_COLUMNS)[number];

/** A column of a row by name, '' when the row lacks it (older CSVs, a reader that drops it). */
export function cellText(row: RunRow, column: TradeoffColumn | keyof RunRow): string {
  const v = (row as Record<string, unknown>)[column];
  return v === undefined || v === null ? '' : String(v).trim();
}
export const cellNumber = (row: RunRow, column: TradeoffColumn | keyof RunRow): number | null => num((row as Record<string, unknown>)[column]);

/** Rows of the tradeoff study: any row with a target kind or a scope. */
export function isTradeoffStudy(rows: RunRow[]): boolean {
  return rows.some((r) => cellText(r, 'target_kind') !== '' || cellText(r, 'scope') !== '');
}

/** Non-inferiority margin (accuracy points) of the tradeoff study's verdicts unless set otherwise. */
export const DEFAULT_TRADEOFF_MARGIN = 0.3;
/** Power of the minimum detectable difference printed beside each verdict. */
export const MDD_POWER = 0.8;

// ---------------------------------------------------------------------------------------------
// Minimum detectable difference

/**
 * The smallest true difference of means that Welch's two-sided t-test at `alpha` detects with
 * probability `power`, for arms of SDs sdA, sdB with nA, nB seeds:
 * MDD = (t_{1-alpha/2, df} + t_{power, df}) * sqrt(sdA^2/nA + sdB^2/nB), df the Welch-Satterthwaite
 * df (nA + nB - 2 when the SDs and seeds are equal: the pooled two-sample formula). The verdicts
 * use Welch's interval, so the MDD does too: a pooled SD and df promise power that Welch's
 * interval does not have when one arm's seeds scatter far more than the other's.
 */
export function minimumDetectableDifference(sdA: number, sdB: number, nA: number, nB: number, alpha = 0.05, power = MDD_POWER): number {
  if (!(nA >= 2 && nB >= 2)) throw new RangeError(`minimumDetectableDifference: need at least 2 seeds per arm, got ${nA} and ${nB}`);
  const va = (sdA * sdA) / nA;
  const vb = (sdB * sdB) / nB;
  const se = Math.sqrt(va + vb);
  if (se === 0) return 0;
  const df = (va + vb) ** 2 / ((va * va) / (nA - 1) + (vb * vb) / (nB - 1));
  return (studentTQuantile(1 - alpha / 2, df) + studentTQuantile(power, df)) * se;
}

/** Seeds per arm at which the MDD (same SDs) falls to |distance|; null beyond `max` or for distance 0. */
export function seedsPerArmNeeded(sdA: number, sdB: number, distance: number, alpha = 0.05, power = MDD_POWER, max = 100): number | null {
  if (sdA === 0 && sdB === 0) return 2;
  if (Math.abs(distance) === 0) return null;
  for (let n = 2; n <= max; n++) if (minimumDetectableDifference(sdA, sdB, n, n, alpha, power) <= Math.abs(distance)) return n;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Verdict modes with a margin

/**
 * How a hypothesis "A vs B" reads its (1 - alpha) Welch interval [lo, hi] of mean(A) - mean(B),
 * with margin m >= 0 in points:
 * - 'at-least' (non-inferiority, "A is comparable or better"): supported lo > -m, contradicted hi < -m;
 * - 'better' (superiority): supported lo > 0, contradicted hi < m (any advantage is under the margin);
 * - 'not-better' (the negation of 'better'): supported hi < m, contradicted lo > 0;
 * - 'equivalent' ("about the same"): supported -m < lo and hi < m, contradicted lo > m or hi < -m.
 * Anything else is inconclusive.
 */
export type VerdictMode = 'at-least' | 'better' | 'not-better' | 'equivalent';
export type StudyVerdictKind = 'supported' | 'contradicted' | 'inconclusive';

export function verdictOf(mode: VerdictMode, lo: number, hi: number, margin: number): StudyVerdictKind {
  switch (mode) {
    case 'at-least':
      return lo > -margin ? 'supported' : hi < -margin ? 'contradicted' : 'inconclusive';
    case 'better':
      return lo > 0 ? 'supported' : hi < margin ? 'contradicted' : 'inconclusive';
    case 'not-better':
      return hi < margin ? 'supported' : lo > 0 ? 'contradicted' : 'inconclusive';
    case 'equivalent':
      return lo > -margin && hi < margin ? 'supported' : lo > margin || hi < -margin ? 'contradicted' : 'inconclusive';
  }
}

/** The boundary whose distance from the observed difference decides a mode (for "seeds needed"). */
function boundaryOf(mode: VerdictMode, diff: number, margin: number): number {
  switch (mode) {
    case 'at-least':
      return -margin;
    case 'better':
    case 'not-better':
      return diff > margin / 2 ? 0 : margin;
    case 'equivalent':
      return diff >= 0 ? margin : -margin;
  }
}

/** Two arms compared: Welch test, verdict under a mode and margin, and what the seeds could detect. */
export interface ArmComparison {
  nA: number;
  nB: number;
  meanA: number | null;
  meanB: number | null;
  diff: number | null;
  welch: WelchResult | null;
  /** The arms' sample SDs (n - 1), from which the MDD and seeds needed are computed. */
  sdA: number | null;
  sdB: number | null;
  /** Minimum detectable difference at alpha, power MDD_POWER, with these seeds per arm. */
  mdd: number | null;
  /** Seeds per arm that would decide it if the observed difference and SD held (inconclusive only). */
  seedsNeeded: number | null;
  verdict: StudyVerdictKind;
}

const meanOr = (x: number[]): number | null => (x.length ? Number(mean(x)) : null);

export function compareArms(a: number[], b: number[], mode: VerdictMode, margin: number, alpha = 0.05): ArmComparison {
  if (!(margin >= 0)) throw new RangeError(`compareArms: margin must be >= 0 points, got ${margin}`);
  const meanA = meanOr(a);
  const meanB = meanOr(b);
  const diff = meanA !== null && meanB !== null ? meanA - meanB : null;
  if (a.length < 2 || b.length < 2) {
    return { nA: a.length, nB: b.length, meanA, meanB, diff, welch: null, sdA: null, sdB: null, mdd: null, seedsNeeded: null, verdict: 'inconclusive' };
  }
  const w = welch(a, b, alpha);
  const sdA = Number(std(a, 'unbiased'));
  const sdB = Number(std(b, 'unbiased'));
  const verdict = verdictOf(mode, w.ciLow, w.ciHigh, margin);
  const seedsNeeded = verdict === 'inconclusive' ? seedsPerArmNeeded(sdA, sdB, w.diff - boundaryOf(mode, w.diff, margin), alpha) : null;
  return {
    nA: a.length, nB: b.length, meanA: w.meanA, meanB: w.meanB, diff: w.diff, welch: w, sdA, sdB,
    mdd: minimumDetectableDifference(sdA, sdB, a.length, b.length, alpha), seedsNeeded, verdict,
  };
}

// ---------------------------------------------------------------------------------------------
// Methods and operating points

export interface MethodKey {
  granularity: string;
  method: string;
  criterion: string;
  scope: string;
  protocol: string;
}

export interface PointKey {
  model: string;
  /** 'speedup' | 'compression' | '' (unpruned) */
  targetKind: string;
  target: number | null;
}

export const methodId = (k: MethodKey): string => [k.granularity, k.method, k.criterion, k.scope || '-', k.protocol].join('|');
export const pointId = (p: PointKey): string => [p.model, p.targetKind || '-', p.target === null ? '-' : String(p.target)].join('|');

export function methodKeyOf(row: RunRow): MethodKey {
  return {
    granularity: cellText(row, 'granularity'),
    method: cellText(row, 'method'),
    criterion: cellText(row, 'criterion'),
    scope: cellText(row, 'scope'),
    protocol: cellText(row, 'protocol'),
  };
}

export function pointKeyOf(row: RunRow): PointKey {
  return { model: cellText(row, 'model'), targetKind: cellText(row, 'target_kind'), target: cellNumber(row, 'target') };
}

/**
 * A method's label: criterion and scope ("fpgm global"), led by the granularity when the rows
 * span several ("weight lamp global"); Scratch-B and gradual (AGP) arms say so.
 */
export function methodLabel(k: MethodKey, withGranularity: boolean): string {
  const criterion = k.criterion && k.criterion !== 'none' ? k.criterion : '';
  // Block removal ranks whole residual blocks (by their BN scales): "layer blocks by bn-gamma".
  const what = k.method === 'block' ? `blocks${criterion ? ` by ${criterion}` : ''}` : criterion || k.method;
  const parts = [withGranularity ? k.granularity : '', what, k.scope === 'none' ? '' : k.scope].filter(Boolean);
  if (withGranularity && k.granularity === what) parts.shift();
  const suffix = k.protocol === 'scratch-B' ? ', Scratch-B' : k.protocol === 'gradual' ? ', AGP' : k.protocol === 'prune' ? ', right after pruning' : '';
  return parts.join(' ') + suffix;
}

export const TARGET_NOUN: Record<string, string> = { speedup: 'MAC speedup', compression: 'compression' };

export function pointLabel(p: PointKey): string {
  if (p.target === null) return `${p.model} unpruned`;
  return `${p.model}, ${TARGET_NOUN[p.targetKind] ?? p.targetKind} ${p.target}x`;
}

/** Protocols that draw a method's line in the curves and enter the rank tables. */
export const RANKED_PROTOCOLS = ['fine-tune', 'gradual'] as const;

/** One arm: a method at an operating point, its seeds and means. */
export interface TradeoffGroup {
  point: PointKey;
  key: MethodKey;
  id: string;
  label: string;
  seeds: number[];
  top1Values: number[];
  top1: Summary;
  /** means over seeds; null where no row has the numbers */
  compression: number | null;
  macSpeedup: number | null;
  latencySpeedup: number | null;
  achieved: number | null;
  criterionSeconds: number | null;
  /** how many of `rows` recorded a criterion time (directly or through their prune row) */
  criterionSecondsRuns: number;
  rows: RunRow[];
}

const finiteOnly = (xs: (number | null)[]): number[] => xs.filter((x): x is number => x !== null && Number.isFinite(x));

const meanOfNullable = (xs: (number | null)[]): number | null => {
  const v = finiteOnly(xs);
  return v.length ? v.reduce((s, x) => s + x, 0) / v.length : null;
};

export const compressionOf = (r: RunRow): number | null => {
  const base = num(r.params_base);
  const eff = num(r.params_effective);
  return base && eff ? base / eff : null;
};
export const macSpeedupOf = (r: RunRow): number | null => {
  const base = num(r.macs_base);
  const eff = num(r.macs_effective);
  return base && eff ? base / eff : null;
};

/**
 * The unpruned model's value of a cost column for a row: the baseline row of the same model, seed
 * and backend, else the mean of that model's baselines on that backend.
 */
function unprunedValueOf(r: RunRow, baselines: RunRow[], column: 'latency_ms_b1' | 'infer_images_per_sec_b64'): number | null {
  const same = baselines.filter((b) => String(b.model) === String(r.model) && String(b.backend) === String(r.backend));
  const seed = same.find((b) => String(b.seed) === String(r.seed) && num(b[column]));
  return seed ? num(seed[column]) : meanOfNullable(same.map((b) => num(b[column])));
}

/**
 * Measured batch-1 latency speedup of a row over the unpruned model: the paired measurement of its
 * run record where there is one (both timed alternately in one process), else against the
 * unpruned model's row (unprunedValueOf).
 */
export function latencySpeedupOf(r: RunRow, baselines: RunRow[], records: ReadonlyMap<string, RunRecord>): number | null {
  const cost = records.get(String(r.run_id))?.cost;
  if (cost && cost.latencyMsBatch1 > 0) return cost.baseLatencyMsBatch1 / cost.latencyMsBatch1;
  const lat = num(r.latency_ms_b1);
  const base = lat ? unprunedValueOf(r, baselines, 'latency_ms_b1') : null;
  return lat && base ? base / lat : null;
}

/** Measured batch-64 throughput speedup (images/s over the unpruned model's), found as latencySpeedupOf finds the batch-1 one. */
export function throughputSpeedupOf(r: RunRow, baselines: RunRow[], records: ReadonlyMap<string, RunRecord>): number | null {
  const cost = records.get(String(r.run_id))?.cost;
  if (cost && cost.baseImagesPerSecBatch64 > 0 && cost.imagesPerSecBatch64 > 0) return cost.imagesPerSecBatch64 / cost.baseImagesPerSecBatch64;
  const thr = num(r.infer_images_per_sec_b64);
  const base = thr ? unprunedValueOf(r, baselines, 'infer_images_per_sec_b64') : null;
  return thr && base ? thr / base : null;
}

/** How the figures and verdicts name each runtime of latencyRuntimes. */
export const RUNTIME_LABELS: Record<LatencyRuntime, string> = { onednn: 'onednn', wasm: 'wasm', ort: 'ONNX Runtime (CPU)' };

/**
 * Every runtime a row's model was timed on against the unpruned model, with its batch-1 latency
 * speedup: the per-runtime columns (experiments with latencyRuntimes), and the row's own backend
 * (latencySpeedupOf) where it is not among them. Rows without per-runtime columns give their own
 * backend alone, as before.
 */
export function runtimeSpeedupsOf(r: RunRow, baselines: RunRow[], records: ReadonlyMap<string, RunRecord>): RuntimeSpeedup[] {
  const out: RuntimeSpeedup[] = [];
  const measured = new Set<string>();
  for (const rt of LATENCY_RUNTIMES) {
    const c = runtimeColumns(rt);
    const lat = num(r[c.latency]);
    const base = num(r[c.baseLatency]);
    if (!lat || !base) continue;
    const thr = num(r[c.throughput]);
    const baseThr = num(r[c.baseThroughput]);
    out.push({ runtime: RUNTIME_LABELS[rt], latencySpeedup: base / lat, throughputSpeedup: thr && baseThr ? thr / baseThr : null });
    measured.add(rt);
  }
  if (!measured.has(String(r.backend))) {
    const own = latencySpeedupOf(r, baselines, records);
    if (own !== null) out.push({ runtime: String(r.backend), latencySpeedup: own, throughputSpeedup: throughputSpeedupOf(r, baselines, records) });
  }
  return out;
}

/** A row's measured speedups over the unpruned model on one runtime. */
export interface RuntimeSpeedup {
  runtime: string;
  /** unpruned latency / latency, batch 1 */
  latencySpeedup: number;
  /** images/s / unpruned images/s, batch 64; null where not measured */
  throughputSpeedup: number | null;
}

export function recordsByRun(records: RunRecord[]): Map<string, RunRecord> {
  return new Map(records.map((rec) => [String(rec.row.run_id), rec]));
}

/** Ok baseline rows (the unpruned models). */
export const baselineRows = (rows: RunRow[]): RunRow[] => rows.filter((r) => isOk(r) && String(r.protocol) === 'baseline');

/** Whether the rows span more than one pruning granularity (labels then lead with it). */
export function spansGranularities(rows: RunRow[]): boolean {
  return new Set(rows.filter((r) => isOk(r) && String(r.protocol) !== 'baseline').map((r) => String(r.granularity))).size > 1;
}

/**
 * One top-1 per seed: rows of the same seed (the same model timed on several backends) are one
 * sample, their mean, so a second backend does not double the seeds of an arm.
 */
export function perSeed(rows: RunRow[]): { seeds: number[]; values: number[] } {
  const bySeed = new Map<number, number[]>();
  for (const r of rows) {
    const v = num(r.top1_final);
    if (v === null) continue;
    const seed = num(r.seed) ?? NaN;
    bySeed.set(seed, [...(bySeed.get(seed) ?? []), v]);
  }
  const seeds = [...bySeed.keys()].sort((a, b) => a - b);
  return { seeds, values: seeds.map((s) => Number(mean(bySeed.get(s)!))) };
}

/**
 * The pruned model a row belongs to: its cell without the protocol (`prune:vgg16-l1-global-x2:s1`
 * and `fine-tune:vgg16-l1-global-x2:s1` are one model), else its run id.
 */
export const prunedKeyOf = (r: RunRow): string => prunedModelKey(String(r.cell ?? '')) ?? `run:${String(r.run_id)}`;

/** Every arm (method x operating point) of the ok pruned rows that have a target, with a top1_final. */
export function tradeoffGroups(rows: RunRow[], records: RunRecord[] = [], alpha = 0.05): TradeoffGroup[] {
  const byRun = recordsByRun(records);
  const bases = baselineRows(rows);
  const withGranularity = spansGranularities(rows);
  const map = new Map<string, { point: PointKey; key: MethodKey; rows: RunRow[] }>();
  for (const r of rows) {
    if (!isOk(r) || num(r.top1_final) === null || String(r.protocol) === 'baseline') continue;
    const point = pointKeyOf(r);
    if (point.target === null || point.targetKind === '') continue;
    const key = methodKeyOf(r);
    const id = `${pointId(point)}#${methodId(key)}`;
    let g = map.get(id);
    if (!g) map.set(id, (g = { point, key, rows: [] }));
    g.rows.push(r);
  }
  // Rows written before fine-tune and Scratch rows repeated their prune cell's budget and criterion
  // time leave them empty: take them from the prune row of the same pruned model.
  const pruneRows = new Map<string, RunRow>();
  for (const r of rows) if (isOk(r) && String(r.protocol) === 'prune') pruneRows.set(prunedKeyOf(r), r);
  const fromPrune = (r: RunRow, column: 'achieved' | 'criterion_seconds'): number | null => {
    const own = cellNumber(r, column);
    if (own !== null) return own;
    const p = pruneRows.get(prunedKeyOf(r));
    return p ? cellNumber(p, column) : null;
  };
  const out: TradeoffGroup[] = [];
  for (const [id, g] of map) {
    const { seeds, values: top1Values } = perSeed(g.rows);
    const criterionTimes = g.rows.map((r) => fromPrune(r, 'criterion_seconds'));
    out.push({
      point: g.point,
      key: g.key,
      id,
      label: methodLabel(g.key, withGranularity),
      seeds,
      top1Values,
      top1: summarize(top1Values, alpha),
      compression: meanOfNullable(g.rows.map(compressionOf)),
      macSpeedup: meanOfNullable(g.rows.map(macSpeedupOf)),
      latencySpeedup: meanOfNullable(g.rows.map((r) => latencySpeedupOf(r, bases, byRun))),
      achieved: meanOfNullable(g.rows.map((r) => fromPrune(r, 'achieved'))),
      criterionSeconds: meanOfNullable(criterionTimes),
      criterionSecondsRuns: finiteOnly(criterionTimes).length,
      rows: g.rows,
    });
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/** The unpruned model's top-1 per model (mean and interval over its seeds). */
export function unprunedStats(rows: RunRow[], alpha = 0.05): Map<string, Summary> {
  const byModel = new Map<string, RunRow[]>();
  for (const r of baselineRows(rows)) if (num(r.top1_final) !== null) byModel.set(String(r.model), [...(byModel.get(String(r.model)) ?? []), r]);
  return new Map([...byModel].map(([m, rs]) => [m, summarize(perSeed(rs).values, alpha)]));
}

// ---------------------------------------------------------------------------------------------
// Rank tables

export type RankVerdict = 'better' | 'worse' | 'tied within margin' | 'inconclusive';

/**
 * A pair's rank verdict from the interval of A - B: 'tied within margin' when the whole interval
 * lies inside (-margin, margin) (checked first: a real but immaterial difference is a tie),
 * 'better' / 'worse' when it excludes 0, else 'inconclusive'. With margin 0 there are no ties.
 */
export function rankVerdictOf(lo: number, hi: number, margin: number): RankVerdict {
  if (margin > 0 && lo > -margin && hi < margin) return 'tied within margin';
  if (lo > 0) return 'better';
  if (hi < 0) return 'worse';
  return 'inconclusive';
}

export interface RankPair {
  a: TradeoffGroup;
  b: TradeoffGroup;
  comparison: ArmComparison;
  verdict: RankVerdict;
  /** Welch p adjusted by Holm's step-down over the table's tested pairs (null without a test). */
  pHolm: number | null;
}

/**
 * Holm's (1979) step-down adjustment of a family of p-values, in their order: the i-th smallest
 * is multiplied by (m - i + 1), then made monotone. Rejecting where the adjusted p < alpha keeps
 * the chance of any false rejection in the family at alpha or below.
 */
export function holmAdjust(ps: number[]): number[] {
  const m = ps.length;
  const order = ps.map((p, i) => ({ p, i })).sort((x, y) => x.p - y.p);
  const out = new Array<number>(m);
  let running = 0;
  order.forEach(({ p, i }, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    out[i] = running;
  });
  return out;
}

export interface RankTable {
  point: PointKey;
  /** Arms ranked by mean top-1, best first. */
  ranked: TradeoffGroup[];
  /** Every pair (a ranked above b), so A - B >= 0. */
  pairs: RankPair[];
}

export function rankTables(groups: TradeoffGroup[], margin: number, alpha = 0.05): RankTable[] {
  const byPoint = new Map<string, TradeoffGroup[]>();
  for (const g of groups) {
    if (!(RANKED_PROTOCOLS as readonly string[]).includes(g.key.protocol)) continue;
    const id = pointId(g.point);
    byPoint.set(id, [...(byPoint.get(id) ?? []), g]);
  }
  const tables: RankTable[] = [];
  for (const [, gs] of [...byPoint].sort((x, y) => comparePoints(x[1][0]!.point, y[1][0]!.point))) {
    const ranked = [...gs].sort((x, y) => y.top1.mean - x.top1.mean || x.label.localeCompare(y.label));
    const pairs: RankPair[] = [];
    for (let i = 0; i < ranked.length; i++) {
      for (let j = i + 1; j < ranked.length; j++) {
        const a = ranked[i]!;
        const b = ranked[j]!;
        const comparison = compareArms(a.top1Values, b.top1Values, 'at-least', margin, alpha);
        const w = comparison.welch;
        pairs.push({ a, b, comparison, verdict: w ? rankVerdictOf(w.ciLow, w.ciHigh, margin) : 'inconclusive', pHolm: null });
      }
    }
    // A table of k arms makes k(k-1)/2 tests: Holm's family is the table's tested pairs.
    const tested = pairs.filter((p) => p.comparison.welch);
    holmAdjust(tested.map((p) => p.comparison.welch!.p)).forEach((q, i) => (tested[i]!.pHolm = q));
    tables.push({ point: ranked[0]!.point, ranked, pairs });
  }
  return tables;
}

export function comparePoints(a: PointKey, b: PointKey): number {
  return a.model.localeCompare(b.model) || a.targetKind.localeCompare(b.targetKind) || (a.target ?? 0) - (b.target ?? 0);
}
