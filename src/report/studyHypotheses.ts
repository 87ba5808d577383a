/**
 * The tradeoff study's hypotheses (issue 30) as data, and their evaluation on the arms of
 * `tradeoffGroups`. Each verdict carries its regime, its source (secondary where the claim was
 * taken from notes or a quotation, not read in the paper), the margin it was decided with, and
 * the minimum detectable difference of its seeds.
 */
import type { RunRecord, RunRow } from '../results/columns.ts';
import { geometricMean, isOk, numbers, summarize } from './stats.ts';
import { studentTQuantile } from './tdist.ts';
import {
  baselineRows,
  comparePoints,
  compareArms,
  macSpeedupOf,
  MDD_POWER,
  pointId,
  pointKeyOf,
  pointLabel,
  recordsByRun,
  prunedKeyOf,
  runtimeSpeedupsOf,
  seedsPerArmNeeded,
  unprunedStats,
  type ArmComparison,
  type MethodKey,
  type PointKey,
  type StudyVerdictKind,
  type TradeoffGroup,
  type VerdictMode,
} from './tradeoff.ts';

/** Which arms form one side of a pairwise hypothesis at an operating point. */
export interface ArmSelector {
  label: string;
  /** default 'fine-tune' */
  protocol?: string;
  granularity?: string[];
  criterion?: string[];
  excludeCriterion?: string[];
  scope?: string[];
  // Every matching arm is compared, none picked as "the best" by its mean: a pick made on the
  // same seeds that are then tested inflates its lead (winner's curse).
}

interface HypothesisBase {
  id: string;
  statement: string;
  source: string;
  /** The claim comes from a secondary source (notes, a quotation), not read in the paper itself. */
  secondary: boolean;
}

export interface PairwiseHypothesis extends HypothesisBase {
  kind: 'pairwise';
  /** Operating points it applies to: their target kind, and optionally only these targets. */
  targetKind: 'speedup' | 'compression' | 'any';
  targets?: number[];
  a: ArmSelector;
  b: ArmSelector;
  /** Fields A and B must share (the arms are compared within these partitions). */
  same: (keyof MethodKey)[];
  /** Only these (A criterion, B criterion) pairs, when given. */
  criterionPairs?: [string, string][];
  mode: VerdictMode;
  /** Margin in points: a number fixed by the claim itself, or 'study' (the report's margin option). */
  margin: number | 'study';
  /**
   * 'all-pairs': the claim is about every pair at a point (an intersection-union test): it holds
   * at a point where all its k pairs are supported (each at alpha: no correction needed), and
   * fails where one pair is contradicted at alpha / k (Bonferroni: any of k could be). The
   * findings then also count points, not only pairs.
   */
  atPoint?: 'all-pairs';
}

export interface RankFlipHypothesis extends HypothesisBase {
  kind: 'rankflip';
  targetKind: 'speedup' | 'compression';
  /** Criteria are ranked within partitions of these fields (per model). */
  within: (keyof MethodKey)[];
}

export interface SpeedupHypothesis extends HypothesisBase {
  kind: 'speedup';
  /** Per granularity: a real latency reduction expected, or none. */
  expect: Record<string, 'real' | 'none'>;
  /** A measured speedup above this ratio counts as a real reduction. */
  threshold: number;
  /** What is measured: batch-1 latency, or batch-64 throughput (images/s over the unpruned model's). */
  batch: 1 | 64;
}

export type StudyHypothesis = PairwiseHypothesis | RankFlipHypothesis | SpeedupHypothesis;

const SHRINKBENCH = 'Blalock et al. 2020 (ShrinkBench, MLSys), as summarised in shared/notes/benchmark-anchors.md';
const PRUNINGBENCH = 'PruningBench 2024, CIFAR-100 VGG-19 leaderboards (single runs), as summarised in shared/notes/benchmark-anchors.md';
const SEED = 'the seed survey (granularity taxonomy)';

