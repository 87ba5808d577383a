import type * as tf from '@tensorflow/tfjs-core';
import { compileGraph, type Model, type ModelSpec } from '../models/index.ts';
import { ConfigError, PlanError } from '../util/errors.ts';
import { blockImportance, removableBlockCount, removeBlocks, selectBlocksToRemove, type BlockScore } from './blocks.ts';
import type { Criterion } from './criteria.ts';
import { prunableGroups } from './groups.ts';
import { predefinedPlan, slimmingPlan, uniformRatios, validatePruneRatio, type ThresholdRule } from './methods.ts';
import type { KeepPlan } from './plan.ts';
import { findProfile, resolveProfile } from './profiles.ts';
import { reconstructionPrune, reconstructionTarget, type GroupReconstruction } from './reconstruction.ts';
import { compactModel } from './surgery.ts';
import { vectorMasks, weightMagnitudeMasks } from './vector.ts';

/**
 * One entry point for every pruning method, shared by `prunebench prune` and the protocols'
 * prune cells: what a method can act on in an architecture (refused with the methods that can,
 * never a silent no-op), and the pruned model it makes.
 */
export const PRUNE_METHODS = ['l1', 'l2', 'random', 'slimming', 'reconstruction', 'block', 'vector', 'magnitude'] as const;
export type PruneMethod = (typeof PRUNE_METHODS)[number];

export const GRANULARITY_OF: Record<PruneMethod, 'channel' | 'layer' | 'vector' | 'weight'> = {
  l1: 'channel',
  l2: 'channel',
  random: 'channel',
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
}

interface Outcome {
  /** The pruned model, a new one (the input model is not changed). The caller disposes it. */
  model: Model;
  /** Fraction of the method's units removed: channels, blocks, kernel fibres or weights. */
  removedFraction: number;
}
export type PruneOutcome =
  | (Outcome & { kind: 'channels'; plan: KeepPlan; guardedLayers: string[]; widthsBefore: Record<string, number>; threshold?: number; thresholdRule?: ThresholdRule; reconstruction?: GroupReconstruction[] })
  | (Outcome & { kind: 'blocks'; removedBlocks: string[]; scores: BlockScore[] })
  | (Outcome & { kind: 'masks'; masks: Map<string, tf.Tensor>; nonZero: Map<string, number> });

/** Prunes `model` by one method (checked against the architecture first). */
export function pruneModel(model: Model, o: PruneModelOptions): PruneOutcome {
  checkMethodApplies(model.spec, o.method);
  const ratio = validatePruneRatio(o.ratio);
  if (o.profile !== undefined && !['l1', 'l2', 'random'].includes(o.method)) {
    throw new ConfigError(`--profile applies to the filter-norm methods (l1, l2, random), not ${o.method}`, 'profile');
  }
  if (o.thresholdRule !== undefined && o.method !== 'slimming') {
    throw new ConfigError(`--threshold-rule applies to --method slimming, not ${o.method}`, 'threshold-rule');
  }
  switch (o.method) {
    case 'magnitude':
    case 'vector': {
      const m = o.method === 'magnitude' ? weightMagnitudeMasks(model, { ratio }) : vectorMasks(model, { ratio });
      const masked = model.clone();
      masked.applyMasks(m.masks);
      return { kind: 'masks', model: masked, masks: m.masks, nonZero: m.nonZero, removedFraction: m.prunedFraction };
    }
    case 'block': {
      const scores = blockImportance(model);
      const removedBlocks = selectBlocksToRemove(scores, { ratio });
      return { kind: 'blocks', model: removeBlocks(model, removedBlocks), removedBlocks, scores, removedFraction: removedBlocks.length / scores.length };
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
        const r = slimmingPlan(model, ratio, { minChannels: o.minChannels, ...(o.thresholdRule ? { thresholdRule: o.thresholdRule } : {}) });
        return { kind: 'channels', model: compactModel(model, r.plan), plan: r.plan, guardedLayers: r.guardedLayers, widthsBefore, threshold: r.threshold!, thresholdRule: r.thresholdRule!, removedFraction: removed(r.plan) };
      }
      const criterion = o.method as Criterion;
      const ratios = o.profile !== undefined ? resolveProfile(model.spec, findProfile(model.spec.name, o.profile)) : uniformRatios(model, ratio, criterion);
      const r = predefinedPlan(model, ratios, { criterion, minChannels: o.minChannels, seed: o.seed });
      return { kind: 'channels', model: compactModel(model, r.plan), plan: r.plan, guardedLayers: r.guardedLayers, widthsBefore, removedFraction: removed(r.plan) };
    }
  }
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
