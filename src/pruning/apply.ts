import type * as tf from '@tensorflow/tfjs-core';
import { compileGraph, type Model, type ModelSpec } from '../models/index.ts';
import { ConfigError, PlanError } from '../util/errors.ts';
import { blockImportance, removableBlockCount, removeBlocks, selectBlocksToRemove, type BlockScore } from './blocks.ts';
import { blockBudget, budgetValue, channelBudgetPlan, DEFAULT_GLOBAL_NORM, maskBudgetRatio, scopedPlan, searchBudget, validateBudgetTarget, validateGlobalNorm, validateMaxLayerRatio, validateScope, type BudgetResult, type BudgetTarget, type GlobalNorm, type Scope } from './budget.ts';
import { countSpec } from '../metrics/count.ts';
import { CRITERIA, scoreChannels, type CalibrationData, type Criterion } from './criteria.ts';
import { prunableGroups } from './groups.ts';
import { predefinedPlan, slimmingPlan, validatePruneRatio, type ChannelPruneResult, type ThresholdRule } from './methods.ts';
import type { KeepPlan } from './plan.ts';
import { findProfile, resolveProfile } from './profiles.ts';
import { reconstructionPrune, reconstructionTarget, type GroupReconstruction } from './reconstruction.ts';
import { compactModel, compactSpec } from './surgery.ts';
import { disposeMasks, masksFromWeightScores, validateVectorCriterion, validateWeightCriterion, vectorMasksFromScores, vectorScores, weightScores, type WeightCriterion, type WeightMasks } from './vector.ts';

/**
 * One entry point for every pruning method, shared by `prunebench prune` and the protocols'
 * prune cells: what a method can act on in an architecture (refused with the methods that can,
 * never a silent no-op), and the pruned model it makes.
 */
import { PRUNE_METHODS, type PruneMethod, type VectorCriterion } from './names.ts';
export { PRUNE_METHODS, type PruneMethod };

export const GRANULARITY_OF: Record<PruneMethod, 'channel' | 'layer' | 'vector' | 'weight'> = {
  l1: 'channel',
  l2: 'channel',
  random: 'channel',
  channel: 'channel',
  slimming: 'channel',
  reconstruction: 'channel',
  block: 'layer',
  vector: 'vector',
  magnitude: 'weight',
};

export function isPruneMethod(m: string): m is PruneMethod {
  return (PRUNE_METHODS as readonly string[]).includes(m);
}

/** What a method can prune in a spec: a count of units (0 = nothing) and, when 0, why. */
export interface MethodScope {
  units: number;
  unit: string;
  reason?: string;
}

export function methodScope(spec: ModelSpec, method: PruneMethod): MethodScope {
  const graph = compileGraph(spec);
  const groups = prunableGroups(graph);
  const noGroups = 'it has no prunable channel group (every conv output is tied by a residual addition or a concatenation)';
  switch (method) {
    case 'l1':
    case 'l2':
    case 'random':
    case 'channel':
      return { units: groups.length, unit: 'channel groups', ...(groups.length === 0 ? { reason: noGroups } : {}) };
    case 'slimming': {
      const n = groups.filter((g) => g.bns.length > 0).length;
      return { units: n, unit: 'channel groups with a BN scale', ...(n === 0 ? { reason: groups.length ? 'none of its prunable channel groups is followed by a BN layer' : noGroups } : {}) };
    }
    case 'reconstruction': {
      const n = groups.filter((g) => !('reason' in reconstructionTarget(graph, g))).length;
      return { units: n, unit: 'channel groups read by one conv or linear layer', ...(n === 0 ? { reason: groups.length ? 'none of its prunable channel groups is read by exactly one conv or linear layer' : noGroups } : {}) };
    }
    case 'block': {
      if (spec.family !== 'resnet' && spec.family !== 'preresnet') return { units: 0, unit: 'residual blocks', reason: `block removal needs residual blocks (a ResNet or PreResNet), and ${spec.name}, a ${spec.family}, has none` };
      const { removable } = removableBlockCount(spec);
      return { units: removable, unit: 'removable residual blocks', ...(removable === 0 ? { reason: 'every block changes its stream\'s shape or is the last of its stage' } : {}) };
    }
    case 'vector':
    case 'magnitude': {
      const n = graph.nodes.filter((x) => x.kind === 'conv').length;
      return { units: n, unit: 'conv layers', ...(n === 0 ? { reason: 'it has no conv layer' } : {}) };
    }
  }
}