export const STUDY_HYPOTHESES: readonly StudyHypothesis[] = [
  {
    kind: 'pairwise',
    id: 'H-global-compression',
    statement: 'At fixed compression, global ranking beats layerwise ranking (same criterion)',
    source: SHRINKBENCH,
    secondary: true,
    targetKind: 'compression',
    a: { label: 'global', scope: ['global'] },
    b: { label: 'layerwise', scope: ['layerwise'] },
    same: ['granularity', 'method', 'criterion'],
    mode: 'better',
    margin: 'study',
  },
  {
    kind: 'pairwise',
    id: 'H-global-speedup',
    statement: 'At fixed MAC speedup, global ranking does not beat layerwise ranking (same criterion)',
    source: SHRINKBENCH,
    secondary: true,
    targetKind: 'speedup',
    a: { label: 'global', scope: ['global'] },
    b: { label: 'layerwise', scope: ['layerwise'] },
    same: ['granularity', 'method', 'criterion'],
    mode: 'not-better',
    margin: 'study',
  },
  {
    kind: 'rankflip',
    id: 'H-rankflip',
    statement: 'The best criterion changes with the speedup target, beyond seed noise',
    source: PRUNINGBENCH,
    secondary: true,
    targetKind: 'speedup',
    within: ['granularity', 'scope'],
  },
  {
    kind: 'pairwise',
    id: 'H-similar',
    statement: 'L1, L2 and FPGM perform about the same (equivalent within the margin)',
    source: "NNI's pruner comparison, as summarised in shared/notes/benchmark-anchors.md",
    secondary: true,
    targetKind: 'any',
    a: { label: 'criterion', criterion: ['l1', 'l2'] },
    b: { label: 'criterion', criterion: ['l2', 'fpgm'] },
    criterionPairs: [
      ['l1', 'l2'],
      ['l1', 'fpgm'],
      ['l2', 'fpgm'],
    ],
    same: ['granularity', 'scope'],
    mode: 'equivalent',
    margin: 'study',
  },
  {
    kind: 'pairwise',
    id: 'H-random',
    // Within 1 point of the best criterion is within 1 point of each: testing each pair avoids
    // picking the best by its mean on the same seeds (winner's curse), which made the gap look larger.
    statement: 'At 2x MAC speedup, random selection is within 1 point of the best criterion (so of every criterion; each pair tested)',
    source: 'ShrinkBench and PruningBench (random is a strong baseline at low ratios), as summarised in shared/notes/benchmark-anchors.md',
    secondary: true,
    targetKind: 'speedup',
    targets: [2],
    a: { label: 'random', criterion: ['random'] },
    b: { label: 'criterion', excludeCriterion: ['random'] },
    same: ['granularity', 'scope'],
    mode: 'at-least',
    margin: 1,
    atPoint: 'all-pairs',
  },
  {
    kind: 'pairwise',
    id: 'H-unstructured',
    // Every weight arm against every channel arm: picking each side's best by mean and then testing
    // the two on the same seeds would favour the larger side's luckiest arm (winner's curse).
    // The claim holds at a point where all of its pairs are supported (an intersection-union test,
    // which needs no multiplicity correction).
    statement: 'At equal parameter reduction, unstructured (weight) pruning keeps more accuracy than structured (channel) pruning (each weight arm against each channel arm)',
    source: SEED,
    secondary: false,
    targetKind: 'compression',
    a: { label: 'weight method', granularity: ['weight'] },
    b: { label: 'channel method', granularity: ['channel'] },
    same: [],
    mode: 'better',
    margin: 'study',
    atPoint: 'all-pairs',
  },
  {
    kind: 'speedup',
    id: 'H-speedup',
    statement: 'Layer and channel pruning give a real latency reduction with existing kernels; vector and unstructured (weight) pruning do not',
    source: SEED,
    secondary: false,
    expect: { layer: 'real', channel: 'real', vector: 'none', weight: 'none' },
    threshold: 1.1,
    batch: 1,
  },
  {
    kind: 'speedup',
    id: 'H-speedup-b64',
    statement: 'The same at batch 64: layer and channel pruning raise throughput with existing kernels; vector and unstructured (weight) pruning do not',
    source: `${SEED}; batch 64 added here, since small channel counts may leave batch-1 latency bound by overheads that a batch amortises`,
    secondary: false,
    expect: { layer: 'real', channel: 'real', vector: 'none', weight: 'none' },
    threshold: 1.1,
    batch: 64,
  },
  {
    kind: 'pairwise',
    id: 'H-rethinking',
    statement: 'At every operating point, Scratch-B is at least as accurate as fine-tuning (non-inferiority)',
    source: 'Liu et al. 2019 (Rethinking), Sec. 4',
    secondary: false,
    targetKind: 'any',
    a: { label: 'Scratch-B', protocol: 'scratch-B' },
    b: { label: 'Fine-tuned', protocol: 'fine-tune' },
    same: ['granularity', 'method', 'criterion', 'scope'],
    mode: 'at-least',
    margin: 'study',
  },
];

