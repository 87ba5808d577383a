import { countSpec, type ModelCount } from '../metrics/count.ts';
import type { Model, ModelSpec } from '../models/index.ts';
import { ConfigError } from '../util/errors.ts';
import { blockImportance, selectBlocksToRemove, removableBlockCount, type BlockScore } from './blocks.ts';
import { topK } from './criteria.ts';
import { prunableGroups } from './groups.ts';
import type { ChannelPruneResult } from './methods.ts';
import type { KeepPlan } from './plan.ts';
import { compactSpec } from './surgery.ts';

/**
 * Where a criterion's scores are compared:
 * - `layerwise`: within each channel group, the same ratio everywhere (Li et al.'s predefined ratios);
 * - `global`: all prunable channels of the network ranked together, after a per-layer
 *   normalisation (GLOBAL_NORMS) that puts layers' scores on one scale; the per-layer ratios
 *   then follow from the ranking.
 */
export const SCOPES = ['layerwise', 'global'] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * How global ranking makes scores comparable across layers: each layer's scores divided by
 * their mean, their max, their L2 norm, or left raw (`none`). `mean` is the default, as in
 * Torch-Pruning's global pruners (GroupNormalize 'mean'): a layer's channels are ranked
 * relative to that layer's typical channel, so wide or deep layers, whose raw filter norms are
 * larger simply because their filters hold more weights, are not protected wholesale.
 */
export const GLOBAL_NORMS = ['none', 'mean', 'max', 'l2'] as const;
export type GlobalNorm = (typeof GLOBAL_NORMS)[number];
export const DEFAULT_GLOBAL_NORM: GlobalNorm = 'mean';

/** What an exact budget matches: MACs ratio (base / pruned) or parameter ratio (base / pruned; non-zero counts for masks). */
export const BUDGET_KINDS = ['speedup', 'compression'] as const;
export type BudgetKind = (typeof BUDGET_KINDS)[number];
export interface BudgetTarget {
  kind: BudgetKind;
  value: number;
}

/** Achieved within this relative distance of the target counts as `exact`. */
export const BUDGET_TOLERANCE = 0.01;

/**
 * `exact`: within BUDGET_TOLERANCE of the target; `nearest`: the closest value the pruning units
 * (whole channels, blocks) allow, farther than that.
 */
export type BudgetStatus = 'exact' | 'nearest';

export interface BudgetResult {
  kind: BudgetKind;
  target: number;
  achieved: number;
  status: BudgetStatus;
  /** The searched parameter at the solution: the prune ratio (channels, masks) or the number of blocks removed. */
  setting: number;
}

function oneOf<T extends string>(list: readonly T[], value: string, key: string, what: string): T {
  if (!(list as readonly string[]).includes(value)) {
    throw new ConfigError(`Unknown ${key} "${value}"; expected ${what} ${list.join(', ')}`, key);
  }
  return value as T;
}

export function validateScope(scope: string, key = '--scope'): Scope {
  return oneOf(SCOPES, scope, key, 'one of');
}

export function validateGlobalNorm(norm: string, key = '--global-norm'): GlobalNorm {
  return oneOf(GLOBAL_NORMS, norm, key, 'one of');
}

/** A per-layer cap: the largest fraction of one layer's channels that may go, in (0, 1]. */
export function validateMaxLayerRatio(r: number, key = '--max-layer-ratio'): number {
  if (!(typeof r === 'number' && Number.isFinite(r) && r > 0 && r <= 1)) {
    throw new ConfigError(`Expected ${key} to be a fraction in (0, 1] (the most of one layer's channels that may go), but got ${r}`, key);
  }
  return r;
}

export function validateBudgetTarget(t: BudgetTarget, key = `--target-${t.kind}`): BudgetTarget {
  oneOf(BUDGET_KINDS, t.kind, 'target kind', 'one of');
  if (!(typeof t.value === 'number' && Number.isFinite(t.value) && t.value >= 1)) {
    throw new ConfigError(`Expected ${key} to be a ratio base / pruned of at least 1, but got ${t.value}`, key);
  }
  return t;
}

/** One layer's scores divided by their mean / max / L2 norm (left as they are when that is 0). */
export function normalizeScores(scores: ArrayLike<number>, norm: GlobalNorm): Float64Array {
  const s = Float64Array.from(scores as ArrayLike<number>);
  if (norm === 'none' || s.length === 0) return s;
  let d: number;
  if (norm === 'mean') d = s.reduce((a, b) => a + b, 0) / s.length;
  else if (norm === 'max') d = s.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
  else d = Math.sqrt(s.reduce((a, b) => a + b * b, 0));
  if (!(d > 0)) return s;
  return s.map((v) => v / d);
}