/** Refuse a method that cannot act on this architecture, naming the model, the method and the methods that can. */
export function checkMethodApplies(spec: ModelSpec, method: string, key = 'method'): PruneMethod {
  if (!isPruneMethod(method)) throw new ConfigError(`Unknown --method "${method}"; expected one of ${PRUNE_METHODS.join(', ')}`, key);
  const scope = methodScope(spec, method);
  if (scope.units > 0) return method;
  const working = PRUNE_METHODS.filter((m) => methodScope(spec, m).units > 0);
  throw new ConfigError(`--method ${method} cannot prune ${spec.name} (a ${spec.family}): ${scope.reason}; methods that can: ${working.join(', ') || 'none'}`, key);
}

export interface PruneModelOptions {
  method: PruneMethod;
  /** Fraction removed, in [0, 1) (unused with a profile). */
  ratio: number;
  /** Li et al.'s named profile (l1, l2, random). */
  profile?: string;
  minChannels: number;
  seed: number;
  /** slimming: how the global threshold is placed (default 'floor'). */
  thresholdRule?: ThresholdRule;
  /** reconstruction: the images whose activations are sampled (required for that method). */
  sampleImages?: tf.Tensor4D;
  /**
   * The channel criterion: required by `channel`; for l1, l2 and random it may only repeat the
   * method (they are the criterion of the same name, layerwise by default).
   */
  criterion?: Criterion;
  /** Channel methods: layerwise (default) or global; masks: layerwise or global (default). */
  scope?: Scope;
  /** Global channel scope: per-layer normalisation (default DEFAULT_GLOBAL_NORM). */
  globalNorm?: GlobalNorm;
  /** Channel methods: no group loses more than this fraction of its channels (default 1). */
  maxLayerRatio?: number;
  /** An exact budget instead of a ratio (`ratio` must then be 0): searched, see budget.ts. */
  target?: BudgetTarget;
  /** Calibration data for criteria that need it (criterionNeedsData, weightCriterionNeedsData). */
  calibration?: CalibrationData;
  /** magnitude (weight granularity): the weight criterion that scores single weights (default 'magnitude'). */
  weightCriterion?: WeightCriterion;
  /** vector: how a kernel fibre is scored (default 'l1'; see VECTOR_CRITERIA). */
  vectorCriterion?: VectorCriterion;
}

interface Outcome {
  /** The pruned model, a new one (the input model is not changed). The caller disposes it. */
  model: Model;
  /** Fraction of the method's units removed: channels, blocks, kernel fibres or weights. */
  removedFraction: number;
  /** The scope used (channel and mask methods; block removal ranks all blocks, reconstruction and slimming are what they are). */
  scope?: Scope;
  /** The criterion that ranked the channels (channel methods). */
  criterion?: Criterion;
  /** The weight criterion that scored single weights (weight granularity). */
  weightCriterion?: WeightCriterion;
  /** The criterion that scored kernel fibres (vector granularity). */
  vectorCriterion?: VectorCriterion;
  /** Seconds the criterion's scoring took, once (channel criteria, weight and fibre scores, block importance; not slimming or reconstruction). */
  criterionSeconds?: number;
  /** With a target: what was asked, what the pruned model achieves, and whether it is within 1% (`exact`) or the nearest value (`nearest`). */
  budget?: BudgetResult;
}
export type PruneOutcome =
  | (Outcome & { kind: 'channels'; plan: KeepPlan; guardedLayers: string[]; widthsBefore: Record<string, number>; threshold?: number; thresholdRule?: ThresholdRule; reconstruction?: GroupReconstruction[] })
  | (Outcome & { kind: 'blocks'; removedBlocks: string[]; scores: BlockScore[] })
  | (Outcome & { kind: 'masks'; masks: Map<string, tf.Tensor>; nonZero: Map<string, number> });