/** One verdict of a study hypothesis, flattened for the table and the findings paragraph. */
export interface StudyVerdict {
  hypothesisId: string;
  statement: string;
  source: string;
  secondary: boolean;
  point: PointKey | null;
  /** Where it was decided, e.g. "resnet56, MAC speedup 2x: fpgm global vs fpgm layerwise". */
  where: string;
  labelA: string;
  labelB: string;
  nA: number;
  nB: number;
  meanA: number | null;
  meanB: number | null;
  /** 'points' (top-1 differences) or 'x' (speedup ratios) */
  unit: 'points' | 'x';
  /** mean(A) - mean(B) in points; for speedups (unit 'x') the ratio A / B of geometric means */
  diff: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  p: number | null;
  mode: VerdictMode | 'one-sample';
  margin: number;
  alpha: number;
  /** In points; for speedups a factor: the smallest ratio of the geometric mean to the threshold (or its inverse) the models could have detected */
  mdd: number | null;
  seedsNeeded: number | null;
  verdict: StudyVerdictKind;
  /** For 'all-pairs' claims: this pair is contradicted even at alpha / (pairs at its point), so the point fails the claim. */
  familyContradicted?: boolean;
  reason: string;
  regime: string;
}

export interface StudyOptions {
  /** Non-inferiority / equivalence margin in points for hypotheses whose margin is 'study'. */
  margin: number;
  alpha?: number;
  hypotheses?: readonly StudyHypothesis[];
}

const f2 = (x: number | null): string => (x === null ? '–' : x.toFixed(2));
const signed = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;

function matches(g: TradeoffGroup, s: ArmSelector): boolean {
  if (g.key.protocol !== (s.protocol ?? 'fine-tune')) return false;
  if (s.granularity && !s.granularity.includes(g.key.granularity)) return false;
  if (s.criterion && !s.criterion.includes(g.key.criterion)) return false;
  if (s.excludeCriterion && s.excludeCriterion.includes(g.key.criterion)) return false;
  if (s.scope && !s.scope.includes(g.key.scope)) return false;
  return true;
}

const best = (gs: TradeoffGroup[]): TradeoffGroup[] => (gs.length ? [gs.reduce((x, y) => (y.top1.mean > x.top1.mean ? y : x))] : []);

function byPoint(groups: TradeoffGroup[]): Map<string, TradeoffGroup[]> {
  const m = new Map<string, TradeoffGroup[]>();
  for (const g of [...groups].sort((x, y) => comparePoints(x.point, y.point) || x.id.localeCompare(y.id))) {
    m.set(pointId(g.point), [...(m.get(pointId(g.point)) ?? []), g]);
  }
  return m;
}

