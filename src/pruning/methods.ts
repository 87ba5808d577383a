import type { Model } from '../models/index.ts';
import { ConfigError } from '../util/errors.ts';
import { bnGammaImportance, scoreChannels, topK, type CalibrationData, type Criterion } from './criteria.ts';
import { prunableGroups } from './groups.ts';
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
  /** Network Slimming's global threshold on |gamma|, and how it was placed. */
  threshold?: number;
  thresholdRule?: ThresholdRule;
}


/**
 * Predefined per-layer ratios (a profile or a uniform ratio): in every group keep the top
 * floor(C * (1 - ratio)) channels by the criterion, at least `minChannels`.
 */
export function predefinedPlan(
  model: Model,
  ratios: Map<string, number>,
  opts: { criterion: Criterion; minChannels?: number; seed?: number; calibration?: CalibrationData },
): ChannelPruneResult {
  const scores = scoreChannels(model, opts.criterion, { seed: opts.seed ?? 0, ...(opts.calibration ? { calibration: opts.calibration } : {}) });
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
    groups[g.id] = keep === g.channels ? Array.from({ length: g.channels }, (_, i) => i) : topK(scores.get(g.id)!, keep);
  }
  return { plan: { model: model.spec.name, groups }, guardedLayers };
}

/**
 * The same ratio in every prunable group. Every criterion scores every group (filter norms score
 * a channel selection by the weights that read it), so l1, l2 and random prune the same groups
 * and differ only in which channels they keep.
 */
export function uniformRatios(model: Model, ratio: number, _criterion?: Criterion): Map<string, number> {
  validatePruneRatio(ratio);
  return new Map(prunableGroups(model.graph).map((g) => [g.id, ratio]));
}

/** The BN scale factors that Network Slimming's sparsity penalty acts on and ranks. */
export function slimmingGammaParams(model: Model): string[] {
  const names = new Set<string>();
  for (const g of prunableGroups(model.graph)) if (g.bns[0]) names.add(`${g.bns[0]}.gamma`);
  return [...names];
}

/**
 * How Network Slimming's global threshold is placed among the sorted |gamma| of all `total`
 * prunable channels, for a ratio r:
 * - `floor` (ours, the default): at the floor(r x total)-th smallest value, so floor(r x total)
 *   channels fall at or below it (more only on ties);
 * - `reference`: as the reference scripts (vggprune.py, resprune.py, denseprune.py) do, at the
 *   value with 0-based index int(total x r), keeping channels strictly above it: one channel
 *   more than floor(r x total) is pruned, and even r = 0 prunes the smallest.
 */
export const THRESHOLD_RULES = ['floor', 'reference'] as const;
export type ThresholdRule = (typeof THRESHOLD_RULES)[number];

export function validateThresholdRule(rule: string, key = '--threshold-rule'): ThresholdRule {
  if (!(THRESHOLD_RULES as readonly string[]).includes(rule)) {
    throw new ConfigError(`Expected ${key} to be one of ${THRESHOLD_RULES.join(', ')}, but got ${JSON.stringify(rule)}`, key);
  }
  return rule as ThresholdRule;
}

/**
 * Network Slimming: one global threshold over |gamma| of every prunable channel (placed by
 * `thresholdRule`, see THRESHOLD_RULES); channels above it are kept, so the ratio per layer is
 * found automatically. A layer left with fewer than `minChannels` keeps its largest ones instead
 * (the reference code crashes on an emptied layer), and is reported.
 */
export function slimmingPlan(model: Model, ratio: number, opts: { minChannels?: number; thresholdRule?: ThresholdRule } = {}): ChannelPruneResult {
  validatePruneRatio(ratio);
  const rule = validateThresholdRule(opts.thresholdRule ?? 'floor', 'thresholdRule');
  const minChannels = opts.minChannels ?? 1;
  const groups = prunableGroups(model.graph);
  const scores = new Map(groups.map((g) => [g.id, bnGammaImportance(model, g)]));
  const all = Float32Array.from(groups.flatMap((g) => Array.from(scores.get(g.id)!))).sort();
  const index = Math.floor(all.length * ratio);
  const threshold = rule === 'reference' ? all[index]! : index > 0 ? all[index - 1]! : -Infinity;
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
  return { plan: { model: model.spec.name, groups: plan }, guardedLayers, threshold, thresholdRule: rule };
}