export interface ScopedPlanOptions {
  /** Fraction of channels removed, in [0, 1]: of each group (layerwise) or of all prunable channels (global). */
  ratio: number;
  scope: Scope;
  /** Global scope only; default DEFAULT_GLOBAL_NORM. */
  norm?: GlobalNorm;
  /** Every group keeps at least this many channels (default 1). */
  minChannels?: number;
  /** No group loses more than this fraction of its channels (default 1: no cap). */
  maxLayerRatio?: number;
}

/** The most channels a group of `channels` may lose under the guards. */
function removableChannels(channels: number, minChannels: number, maxLayerRatio: number): number {
  // The epsilon keeps 0.5 x 10 at 5 despite binary fractions.
  return Math.max(0, Math.min(channels - Math.min(minChannels, channels), Math.floor(maxLayerRatio * channels + 1e-9)));
}

/**
 * A keep plan from precomputed scores (scoreChannels) at one ratio, layerwise or global, under
 * the minimum-channels guard and the per-layer cap. Layerwise keeps floor(C x (1 - ratio)) per
 * group (predefinedPlan's rule). Global removes the floor(ratio x total) lowest normalised
 * scores over all groups, skipping a group's channels once it reaches its cap; ties go in
 * group order, then channel order. `guardedLayers` are the groups the guards kept above what
 * the ranking asked for.
 */
export function scopedPlan(model: Pick<Model, 'graph' | 'spec'>, scores: Map<string, ArrayLike<number>>, opts: ScopedPlanOptions): ChannelPruneResult {
  const { ratio, scope } = opts;
  if (!(Number.isFinite(ratio) && ratio >= 0 && ratio <= 1)) throw new ConfigError(`Expected the prune ratio to be in [0, 1], but got ${ratio}`, '--prune-ratio');
  const minChannels = opts.minChannels ?? 1;
  const cap = validateMaxLayerRatio(opts.maxLayerRatio ?? 1);
  const groups = prunableGroups(model.graph);
  const plan: Record<string, number[]> = {};
  const guardedLayers: string[] = [];
  if (scope === 'layerwise') {
    for (const g of groups) {
      const wanted = g.channels - Math.floor(g.channels * (1 - ratio));
      const removed = Math.min(wanted, removableChannels(g.channels, minChannels, cap));
      if (removed < wanted) guardedLayers.push(g.id);
      plan[g.id] = removed === 0 ? Array.from({ length: g.channels }, (_, i) => i) : topK(scores.get(g.id)!, g.channels - removed);
    }
    return { plan: { model: model.spec.name, groups: plan }, guardedLayers };
  }
  const norm = opts.norm ?? DEFAULT_GLOBAL_NORM;
  const all: { group: number; channel: number; score: number }[] = [];
  groups.forEach((g, gi) => normalizeScores(scores.get(g.id)!, norm).forEach((score, channel) => all.push({ group: gi, channel, score })));
  all.sort((a, b) => a.score - b.score || a.group - b.group || a.channel - b.channel);
  const caps = groups.map((g) => removableChannels(g.channels, minChannels, cap));
  const removedIn = groups.map(() => new Set<number>());
  const guarded = new Set<number>();
  let left = Math.floor(ratio * all.length);
  for (const u of all) {
    if (left === 0) break;
    if (removedIn[u.group]!.size >= caps[u.group]!) {
      guarded.add(u.group);
      continue;
    }
    removedIn[u.group]!.add(u.channel);
    left--;
  }
  groups.forEach((g, gi) => {
    plan[g.id] = Array.from({ length: g.channels }, (_, i) => i).filter((i) => !removedIn[gi]!.has(i));
    if (guarded.has(gi)) guardedLayers.push(g.id);
  });
  return { plan: { model: model.spec.name, groups: plan }, guardedLayers };
}

/** The budget metric of a pruned model against its base: MACs or parameters, effective (non-zero) counts. */
export function budgetValue(kind: BudgetKind, base: ModelCount, pruned: ModelCount): number {
  return kind === 'speedup' ? base.macsEffective / pruned.macsEffective : base.paramsEffective / pruned.paramsEffective;
}

function statusOf(target: number, achieved: number): BudgetStatus {
  return Math.abs(achieved / target - 1) <= BUDGET_TOLERANCE ? 'exact' : 'nearest';
}