function partition(gs: TradeoffGroup[], fields: (keyof MethodKey)[]): TradeoffGroup[][] {
  const m = new Map<string, TradeoffGroup[]>();
  for (const g of gs) {
    const k = fields.map((f) => g.key[f]).join('|');
    m.set(k, [...(m.get(k) ?? []), g]);
  }
  return [...m.values()];
}

/** The regime of a point: model, seeds of both arms, fine-tune epochs, the unpruned accuracy. */
function regimeText(point: PointKey | null, a: TradeoffGroup[], b: TradeoffGroup[], unpruned: Map<string, { mean: number; n: number }>): string {
  const parts: string[] = [];
  if (point) parts.push(pointLabel(point));
  const rows = [...a, ...b].flatMap((g) => g.rows);
  const epochs = numbers(rows, 'epochs_derived');
  if (epochs.length) parts.push(`${Math.min(...epochs) === Math.max(...epochs) ? epochs[0] : `${Math.min(...epochs)}-${Math.max(...epochs)}`} epochs`);
  const seeds = [...a, ...b].map((g) => g.top1.n);
  if (seeds.length) parts.push(`${Math.min(...seeds) === Math.max(...seeds) ? seeds[0] : `${Math.min(...seeds)}-${Math.max(...seeds)}`} seeds per arm`);
  const u = point ? unpruned.get(point.model) : undefined;
  if (u) parts.push(`unpruned ${u.mean.toFixed(2)}%`);
  const dataset = rows[0] ? String(rows[0].dataset) : '';
  if (dataset) parts.unshift(dataset);
  return parts.join('; ');
}

function fromComparison(
  h: HypothesisBase,
  point: PointKey,
  where: string,
  labelA: string,
  labelB: string,
  c: ArmComparison,
  mode: VerdictMode,
  margin: number,
  alpha: number,
  regime: string,
): StudyVerdict {
  const w = c.welch;
  const level = `${Math.round((1 - alpha) * 1000) / 10}%`;
  let reason: string;
  if (!w) reason = `${labelA} has ${c.nA} seed(s), ${labelB} ${c.nB}: a Welch test needs at least 2 per arm`;
  else {
    const bound = mode === 'equivalent' ? `(-${margin}, ${margin})` : mode === 'at-least' ? `> -${margin}` : mode === 'better' ? '> 0 (supported) or < margin (contradicted)' : '< margin (supported) or > 0 (contradicted)';
    reason = `${level} interval [${f2(w.ciLow)}, ${f2(w.ciHigh)}] vs ${bound}, ${mode}, margin ${margin}`;
    if (c.verdict === 'inconclusive') {
      reason += c.seedsNeeded !== null ? `; ~${c.seedsNeeded} seeds per arm would decide it if this difference and SD held` : '; the difference sits on the boundary: more seeds alone would not decide it';
    }
  }
  return {
    hypothesisId: h.id, statement: h.statement, source: h.source, secondary: h.secondary, point, where, labelA, labelB,
    nA: c.nA, nB: c.nB, meanA: c.meanA, meanB: c.meanB, unit: 'points', diff: c.diff, ciLow: w?.ciLow ?? null, ciHigh: w?.ciHigh ?? null, p: w?.p ?? null,
    mode, margin, alpha, mdd: c.mdd, seedsNeeded: c.seedsNeeded, verdict: c.verdict, reason, regime,
  };
}

