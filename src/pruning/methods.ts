import type { Model } from '../models/index.ts';
import { ConfigError } from '../util/errors.ts';
import { bnGammaImportance, importanceFor, topK, type Criterion } from './criteria.ts';
import { prunableGroups, type ChannelGroup } from './groups.ts';
import type { KeepPlan } from './plan.ts';

/** `pruneRatio` always means the fraction removed; it must lie in [0, 1). */
export function validatePruneRatio(ratio: number, key = '--prune-ratio'): number {
  if (!(typeof ratio === 'number' && Number.isFinite(ratio) && ratio >= 0 && ratio < 1)) {
    throw new ConfigError(`Expected ${key} to be a fraction in [0, 1) (the fraction removed), but got ${ratio}`, key);
  }
  return ratio;
}

export interface ChannelPruneResult {
  plan: KeepPlan;
  /** Layers that the minimum-channels guard kept above what the criterion asked for. */
  guardedLayers: string[];
  /** Network Slimming's global threshold on |gamma|. */
  threshold?: number;
}

/** Groups a filter criterion can score: conv-produced ones (channel selections need bn-gamma). */
function scorableGroups(model: Model, criterion: Criterion): ChannelGroup[] {
  const groups = prunableGroups(model.graph);
  return criterion === 'l1' || criterion === 'l2' ? groups.filter((g) => g.producerKind === 'conv') : groups;
}

/**
 * Predefined per-layer ratios (a profile or a uniform ratio): in every group keep the top
 * floor(C * (1 - ratio)) channels by the criterion, at least `minChannels`.
 */
export function predefinedPlan(
  model: Model,
  ratios: Map<string, number>,
  opts: { criterion: Criterion; minChannels?: number; seed?: number },
): ChannelPruneResult {
  const importance = importanceFor(opts.criterion, opts.seed ?? 0);
  const minChannels = opts.minChannels ?? 1;
  const groups: Record<string, number[]> = {};
  const guardedLayers: string[] = [];
  for (const g of prunableGroups(model.graph)) {
    const ratio = ratios.get(g.id) ?? 0;
    validatePruneRatio(ratio, `ratio of ${g.id}`);
    let keep = Math.floor(g.channels * (1 - ratio));
    if (keep < Math.min(minChannels, g.channels)) {
      keep = Math.min(minChannels, g.channels);
      guardedLayers.push(g.id);
    }
    groups[g.id] = keep === g.channels ? Array.from({ length: g.channels }, (_, i) => i) : topK(importance(model, g), keep);
  }
  return { plan: { model: model.spec.name, groups }, guardedLayers };
}

/** The same ratio in every group the criterion can score. */
export function uniformRatios(model: Model, ratio: number, criterion: Criterion): Map<string, number> {
  validatePruneRatio(ratio);
  return new Map(scorableGroups(model, criterion).map((g) => [g.id, ratio]));
}

/** The BN scale factors that Network Slimming's sparsity penalty acts on and ranks. */
export function slimmingGammaParams(model: Model): string[] {
  const names = new Set<string>();
  for (const g of prunableGroups(model.graph)) if (g.bns[0]) names.add(`${g.bns[0]}.gamma`);
  return [...names];
}

/**
 * Network Slimming: one global threshold over |gamma| of every prunable channel, chosen so that
 * floor(total * ratio) channels fall at or below it; channels above it are kept, so the ratio
 * per layer is found automatically. A layer left with fewer than `minChannels` keeps its
 * largest ones instead (the reference code crashes on an emptied layer), and is reported.
 */
export function slimmingPlan(model: Model, ratio: number, opts: { minChannels?: number } = {}): ChannelPruneResult {
  validatePruneRatio(ratio);
  const minChannels = opts.minChannels ?? 1;
  const groups = prunableGroups(model.graph);
  const scores = new Map(groups.map((g) => [g.id, bnGammaImportance(model, g)]));
  const all = Float32Array.from(groups.flatMap((g) => Array.from(scores.get(g.id)!))).sort();
  const pruneCount = Math.floor(all.length * ratio);
  const threshold = pruneCount > 0 ? all[pruneCount - 1]! : -Infinity;
  const plan: Record<string, number[]> = {};
  const guardedLayers: string[] = [];
  for (const g of groups) {
    const s = scores.get(g.id)!;
    let keep = Array.from(s.keys()).filter((i) => s[i]! > threshold);
    const floor = Math.min(minChannels, g.channels);
    if (keep.length < floor) {
      keep = topK(s, floor);
      guardedLayers.push(g.id);
    }
    plan[g.id] = keep;
  }
  return { plan: { model: model.spec.name, groups: plan }, guardedLayers, threshold };
}