function unreachable(t: BudgetTarget, max: number, why: string): ConfigError {
  return new ConfigError(`--target-${t.kind} ${t.value} cannot be reached: ${why} allow at most ${max.toFixed(4)} (${t.kind === 'speedup' ? 'MACs' : 'parameters'} base / pruned)`, `target-${t.kind}`);
}

export interface SearchOptions {
  /** The largest setting (the most pruning the guards allow). */
  hi: number;
  /** Stop once the bracket is narrower than this (below the resolution of the pruning units). */
  resolution: number;
  /** What bounds the reach, for the unreachable-target error (e.g. "--min-channels 1 and --max-layer-ratio 0.5"). */
  limits: string;
}

/** The search stops early once this close to the target (well inside BUDGET_TOLERANCE). */
const SEARCH_CLOSE = BUDGET_TOLERANCE / 20;

/**
 * Bracketing search for the setting x in [0, hi] whose achieved value (non-decreasing in x) is
 * nearest the target. The bracket [lo, hi] keeps achieved(lo) < target <= achieved(hi); new
 * points interpolate linearly in 1 / achieved (the fraction of MACs or parameters left, nearly
 * linear in the ratio), with a bisection step every third try so a step-shaped achieved still
 * converges. It stops once a point is within SEARCH_CLOSE of the target, or the bracket is
 * narrower than `resolution`; then the closer end wins. A target beyond achieved(hi) by more
 * than the tolerance is refused, naming achieved(hi).
 */
export function searchBudget(target: BudgetTarget, evaluate: (x: number) => number, opts: SearchOptions): BudgetResult & { bracket: [number, number] } {
  validateBudgetTarget(target);
  const t = target.value;
  let hi = opts.hi;
  let lo = 0;
  const result = (setting: number, achieved: number): BudgetResult & { bracket: [number, number] } => ({ kind: target.kind, target: t, achieved, status: statusOf(t, achieved), setting, bracket: [lo, hi] });
  let aHi = evaluate(hi);
  if (aHi < t) {
    if (statusOf(t, aHi) === 'exact') return result(hi, aHi);
    throw unreachable(target, aHi, opts.limits);
  }
  let aLo = evaluate(lo);
  if (aLo >= t) return result(lo, aLo);
  const close = (a: number): boolean => Math.abs(a / t - 1) <= SEARCH_CLOSE;
  for (let step = 0; hi - lo > opts.resolution && !close(aHi) && !close(aLo); step++) {
    let mid = (lo + hi) / 2;
    if (step % 3 !== 2) {
      const fLo = 1 / aLo - 1 / t;
      const fHi = 1 / aHi - 1 / t;
      const x = lo + ((hi - lo) * fLo) / (fLo - fHi);
      const margin = 0.01 * (hi - lo);
      if (Number.isFinite(x)) mid = Math.min(hi - margin, Math.max(lo + margin, x));
    }
    const a = evaluate(mid);
    if (a >= t) {
      hi = mid;
      aHi = a;
    } else {
      lo = mid;
      aLo = a;
    }
  }
  return Math.abs(aHi / t - 1) <= Math.abs(aLo / t - 1) ? result(hi, aHi) : result(lo, aLo);
}

/**
 * Channel pruning to a budget: searches the ratio of scopedPlan (with the given scope, guards
 * and normalisation) so the compacted model's MACs or parameter ratio meets the target. Counts
 * come from the compacted spec alone (no weights are copied during the search).
 */