function evaluatePairwise(h: PairwiseHypothesis, groups: TradeoffGroup[], margin: number, alpha: number, unpruned: Map<string, { mean: number; n: number }>): StudyVerdict[] {
  const out: StudyVerdict[] = [];
  const m = h.margin === 'study' ? margin : h.margin;
  for (const gs of byPoint(groups).values()) {
    const point = gs[0]!.point;
    if (h.targetKind !== 'any' && point.targetKind !== h.targetKind) continue;
    if (h.targets && (point.target === null || !h.targets.includes(point.target))) continue;
    const pairs: [TradeoffGroup, TradeoffGroup, StudyVerdict][] = [];
    for (const part of partition(gs, h.same)) {
      const as = part.filter((g) => matches(g, h.a));
      const bs = part.filter((g) => matches(g, h.b));
      for (const a of as) {
        for (const b of bs) {
          if (a.id === b.id) continue;
          if (h.criterionPairs && !h.criterionPairs.some(([x, y]) => x === a.key.criterion && y === b.key.criterion)) continue;
          const c = compareArms(a.top1Values, b.top1Values, h.mode, m, alpha);
          pairs.push([a, b, fromComparison(h, point, `${pointLabel(point)}: ${a.label} vs ${b.label}`, a.label, b.label, c, h.mode, m, alpha, regimeText(point, [a], [b], unpruned))]);
        }
      }
    }
    if (h.atPoint === 'all-pairs') {
      for (const [a, b, v] of pairs) v.familyContradicted = compareArms(a.top1Values, b.top1Values, h.mode, m, alpha / pairs.length).verdict === 'contradicted';
    }
    out.push(...pairs.map(([, , v]) => v));
  }
  return out;
}

