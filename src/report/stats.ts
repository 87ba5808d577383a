/**
 * Group statistics over seeds and the paired comparisons "Rethinking the Value of Network
 * Pruning" makes (Scratch-E/B vs fine-tuned, Scratch-B vs unpruned, automatic vs uniform
 * architecture), each with a Welch interval, a two-sided Welch t-test and a verdict.
 * Failed runs are excluded here; the summary lists them separately.
 */
import { max, mean, min, std } from 'mathjs';
import { defaultScope, type Protocol, type RunRow } from '../results/columns.ts';
import { studentTQuantile, studentTTwoSidedP } from './tdist.ts';

/** What a statistics group is: a cell without its seed. */
export interface GroupKey {
  experiment: string;
  model: string;
  method: string;
  profile: string;
  pruneRatio: number;
  protocol: Protocol;
  /** The ranking scope where it is not the method's default (see armScope), e.g. 'global' for an l1 arm. */
  scope?: string;
  /** An exact budget, e.g. 'speedup 2'; absent for ratio arms. */
  target?: string;
  /** The criterion of a generic method (channel, magnitude) that names one, e.g. 'fpgm' or 'lamp'. */
  criterion?: string;
}

/** Methods that rank by a criterion named in the row (`channel --criterion fpgm`, `magnitude` by lamp, `vector` by fibre magnitude): arms differ by it. */
const GENERIC_METHODS: ReadonlySet<string> = new Set(['channel', 'magnitude', 'vector']);

/** n, mean, sample std, range and a (1 - alpha) t interval of the mean; null where undefined (n < 2). */
export interface Summary {
  n: number;
  mean: number;
  std: number | null;
  min: number;
  max: number;
  ciLow: number | null;
  ciHigh: number | null;
}

export interface GroupStats {
  key: GroupKey;
  id: string;
  seeds: number[];
  top1: Summary;
  paramsReductionPct: Summary | null;
  macsReductionPct: Summary | null;
  /** Means of the physical / effective counts, for the cost axes. */
  params: number;
  paramsEffective: number;
  macs: number;
  macsEffective: number;
  /** Protocol facts of the group (from its first row) for the ours-vs-published comparison. */
  dataset: string;
  preset: string;
  trainSubset: number;
  epochsConfigured: number;
  /** Mean over the seeds; see `epochs` for the spread. */
  epochsDerived: number;
  /** Trained epochs over the seeds (Scratch-B's budget follows each seed's pruned MACs). */
  epochs: EpochRange | null;
  granularity: string;
  ratioStyle: string;
}

export interface EpochRange {
  min: number;
  max: number;
}

export function epochRange(epochs: number[]): EpochRange | null {
  return epochs.length ? { min: Math.min(...epochs), max: Math.max(...epochs) } : null;
}

export const formatEpochs = (e: EpochRange): string => (e.min === e.max ? `${e.min}` : `${e.min}-${e.max}`);

export const num = (v: unknown): number | null => {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
};

export function groupKeyOf(row: RunRow): GroupKey {
  return {
    experiment: String(row.experiment),
    model: String(row.model),
    method: String(row.method),
    profile: String(row.profile ?? ''),
    pruneRatio: num(row.prune_ratio) ?? 0,
    protocol: String(row.protocol) as Protocol,
    ...scopeAndTarget(row),
    ...criterionOf(row),
  };
}

/** The criterion joins the key where it tells arms of a generic method apart (not magnitude by magnitude: older keys stay). */
function criterionOf(row: RunRow): { criterion?: string } {
  const method = String(row.method);
  const criterion = String(row.criterion ?? '');
  return GENERIC_METHODS.has(method) && criterion !== '' && criterion !== 'none' && criterion !== method ? { criterion } : {};
}

/**
 * Rows that differ only in scope or budget target are different arms, so both join the key; a
 * scope that is the method's default (and rows written before the column existed) leaves the key
 * as it was, so older results still group with newer ones.
 */