export function channelBudgetPlan(
  model: Pick<Model, 'graph' | 'spec'>,
  scores: Map<string, ArrayLike<number>>,
  target: BudgetTarget,
  opts: Omit<ScopedPlanOptions, 'ratio'>,
): ChannelPruneResult & { budget: BudgetResult } {
  const base = countSpec(model.spec);
  const planAt = (ratio: number): ChannelPruneResult => scopedPlan(model, scores, { ...opts, ratio });
  const valueOf = (plan: KeepPlan): number => budgetValue(target.kind, base, countSpec(compactSpec(model.spec, plan)));
  const total = prunableGroups(model.graph).reduce((n, g) => n + g.channels, 0);
  const limits = `--scope ${opts.scope}, --min-channels ${opts.minChannels ?? 1} and --max-layer-ratio ${opts.maxLayerRatio ?? 1}`;
  const found = searchBudget(target, (x) => valueOf(planAt(x).plan), { hi: 1, resolution: 0.25 / Math.max(1, total), limits });
  const { bracket, ...budget } = found;
  if (opts.scope === 'global' || Math.abs(budget.achieved / target.value - 1) <= SEARCH_CLOSE) return { ...planAt(budget.setting), budget };
  // Layerwise: at one ratio every group of the same width steps together, a jump that can
  // exceed 1% (and leaves a closer value unused). Between the bracket's two plans, take the larger step one group at a time (in
  // network order), so per-layer ratios still differ by at most one channel.
  const small = planAt(bracket[0]);
  const large = planAt(bracket[1]);
  const differing = Object.keys(large.plan.groups).filter((id) => large.plan.groups[id]!.length !== small.plan.groups[id]!.length);
  let best = { result: budget.setting === bracket[1] ? large : small, budget };
  for (let j = 1; j < differing.length; j++) {
    const groups = { ...small.plan.groups };
    for (const id of differing.slice(0, j)) groups[id] = large.plan.groups[id]!;
    const plan = { model: model.spec.name, groups };
    const achieved = valueOf(plan);
    if (Math.abs(achieved / target.value - 1) < Math.abs(best.budget.achieved / target.value - 1)) {
      const guarded = new Set(differing.slice(0, j).flatMap((id) => (large.guardedLayers.includes(id) ? [id] : [])).concat(small.guardedLayers.filter((id) => !differing.slice(0, j).includes(id))));
      best = { result: { plan, guardedLayers: [...guarded] }, budget: { ...budget, achieved, status: statusOf(target.value, achieved) } };
    }
  }
  return { ...best.result, budget: best.budget };
}

/**
 * Mask pruning (weights, fibres) to a budget: searches the ratio given to `masksAt`, which
 * returns the non-zero count of every masked weight (the caller builds and frees the masks).
 * `units` is the number of pruning units (weights or fibres), which sets the resolution.
 */
export function maskBudgetRatio(spec: ModelSpec, target: BudgetTarget, nonZeroAt: (ratio: number) => Map<string, number>, units: number): BudgetResult {
  const base = countSpec(spec);
  // Ratios are fractions removed in [0, 1); the largest one removes all but (at most) one unit.
  const hi = 1 - 0.5 / Math.max(1, units);
  const { bracket: _bracket, ...budget } = searchBudget(target, (x) => budgetValue(target.kind, base, countSpec(spec, { nonZero: nonZeroAt(x) })), {
    hi,
    resolution: 0.25 / Math.max(1, units),
    limits: 'masking every conv weight but one would',
  });
  return budget;
}

/**
 * Block removal to a budget: every count of removable blocks (lowest BN-scale first, as
 * selectBlocksToRemove picks) is tried and the nearest value kept. Removing an identity block
 * leaves every other layer's shape, so a block's cost is the sum of its own layers' counts.
 */
export function blockBudget(model: Model, target: BudgetTarget, scores: BlockScore[] = blockImportance(model)): { removedBlocks: string[]; scores: BlockScore[]; budget: BudgetResult } {
  validateBudgetTarget(target);
  const base = countSpec(model.spec);
  const { removable } = removableBlockCount(model.spec);
  const costOf = (blocks: string[]): { macs: number; params: number } => {
    let macs = 0;
    let params = 0;
    for (const l of base.layers) {
      if (blocks.some((b) => l.name.startsWith(`${b}.`))) {
        macs += l.macs;
        params += l.params;
      }
    }
    return { macs, params };
  };
  let best: { blocks: string[]; achieved: number; count: number } | undefined;
  let max = 1;
  for (let count = 0; count <= removable; count++) {
    const blocks = selectBlocksToRemove(scores, { count });
    const c = costOf(blocks);
    const achieved = target.kind === 'speedup' ? base.macs / (base.macs - c.macs) : base.params / (base.params - c.params);
    max = Math.max(max, achieved);
    if (!best || Math.abs(achieved / target.value - 1) < Math.abs(best.achieved / target.value - 1)) best = { blocks, achieved, count };
  }
  if (max < target.value && statusOf(target.value, max) !== 'exact') {
    throw unreachable(target, max, `the ${removable} removable blocks of ${model.spec.name} (shape-changing blocks and each stage's last block stay)`);
  }
  return {
    removedBlocks: best!.blocks,
    scores,
    budget: { kind: target.kind, target: target.value, achieved: best!.achieved, status: statusOf(target.value, best!.achieved), setting: best!.count },
  };
}