function evaluateRankFlip(h: RankFlipHypothesis, groups: TradeoffGroup[], margin: number, alpha: number, unpruned: Map<string, { mean: number; n: number }>): StudyVerdict[] {
  const out: StudyVerdict[] = [];
  const eligible = groups.filter((g) => g.key.protocol === 'fine-tune' && g.point.targetKind === h.targetKind);
  const byModel = new Map<string, TradeoffGroup[]>();
  for (const g of eligible) byModel.set(g.point.model, [...(byModel.get(g.point.model) ?? []), g]);
  for (const [model, mgs] of [...byModel].sort((x, y) => x[0].localeCompare(y[0]))) {
    for (const part of partition(mgs, h.within)) {
      const points = [...byPoint(part).values()].filter((gs) => gs.length >= 2);
      if (points.length < 2) continue;
      const bestAt = points.map((gs) => best(gs)[0]!);
      const at = (gs: TradeoffGroup[], criterion: string): TradeoffGroup | undefined => gs.find((g) => g.key.criterion === criterion);
      const within = h.within.map((f) => part[0]!.key[f]).filter(Boolean).join(' ');
      const where = `${model}${within ? ` ${within}` : ''}, ${h.targetKind} ${points.map((gs) => `${gs[0]!.point.target}x`).join('/')}`;
      const regime = regimeText(null, part, [], unpruned) + `; best by mean: ${points.map((gs, i) => `${gs[0]!.point.target}x ${bestAt[i]!.key.criterion}`).join(', ')}`;
      // A flip survives when each point's winner is significantly better than the other's winner there.
      // The winners are picked by mean, so each link is tested at alpha / (pairs at its point): Bonferroni
      // over every pair that could have been picked, which keeps the winner's curse from manufacturing flips.
      const alphaAt = points.map((gs) => alpha / Math.max(1, (gs.length * (gs.length - 1)) / 2));
      type Link = { c: ArmComparison; a: TradeoffGroup; b: TradeoffGroup; alpha: number };
      const flips: { links: Link[]; survives: boolean }[] = [];
      for (let i = 0; i < points.length; i++) {
        for (let j = i + 1; j < points.length; j++) {
          const x = bestAt[i]!;
          const y = bestAt[j]!;
          if (x.key.criterion === y.key.criterion) continue;
          const yAtI = at(points[i]!, y.key.criterion);
          const xAtJ = at(points[j]!, x.key.criterion);
          if (!yAtI || !xAtJ) continue;
          const links = [
            { c: compareArms(x.top1Values, yAtI.top1Values, 'better', 0, alphaAt[i]!), a: x, b: yAtI, alpha: alphaAt[i]! },
            { c: compareArms(y.top1Values, xAtJ.top1Values, 'better', 0, alphaAt[j]!), a: y, b: xAtJ, alpha: alphaAt[j]! },
          ];
          flips.push({ links, survives: links.every((l) => l.c.verdict === 'supported') });
        }
      }
      const weakest = (links: Link[]): Link => links.reduce((p, q) => ((q.c.welch?.ciLow ?? -Infinity) < (p.c.welch?.ciLow ?? -Infinity) ? q : p));
      let verdict: StudyVerdictKind;
      let link: Link;
      let reason: string;
      const surviving = flips.find((f) => f.survives);
      if (surviving) {
        verdict = 'supported';
        link = weakest(surviving.links);
        reason = `a flip survives: ${surviving.links.map((l) => `${l.a.label} beats ${l.b.label} at ${l.a.point.target}x (${signed(l.c.diff!)}, p = ${l.c.welch!.p.toPrecision(3)})`).join('; ')}`;
      } else if (flips.length > 0) {
        verdict = 'inconclusive';
        link = weakest(flips.flatMap((f) => f.links));
        reason = `the winner changes in the means, but no flip is significant at both points (weakest: ${link.a.label} vs ${link.b.label} at ${link.a.point.target}x, ${signed(link.c.diff ?? 0)})`;
      } else {
        // No flip in the means: contradicted when the same winner is significantly ahead of its runner-up everywhere.
        const leads = points.map((gs, i) => {
          const ranked = [...gs].sort((p, q) => q.top1.mean - p.top1.mean);
          return { c: compareArms(bestAt[i]!.top1Values, ranked[1]!.top1Values, 'better', 0, alphaAt[i]!), a: bestAt[i]!, b: ranked[1]!, alpha: alphaAt[i]! };
        });
        link = weakest(leads);
        verdict = leads.every((l) => l.c.verdict === 'supported') ? 'contradicted' : 'inconclusive';
        reason =
          verdict === 'contradicted'
            ? `${bestAt[0]!.key.criterion} is best at every target and significantly ahead of the runner-up at each`
            : `${bestAt[0]!.key.criterion} is best by mean at every target, but not significantly ahead everywhere (weakest lead: ${signed(link.c.diff ?? 0)} at ${link.a.point.target}x over ${link.b.label})`;
      }
      const c = link.c;
      out.push({
        hypothesisId: h.id, statement: h.statement, source: h.source, secondary: h.secondary, point: null, where,
        labelA: `${link.a.label} @${link.a.point.target}x`, labelB: link.b.label, nA: c.nA, nB: c.nB, meanA: c.meanA, meanB: c.meanB, unit: 'points',
        diff: c.diff, ciLow: c.welch?.ciLow ?? null, ciHigh: c.welch?.ciHigh ?? null, p: c.welch?.p ?? null, mode: 'better', margin: 0, alpha: link.alpha,
        mdd: c.mdd, seedsNeeded: verdict === 'inconclusive' ? seedsPerArmNeeded(c.sdA ?? 0, c.sdB ?? 0, c.diff ?? 0, link.alpha) : null, verdict, reason, regime,
      });
    }
  }
  return out;
}

/** One-sample MDD of a mean: (t_{1-alpha/2, n-1} + t_{power, n-1}) * s / sqrt(n). */
export function oneSampleMdd(sd: number, n: number, alpha = 0.05, power = MDD_POWER): number {
  if (n < 2) throw new RangeError(`oneSampleMdd: need at least 2 values, got ${n}`);
  return (studentTQuantile(1 - alpha / 2, n - 1) + studentTQuantile(power, n - 1)) * (sd / Math.sqrt(n));
}