function scopeAndTarget(row: RunRow): { scope?: string; target?: string } {
  const scope = String(row.scope ?? '');
  const method = String(row.method);
  const isDefault = scope === '' || scope === defaultScope(method);
  const kind = String(row.target_kind ?? '');
  return { ...(isDefault ? {} : { scope }), ...(kind ? { target: `${kind} ${String(row.target)}` } : {}) };
}

/** The key's optional parts, in a fixed order ('' when absent, so older ids are unchanged). */
function extras(k: Pick<GroupKey, 'scope' | 'target' | 'criterion'>): string[] {
  return [...(k.criterion ? [`criterion=${k.criterion}`] : []), ...(k.scope ? [`scope=${k.scope}`] : []), ...(k.target ? [`target=${k.target}`] : [])];
}

export function groupId(k: GroupKey): string {
  return [k.experiment, k.model, k.method, k.profile || '-', String(k.pruneRatio), k.protocol, ...extras(k)].join('|');
}

/** The cell of a group: the key without its protocol (what protocols are compared within). */
export function cellId(k: Omit<GroupKey, 'protocol'>): string {
  return [k.experiment, k.model, k.method, k.profile || '-', String(k.pruneRatio), ...extras(k)].join('|');
}

/** Human label of a pruned configuration, e.g. "resnet56 l1 B", "vgg19 slimming 70%" or "vgg16 l1 global speedup 2x". */
export function cellLabel(k: Omit<GroupKey, 'protocol'>): string {
  if (k.method === 'none') return `${k.model} unpruned`;
  const what = k.target ? `${k.target}x` : k.profile ? k.profile : `${Math.round(k.pruneRatio * 1000) / 10}%`;
  return `${k.model} ${k.method}${k.criterion ? ` ${k.criterion}` : ''}${k.scope ? ` ${k.scope}` : ''} ${what}`;
}

export function isOk(row: RunRow): boolean {
  return String(row.status) === 'ok';
}

/** Summary statistics of a sample, with a (1 - alpha) two-sided t interval of the mean. */
export function summarize(values: number[], alpha = 0.05): Summary {
  if (values.length === 0) throw new RangeError('summarize: expected at least one value');
  const n = values.length;
  const m = Number(mean(values));
  const s = n >= 2 ? Number(std(values, 'unbiased')) : null;
  let ciLow: number | null = null;
  let ciHigh: number | null = null;
  if (s !== null) {
    const half = studentTQuantile(1 - alpha / 2, n - 1) * (s / Math.sqrt(n));
    ciLow = m - half;
    ciHigh = m + half;
  }
  return { n, mean: m, std: s, min: Number(min(values)), max: Number(max(values)), ciLow, ciHigh };
}

/** Geometric mean of positive values (speedups, ratios); NaN for none. */
export function geometricMean(values: number[]): number {
  return values.length ? Math.exp(values.reduce((t, x) => t + Math.log(x), 0) / values.length) : NaN;
}

/** The numeric values of one column (empty or non-numeric cells left out). */
export function numbers(rows: RunRow[], column: keyof RunRow): number[] {
  return rows.map((r) => num(r[column])).filter((v): v is number => v !== null);
}

/** Group the ok rows by (experiment, model, method, profile, prune_ratio, protocol). */
export function groupRows(rows: RunRow[]): Map<string, { key: GroupKey; rows: RunRow[] }> {
  const groups = new Map<string, { key: GroupKey; rows: RunRow[] }>();
  for (const row of rows) {
    if (!isOk(row)) continue;
    const key = groupKeyOf(row);
    const id = groupId(key);
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { key, rows: [] }));
    g.rows.push(row);
  }
  return groups;
}