/** Refuses options that do not apply to a method (or contradict it), naming the flag. */
function checkOptions(o: PruneModelOptions): void {
  const channelCriterion = ['l1', 'l2', 'random', 'channel'].includes(o.method);
  if (o.profile !== undefined && !['l1', 'l2', 'random', 'channel'].includes(o.method)) {
    throw new ConfigError(`--profile applies to the filter-norm methods (l1, l2, random), not ${o.method}`, 'profile');
  }
  if (o.thresholdRule !== undefined && o.method !== 'slimming') {
    throw new ConfigError(`--threshold-rule applies to --method slimming, not ${o.method}`, 'threshold-rule');
  }
  if (o.criterion !== undefined) {
    if (!(CRITERIA as readonly string[]).includes(o.criterion)) throw new ConfigError(`Unknown --criterion "${o.criterion}"; expected one of ${CRITERIA.join(', ')}`, 'criterion');
    if (!channelCriterion) throw new ConfigError(`--criterion ${o.criterion} ranks channels; --method ${o.method} has its own ranking`, 'criterion');
    if (o.method !== 'channel' && o.criterion !== o.method) throw new ConfigError(`--method ${o.method} is the ${o.method} criterion; it contradicts --criterion ${o.criterion}`, 'criterion');
  }
  if (o.weightCriterion !== undefined) {
    validateWeightCriterion(o.weightCriterion);
    if (o.method !== 'magnitude') throw new ConfigError(`--criterion ${o.weightCriterion} scores single weights; it applies to weight granularity (--method magnitude), not --method ${o.method}`, 'criterion');
  }
  if (o.vectorCriterion !== undefined) {
    validateVectorCriterion(o.vectorCriterion);
    if (o.method !== 'vector') throw new ConfigError(`--criterion ${o.vectorCriterion} with --granularity vector scores kernel fibres; it applies to --method vector, not --method ${o.method}`, 'criterion');
  }
  if (o.method === 'channel' && o.criterion === undefined) throw new ConfigError(`--method channel needs --criterion (one of ${CRITERIA.join(', ')})`, 'criterion');
  if (o.scope !== undefined) {
    validateScope(o.scope, 'scope');
    if (o.method === 'block' || o.method === 'reconstruction') throw new ConfigError(`--scope applies to channel criteria and masks, not --method ${o.method}`, 'scope');
    if (o.method === 'slimming' && o.scope !== 'global') throw new ConfigError('--method slimming is global by definition (one |gamma| threshold); for layerwise BN-scale ranking use --criterion bn-gamma --scope layerwise', 'scope');
  }
  if (o.globalNorm !== undefined) {
    validateGlobalNorm(o.globalNorm, 'global-norm');
    if (!channelCriterion || (o.scope ?? 'layerwise') !== 'global') {
      throw new ConfigError(`--global-norm applies to channel criteria with --scope global${o.method === 'slimming' ? ' (slimming ranks raw |gamma|; use --criterion bn-gamma --scope global --global-norm N)' : ''}`, 'global-norm');
    }
  }
  if (o.maxLayerRatio !== undefined) {
    validateMaxLayerRatio(o.maxLayerRatio, 'max-layer-ratio');
    if (!channelCriterion) throw new ConfigError(`--max-layer-ratio applies to channel criteria (l1, l2, random, channel), not --method ${o.method}`, 'max-layer-ratio');
  }
  if (o.target !== undefined) {
    validateBudgetTarget(o.target, `target-${o.target.kind}`);
    if (o.ratio !== 0 || o.profile !== undefined) throw new ConfigError(`--target-${o.target.kind} replaces --prune-ratio and --profile; give one of them`, `target-${o.target.kind}`);
    if (o.method === 'reconstruction') throw new ConfigError('--target-speedup / --target-compression are not supported for --method reconstruction (its greedy selection is too slow to search)', `target-${o.target.kind}`);
  }
}

function seconds(t0: number): number {
  return (performance.now() - t0) / 1000;
}