/** Values (pruned models) at which the one-sample MDD (same SD) falls to |distance|; null beyond `max` or for distance 0. */
export function oneSampleNeeded(sd: number, distance: number, alpha = 0.05, power = MDD_POWER, max = 100): number | null {
  if (sd === 0) return 2;
  if (Math.abs(distance) === 0) return null;
  for (let n = 2; n <= max; n++) if (oneSampleMdd(sd, n, alpha, power) <= Math.abs(distance)) return n;
  return null;
}

/**
 * Per (model, granularity, backend or runtime, operating point): measured batch-1 latency speedups,
 * one per pruned model (arm and seed). The prune and fine-tune cells of an arm time the same
 * architecture: counting both as samples would narrow the interval without new information, so
 * their measurements are averaged into one.
 */
export interface SpeedupCell {
  model: string;
  granularity: string;
  /** The row's backend, or a runtime of latencyRuntimes (see runtimeSpeedupsOf). */
  backend: string;
  point: PointKey;
  latencySpeedups: number[];
  /** Batch-64 throughput speedups of the same pruned models (null where one was not measured). */
  throughputSpeedups: (number | null)[];
  macSpeedups: number[];
}

export function speedupCells(rows: RunRow[], records: RunRecord[]): SpeedupCell[] {
  const byRun = recordsByRun(records);
  const bases = baselineRows(rows);
  const cells = new Map<string, SpeedupCell>();
  // cell key -> pruned model -> its measurements (latency speedups; MAC speedup is per architecture)
  const perModel = new Map<string, Map<string, { latency: number[]; throughput: number[]; macs: number }>>();
  for (const r of rows) {
    if (!isOk(r) || String(r.protocol) === 'baseline' || String(r.protocol) === 'scratch-B') continue;
    const point = pointKeyOf(r);
    if (point.target === null) continue;
    const macs = macSpeedupOf(r);
    if (macs === null) continue;
    // One cell per runtime the row was timed on (its backend, and latencyRuntimes' others).
    for (const { runtime, latencySpeedup, throughputSpeedup } of runtimeSpeedupsOf(r, bases, byRun)) {
      const k = [point.model, String(r.granularity), runtime, pointId(point)].join('#');
      let c = cells.get(k);
      if (!c) cells.set(k, (c = { model: point.model, granularity: String(r.granularity), backend: runtime, point, latencySpeedups: [], throughputSpeedups: [], macSpeedups: [] }));
      let models = perModel.get(k);
      if (!models) perModel.set(k, (models = new Map()));
      const m = prunedKeyOf(r);
      let seen = models.get(m);
      if (!seen) models.set(m, (seen = { latency: [], throughput: [], macs }));
      seen.latency.push(latencySpeedup);
      if (throughputSpeedup !== null) seen.throughput.push(throughputSpeedup);
    }
  }
  const meanOf = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  for (const [k, c] of cells) {
    for (const { latency, throughput, macs } of perModel.get(k)!.values()) {
      c.latencySpeedups.push(meanOf(latency));
      c.throughputSpeedups.push(throughput.length ? meanOf(throughput) : null);
      c.macSpeedups.push(macs);
    }
  }
  return [...cells.values()].sort((a, b) => comparePoints(a.point, b.point) || a.granularity.localeCompare(b.granularity) || a.backend.localeCompare(b.backend));
}