/** Statistics of every group of ok rows that has at least one top1_final value. */
export function groupStats(rows: RunRow[], alpha = 0.05): GroupStats[] {
  const out: GroupStats[] = [];
  for (const [id, g] of groupRows(rows)) {
    const top1 = numbers(g.rows, 'top1_final');
    if (top1.length === 0) continue;
    const pr = numbers(g.rows, 'params_reduction_pct');
    const mr = numbers(g.rows, 'macs_reduction_pct');
    const first = g.rows[0]!;
    const meanOf = (c: keyof RunRow): number => {
      const v = numbers(g.rows, c);
      return v.length > 0 ? Number(mean(v)) : NaN;
    };
    out.push({
      key: g.key,
      id,
      seeds: g.rows.map((r) => num(r.seed) ?? NaN).sort((a, b) => a - b),
      top1: summarize(top1, alpha),
      paramsReductionPct: pr.length > 0 ? summarize(pr, alpha) : null,
      macsReductionPct: mr.length > 0 ? summarize(mr, alpha) : null,
      params: meanOf('params'),
      paramsEffective: meanOf('params_effective'),
      macs: meanOf('macs'),
      macsEffective: meanOf('macs_effective'),
      dataset: String(first.dataset),
      preset: String(first.preset),
      trainSubset: num(first.train_subset) ?? 0,
      epochsConfigured: num(first.epochs_configured) ?? NaN,
      epochsDerived: meanOf('epochs_derived'),
      epochs: epochRange(numbers(g.rows, 'epochs_derived')),
      granularity: String(first.granularity),
      ratioStyle: String(first.ratio_style),
    });
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

export interface WelchResult {
  nA: number;
  nB: number;
  meanA: number;
  meanB: number;
  /** meanA - meanB */
  diff: number;
  se: number;
  df: number;
  t: number;
  /** two-sided p-value */
  p: number;
  /** (1 - alpha) Welch interval of the difference of means */
  ciLow: number;
  ciHigh: number;
}

/** Welch's unequal-variance t-test and interval for mean(a) - mean(b). Needs n >= 2 on each side. */
export function welch(a: number[], b: number[], alpha = 0.05): WelchResult {
  if (a.length < 2 || b.length < 2) {
    throw new RangeError(`welch: need at least 2 values on each side, got ${a.length} and ${b.length}`);
  }
  const meanA = Number(mean(a));
  const meanB = Number(mean(b));
  const va = Number(std(a, 'unbiased')) ** 2 / a.length;
  const vb = Number(std(b, 'unbiased')) ** 2 / b.length;
  const diff = meanA - meanB;
  const se = Math.sqrt(va + vb);
  if (se === 0) {
    // Both samples constant: the difference is known exactly.
    const p = diff === 0 ? 1 : 0;
    return { nA: a.length, nB: b.length, meanA, meanB, diff, se, df: a.length + b.length - 2, t: diff === 0 ? 0 : Math.sign(diff) * Infinity, p, ciLow: diff, ciHigh: diff };
  }
  const df = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  const t = diff / se;
  const p = studentTTwoSidedP(t, df);
  const half = studentTQuantile(1 - alpha / 2, df) * se;
  return { nA: a.length, nB: b.length, meanA, meanB, diff, se, df, t, p, ciLow: diff - half, ciHigh: diff + half };
}

// ---------------------------------------------------------------------------------------------
// Hypotheses as data

/** Which rows form one side of a comparison, relative to a cell. */
export interface SideSpec {
  protocol: Protocol;
  /** 'cell': same experiment/model/method/profile/prune_ratio; 'unpruned': same experiment/model, the baseline;
   *  'cell-any-method': same experiment/model/profile/prune_ratio, any method (uniform architectures). */
  match: 'cell' | 'unpruned' | 'cell-any-method';
  label: string;
}

export interface Hypothesis {
  id: string;
  /** The claim, read as "A is at least as accurate as B". */
  statement: string;
  a: SideSpec;
  b: SideSpec;
  /** Only cells whose rows have one of these ratio styles (e.g. automatic methods); all when absent. */
  ratioStyles?: string[];
  /** Skip cells that have no runs at all on side B (the comparison does not exist there). */
  requireB?: boolean;
  /** Non-inferiority margin in accuracy points: supported when the interval's lower end is > -margin. */
  margin: number;
  source: string;
}

export const HYPOTHESES: readonly Hypothesis[] = [
  {
    id: 'scratchB-vs-fineTune',
    statement: 'Training the pruned architecture from scratch with the full budget (Scratch-B) is at least as good as fine-tuning',
    a: { protocol: 'scratch-B', match: 'cell', label: 'Scratch-B' },
    b: { protocol: 'fine-tune', match: 'cell', label: 'Fine-tuned' },
    margin: 0,
    source: 'Liu et al. 2019 (Rethinking), Sec. 4',
  },
  {
    id: 'scratchE-vs-fineTune',
    statement: 'Training the pruned architecture from scratch for the same epochs (Scratch-E) is at least as good as fine-tuning',
    a: { protocol: 'scratch-E', match: 'cell', label: 'Scratch-E' },
    b: { protocol: 'fine-tune', match: 'cell', label: 'Fine-tuned' },
    margin: 0,
    source: 'Liu et al. 2019 (Rethinking), Sec. 4',
  },
  {
    id: 'scratchB-vs-unpruned',
    statement: 'The pruned architecture trained from scratch (Scratch-B) is at least as good as the unpruned model',
    a: { protocol: 'scratch-B', match: 'cell', label: 'Scratch-B' },
    b: { protocol: 'baseline', match: 'unpruned', label: 'Unpruned' },
    margin: 0,
    source: 'Liu et al. 2019 (Rethinking), Sec. 4',
  },
  {
    id: 'automaticE-vs-uniform',
    statement: 'The automatically found architecture (Scratch-E) is at least as good as a uniformly pruned one of equal size trained from scratch',
    a: { protocol: 'scratch-E', match: 'cell', label: 'Automatic, Scratch-E' },
    b: { protocol: 'uniform-scratch', match: 'cell-any-method', label: 'Uniform' },
    ratioStyles: ['automatic'],
    requireB: true,
    margin: 0,
    source: 'Liu et al. 2019 (Rethinking), Sec. 5 (pruning as architecture search)',
  },
  {
    id: 'automaticB-vs-uniform',
    statement: 'The automatically found architecture (Scratch-B) is at least as good as a uniformly pruned one of equal size trained from scratch',
    a: { protocol: 'scratch-B', match: 'cell', label: 'Automatic, Scratch-B' },
    b: { protocol: 'uniform-scratch', match: 'cell-any-method', label: 'Uniform' },
    ratioStyles: ['automatic'],
    requireB: true,
    margin: 0,
    source: 'Liu et al. 2019 (Rethinking), Sec. 5 (pruning as architecture search)',
  },
];

export type VerdictKind = 'supported' | 'contradicted' | 'inconclusive';

export interface Verdict {
  hypothesisId: string;
  statement: string;
  cell: Omit<GroupKey, 'protocol'>;
  cellLabel: string;
  labelA: string;
  labelB: string;
  nA: number;
  nB: number;
  seedsA: number[];
  seedsB: number[];
  meanA: number | null;
  meanB: number | null;
  diff: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  df: number | null;
  t: number | null;
  p: number | null;
  alpha: number;
  margin: number;
  verdict: VerdictKind;
  reason: string;
}

type Cell = Omit<GroupKey, 'protocol'>;

function sideRows(rows: RunRow[], cell: Cell, side: SideSpec): RunRow[] {
  return rows.filter((r) => {
    if (!isOk(r) || num(r.top1_final) === null) return false;
    if (String(r.protocol) !== side.protocol) return false;
    if (String(r.experiment) !== cell.experiment || String(r.model) !== cell.model) return false;
    if (side.match === 'unpruned') return true;
    const k = groupKeyOf(r);
    if (k.profile !== cell.profile || k.pruneRatio !== cell.pruneRatio) return false;
    return side.match === 'cell-any-method' || k.method === cell.method;
  });
}

const fmt = (x: number): string => (Math.round(x * 100) / 100).toFixed(2);

/** Decide one hypothesis for one cell from the two samples of top1_final. */
export function decide(
  h: Hypothesis,
  cell: Cell,
  a: { values: number[]; seeds: number[] },
  b: { values: number[]; seeds: number[] },
  alpha = 0.05,
): Verdict {
  const base = {
    hypothesisId: h.id,
    statement: h.statement,
    cell,
    cellLabel: cellLabel(cell),
    labelA: h.a.label,
    labelB: h.b.label,
    nA: a.values.length,
    nB: b.values.length,
    seedsA: [...a.seeds].sort((x, y) => x - y),
    seedsB: [...b.seeds].sort((x, y) => x - y),
    meanA: a.values.length > 0 ? Number(mean(a.values)) : null,
    meanB: b.values.length > 0 ? Number(mean(b.values)) : null,
    alpha,
    margin: h.margin,
  };
  if (a.values.length < 2 || b.values.length < 2) {
    const short = [
      a.values.length < 2 ? `${h.a.label} has ${a.values.length} seed${a.values.length === 1 ? '' : 's'}` : '',
      b.values.length < 2 ? `${h.b.label} has ${b.values.length} seed${b.values.length === 1 ? '' : 's'}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    const diff = base.meanA !== null && base.meanB !== null ? base.meanA - base.meanB : null;
    return {
      ...base, diff, ciLow: null, ciHigh: null, df: null, t: null, p: null, verdict: 'inconclusive',
      reason: `${short}; a Welch test needs at least 2 seeds on each side`,
    };
  }
  const w = welch(a.values, b.values, alpha);
  const level = `${Math.round((1 - alpha) * 1000) / 10}%`;
  let verdict: VerdictKind;
  let reason: string;
  const interval = `${level} interval of ${h.a.label} - ${h.b.label}: [${fmt(w.ciLow)}, ${fmt(w.ciHigh)}] points`;
  if (w.ciLow > -h.margin) {
    verdict = 'supported';
    reason = `${interval} lies above ${h.margin === 0 ? '0' : `-${h.margin}`} (p = ${w.p.toPrecision(3)})`;
  } else if (w.ciHigh < -h.margin) {
    verdict = 'contradicted';
    reason = `${interval} lies below ${h.margin === 0 ? '0' : `-${h.margin}`} (p = ${w.p.toPrecision(3)})`;
  } else {
    verdict = 'inconclusive';
    reason = `${interval} contains ${h.margin === 0 ? '0' : `-${h.margin}`}: no significant difference at alpha = ${alpha} (p = ${w.p.toPrecision(3)})`;
  }
  return { ...base, meanA: w.meanA, meanB: w.meanB, diff: w.diff, ciLow: w.ciLow, ciHigh: w.ciHigh, df: w.df, t: w.t, p: w.p, verdict, reason };
}

/** Evaluate every hypothesis on every cell where it applies. */
export function evaluateHypotheses(rows: RunRow[], opts: { alpha?: number; hypotheses?: readonly Hypothesis[] } = {}): Verdict[] {
  const alpha = opts.alpha ?? 0.05;
  const hypotheses = opts.hypotheses ?? HYPOTHESES;
  const ok = rows.filter(isOk);
  const verdicts: Verdict[] = [];
  for (const h of hypotheses) {
    // Candidate cells: pruned cells having rows on side A, or on side B when B is matched within the cell.
    const cells = new Map<string, Cell>();
    for (const r of ok) {
      const p = String(r.protocol);
      const isA = p === h.a.protocol;
      const isB = p === h.b.protocol && h.b.match === 'cell';
      if (!isA && !isB) continue;
      if (h.ratioStyles && !h.ratioStyles.includes(String(r.ratio_style))) continue;
      const { protocol: _p, ...cell } = groupKeyOf(r);
      if (cell.method === 'none') continue;
      cells.set(cellId(cell), cell);
    }
    for (const cell of [...cells.values()].sort((x, y) => cellId(x).localeCompare(cellId(y)))) {
      const ra = sideRows(ok, cell, h.a);
      const rb = sideRows(ok, cell, h.b);
      if (h.requireB && rb.length === 0) continue;
      verdicts.push(
        decide(
          h,
          cell,
          { values: ra.map((r) => num(r.top1_final)!), seeds: ra.map((r) => num(r.seed) ?? NaN) },
          { values: rb.map((r) => num(r.top1_final)!), seeds: rb.map((r) => num(r.seed) ?? NaN) },
          alpha,
        ),
      );
    }
  }
  return verdicts;
}