/** Prunes `model` by one method (checked against the architecture first). */
export function pruneModel(model: Model, o: PruneModelOptions): PruneOutcome {
  checkMethodApplies(model.spec, o.method);
  const ratio = validatePruneRatio(o.ratio);
  checkOptions(o);
  const target = o.target;
  switch (o.method) {
    case 'magnitude':
    case 'vector': {
      const scope = o.scope ?? 'global';
      const maskScope = scope === 'global' ? 'global' : 'layer';
      // Weight (or fibre) scores are computed once (a budget search tries many ratios), and timed.
      const t0 = performance.now();
      const weightScoresByName = o.method === 'magnitude' ? weightScores(model, o.weightCriterion ?? 'magnitude', o.calibration ? { calibration: o.calibration } : {}) : undefined;
      const fibreScores = o.method === 'vector' ? vectorScores(model, { criterion: o.vectorCriterion ?? 'l1' }) : undefined;
      const criterionSeconds = (performance.now() - t0) / 1000;
      const masksAt = (r: number): WeightMasks => (weightScoresByName ? masksFromWeightScores(model, weightScoresByName, { ratio: r, scope: maskScope }) : vectorMasksFromScores(fibreScores!, { ratio: r, scope: maskScope }));
      let budget: BudgetResult | undefined;
      let r = ratio;
      if (target) {
        const convs = model.graph.nodes.filter((n) => n.kind === 'conv').map((n) => model.param(`${n.name}.weight`).shape);
        // Units: single weights, or kernel fibres (kh x kw x cout per conv).
        const units = convs.reduce((n, [kh, kw, cin, cout]) => n + (o.method === 'magnitude' ? kh! * kw! * cin! * cout! : kh! * kw! * cout!), 0);
        budget = maskBudgetRatio(model.spec, target, (x) => {
          const m = masksAt(x);
          const nz = new Map(m.nonZero);
          disposeMasks(m);
          return nz;
        }, units);
        r = budget.setting;
      }
      const m = masksAt(r);
      const masked = model.clone();
      masked.applyMasks(m.masks);
      if (budget) budget = { ...budget, achieved: budgetValueOf(target!, model, masked, m.nonZero) };
      return { kind: 'masks', model: masked, masks: m.masks, nonZero: m.nonZero, removedFraction: m.prunedFraction, scope, criterionSeconds, ...(weightScoresByName ? { weightCriterion: o.weightCriterion ?? 'magnitude' } : { vectorCriterion: o.vectorCriterion ?? 'l1' }), ...(budget ? { budget } : {}) };
    }
    case 'block': {
      // The criterion (each block's |BN gamma| sum) is scored once and timed like the others.
      const t0 = performance.now();
      const scores = blockImportance(model);
      const criterionSeconds = seconds(t0);
      if (target) {
        const b = blockBudget(model, target, scores);
        const pruned = removeBlocks(model, b.removedBlocks);
        return { kind: 'blocks', model: pruned, removedBlocks: b.removedBlocks, scores, removedFraction: b.removedBlocks.length / scores.length, criterionSeconds, budget: { ...b.budget, achieved: budgetValueOf(target, model, pruned) } };
      }
      const removedBlocks = selectBlocksToRemove(scores, { ratio });
      return { kind: 'blocks', model: removeBlocks(model, removedBlocks), removedBlocks, scores, removedFraction: removedBlocks.length / scores.length, criterionSeconds };
    }
    default: {
      const groups = prunableGroups(model.graph);
      const widthsBefore = Object.fromEntries(groups.map((g) => [g.id, g.channels]));
      const before = groups.reduce((n, g) => n + g.channels, 0);
      const removed = (plan: KeepPlan): number => 1 - Object.values(plan.groups).reduce((n, k) => n + k.length, 0) / before;
      if (o.method === 'reconstruction') {
        if (!o.sampleImages) throw new ConfigError('reconstruction pruning needs sample images', 'method');
        const r = reconstructionPrune(model, o.sampleImages, { ratio, seed: o.seed });
        return { kind: 'channels', model: r.model, plan: r.plan, guardedLayers: [], widthsBefore, reconstruction: r.errors, removedFraction: removed(r.plan) };
      }
      if (o.method === 'slimming') {
        const slim = (x: number): ReturnType<typeof slimmingPlan> => slimmingPlan(model, x, { minChannels: o.minChannels, ...(o.thresholdRule ? { thresholdRule: o.thresholdRule } : {}) });
        let budget: BudgetResult | undefined;
        if (target) {
          const base = countSpec(model.spec);
          const value = (x: number): number => budgetValue(target.kind, base, countSpec(compactSpec(model.spec, slim(x).plan)));
          const { bracket: _bracket, ...found } = searchBudget(target, value, { hi: 1 - 0.5 / before, resolution: 0.25 / before, limits: `one global |gamma| threshold with --min-channels ${o.minChannels}` });
          budget = found;
        }
        const r = slim(budget ? budget.setting : ratio);
        const pruned = compactModel(model, r.plan);
        if (budget) budget = { ...budget, achieved: budgetValueOf(target!, model, pruned) };
        return { kind: 'channels', model: pruned, plan: r.plan, guardedLayers: r.guardedLayers, widthsBefore, threshold: r.threshold!, thresholdRule: r.thresholdRule!, removedFraction: removed(r.plan), scope: 'global', criterion: 'bn-gamma', ...(budget ? { budget } : {}) };
      }
      const criterion: Criterion = o.criterion ?? (o.method as Criterion);
      const scope = o.scope ?? 'layerwise';
      const t0 = performance.now();
      const scores = scoreChannels(model, criterion, { seed: o.seed, ...(o.calibration ? { calibration: o.calibration } : {}) });
      const criterionSeconds = seconds(t0);
      const policy = { scope, minChannels: o.minChannels, ...(o.maxLayerRatio !== undefined ? { maxLayerRatio: o.maxLayerRatio } : {}), ...(scope === 'global' ? { norm: o.globalNorm ?? DEFAULT_GLOBAL_NORM } : {}) };
      let r: ChannelPruneResult;
      let budget: BudgetResult | undefined;
      if (target) {
        const found = channelBudgetPlan(model, scores, target, policy);
        r = found;
        budget = found.budget;
      } else if (o.profile !== undefined) {
        if (scope === 'global') throw new ConfigError('--profile sets per-layer ratios, so it is layerwise; drop --scope global or the profile', 'scope');
        r = predefinedPlan(model, resolveProfile(model.spec, findProfile(model.spec.name, o.profile)), { criterion, minChannels: o.minChannels, seed: o.seed, ...(o.calibration ? { calibration: o.calibration } : {}) });
      } else {
        r = scopedPlan(model, scores, { ...policy, ratio });
      }
      const pruned = compactModel(model, r.plan);
      if (budget) budget = { ...budget, achieved: budgetValueOf(target!, model, pruned) };
      return { kind: 'channels', model: pruned, plan: r.plan, guardedLayers: r.guardedLayers, widthsBefore, removedFraction: removed(r.plan), scope, criterion, criterionSeconds, ...(budget ? { budget } : {}) };
    }
  }
}