function evaluateSpeedup(h: SpeedupHypothesis, cells: SpeedupCell[], alpha: number): StudyVerdict[] {
  const out: StudyVerdict[] = [];
  const logThreshold = Math.log(h.threshold);
  for (const c of cells) {
    const expect = h.expect[c.granularity];
    if (!expect) continue;
    const measured = h.batch === 1 ? c.latencySpeedups : c.throughputSpeedups.filter((x): x is number => x !== null);
    if (measured.length === 0) continue;
    // Speedups are ratios: the t interval is taken on their logs and mapped back, so it cannot
    // reach 0 or below (a linear one of 2-3 models did: [-0.32, 2.50]x in the granularity report
    // of a4c4cd8), and it is symmetric in "twice as fast" and "half as fast". The mean shown is
    // the geometric mean.
    const s = summarize(measured.map(Math.log), alpha);
    const gm = Math.exp(s.mean);
    const ciLow = s.ciLow === null ? null : Math.exp(s.ciLow);
    const ciHigh = s.ciHigh === null ? null : Math.exp(s.ciHigh);
    const macs = geometricMean(c.macSpeedups);
    let verdict: StudyVerdictKind = 'inconclusive';
    if (ciLow !== null && ciHigh !== null) {
      const above = ciLow > h.threshold;
      const below = ciHigh < h.threshold;
      verdict = expect === 'real' ? (above ? 'supported' : below ? 'contradicted' : 'inconclusive') : below ? 'supported' : above ? 'contradicted' : 'inconclusive';
    }
    const claim = expect === 'real' ? `a real reduction (speedup > ${h.threshold}x)` : `no real reduction (speedup < ${h.threshold}x)`;
    const sdLog = s.std;
    // How many pruned models (arms x seeds) would decide an open verdict, as seedsPerArmNeeded does for two arms.
    const needed = verdict === 'inconclusive' && sdLog !== null && s.n >= 2 ? oneSampleNeeded(sdLog, s.mean - logThreshold, alpha) : null;
    let reason =
      ciLow === null
        ? `1 run: no interval`
        : `${Math.round((1 - alpha) * 100)}% interval of the measured speedup [${f2(ciLow)}, ${f2(ciHigh)}]x (geometric mean ${f2(gm)}x) against ${h.threshold}x; expected ${claim}; MAC speedup ${macs.toFixed(2)}x`;
    if (verdict === 'inconclusive' && ciLow !== null) {
      reason += needed !== null ? `; ~${needed} pruned models would decide it if this mean and SD held` : '; at this mean and SD even 100 pruned models would not decide it';
    }
    out.push({
      hypothesisId: h.id, statement: h.statement, source: h.source, secondary: h.secondary, point: c.point,
      where: `${pointLabel(c.point)}: ${c.granularity} on ${c.backend}`, labelA: h.batch === 1 ? 'measured latency speedup (batch 1)' : 'measured throughput speedup (batch 64)', labelB: 'MAC speedup',
      nA: s.n, nB: c.macSpeedups.length, meanA: gm, meanB: macs, unit: 'x', diff: gm / macs, ciLow, ciHigh, p: null,
      mode: 'one-sample', margin: h.threshold, alpha, mdd: sdLog !== null && s.n >= 2 ? Math.exp(oneSampleMdd(sdLog, s.n, alpha)) : null, seedsNeeded: needed,
      verdict, reason, regime: `${c.backend}; ${s.n} pruned model${s.n === 1 ? "" : "s"} (arms x seeds)`,
    });
  }
  return out;
}

/** Evaluate every study hypothesis on the arms of the tradeoff rows. */
export function evaluateStudyHypotheses(rows: RunRow[], groups: TradeoffGroup[], records: RunRecord[], opts: StudyOptions): StudyVerdict[] {
  const alpha = opts.alpha ?? 0.05;
  if (!(opts.margin >= 0)) throw new RangeError(`evaluateStudyHypotheses: margin must be >= 0 points, got ${opts.margin}`);
  const unpruned = unprunedStats(rows, alpha);
  const out: StudyVerdict[] = [];
  let cells: SpeedupCell[] | undefined; // shared by the batch-1 and batch-64 speedup hypotheses
  for (const h of opts.hypotheses ?? STUDY_HYPOTHESES) {
    if (h.kind === 'pairwise') out.push(...evaluatePairwise(h, groups, opts.margin, alpha, unpruned));
    else if (h.kind === 'rankflip') out.push(...evaluateRankFlip(h, groups, opts.margin, alpha, unpruned));
    else out.push(...evaluateSpeedup(h, (cells ??= speedupCells(rows, records)), alpha));
  }
  return out;
}