/** The achieved value, recounted from the pruned model itself (its spec and masks), not from the search. */
function budgetValueOf(target: BudgetTarget, base: Model, pruned: Model, nonZero?: Map<string, number>): number {
  return budgetValue(target.kind, countSpec(base.spec), countSpec(pruned.spec, nonZero ? { nonZero } : {}));
}

/**
 * Refuse a pruning that removed nothing although something was asked for (a ratio above 0 or a
 * profile): at this ratio the rounding leaves every unit, or the minimum-channels guard kept
 * them all. Names the model, the method and what to change.
 */
export function assertPruned(outcome: PruneOutcome, o: { model: string; method: PruneMethod; ratio: number; profile?: string }): void {
  if (outcome.removedFraction > 0 || (o.ratio === 0 && o.profile === undefined)) return;
  const asked = o.profile !== undefined ? `--profile ${o.profile}` : `--prune-ratio ${o.ratio}`;
  let why: string;
  if (outcome.kind === 'blocks') why = `floor(${o.ratio} x ${outcome.scores.length} blocks) = ${Math.floor(o.ratio * outcome.scores.length)} blocks go; raise the ratio to at least ${(1 / outcome.scores.length).toFixed(3)}`;
  else if (outcome.kind === 'masks') why = 'the ratio rounds to zero units; raise it';
  else if (outcome.threshold !== undefined) {
    const total = Object.values(outcome.widthsBefore).reduce((a, b) => a + b, 0);
    why = `floor(${o.ratio} x ${total} channels) = ${Math.floor(o.ratio * total)} fall under the global threshold; raise the ratio`;
  } else {
    const smallest = Math.min(...Object.values(outcome.widthsBefore));
    why = outcome.guardedLayers.length > 0
      ? `the minimum-channels guard kept every channel of ${outcome.guardedLayers.join(', ')}; lower --min-channels or raise the ratio`
      : `every channel group keeps floor(C x (1 - ratio)) = C channels (the narrowest has ${smallest}); raise the ratio`;
  }
  throw new PlanError(`--method ${o.method} ${asked} removes nothing from ${o.model}: ${why}`);
}
