import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../models/index.ts';
import { ConfigError, PlanError } from '../util/errors.ts';
import { scoreChannels, topK, type Criterion } from './criteria.ts';
import { prunableGroups } from './groups.ts';
import type { KeepPlan } from './plan.ts';
import { vectorMasks, weightMagnitudeMasks, type VectorCriterion } from './vector.ts';

/**
 * Gradual pruning (Zhu & Gupta 2017, "To prune, or not to prune", AGP): the sparsity rises from
 * s_i to s_f over n pruning steps of dt training steps each,
 *   s_t = s_f + (s_i - s_f) (1 - (t - t0) / (n dt))^3,   t in {t0, t0 + dt, ..., t0 + n dt},
 * fast at first (while many redundant units remain) and slowly towards the end; masks change
 * only at those steps, and a unit once masked stays masked.
 */
export function agpSparsity(o: { initial: number; final: number; startStep: number; endStep: number; step: number }): number {
  if (o.step <= o.startStep && o.endStep > o.startStep) return o.initial;
  // At or after the end (and for an empty span, start = end) the target holds exactly.
  if (o.step >= o.endStep) return o.final;
  const progress = (o.step - o.startStep) / (o.endStep - o.startStep);
  return o.final + (o.initial - o.final) * (1 - progress) ** 3;
}

/** The recorded options of a gradual arm; see GRADUAL_DEFAULTS. */
export interface GradualOptions {
  /** Mask updates over the pruning span (at most n, after the one at step 0): every ceil(span / n) steps. */
  updates: number;
  /** Fraction of the training steps over which the sparsity rises; the rest recovers at s_f (Zhu & Gupta leave the end to recover). */
  endFraction: number;
  /** Sparsity at the first update (s_i); Zhu & Gupta start from 0. */
  initialSparsity: number;
}

/** Masks updated 20 times over the first 75% of the steps, from sparsity 0. */
export const GRADUAL_DEFAULTS: GradualOptions = { updates: 20, endFraction: 0.75, initialSparsity: 0 };

/** The resolved schedule, in training steps (batches) of the whole run: what the run record keeps. */
export interface AgpSchedule {
  initial: number;
  final: number;
  totalSteps: number;
  startStep: number;
  /** The last update, at s_f exactly: startStep + updates x updateEvery. */
  endStep: number;
  updateEvery: number;
  updates: number;
  endFraction: number;
}

/** Checks a gradual arm's options; errors name `key` (e.g. arms.0.gradual). */
export function validateGradualOptions(o: Partial<GradualOptions>, final: number, key = 'gradual'): GradualOptions {
  const r = { ...GRADUAL_DEFAULTS, ...o };
  if (!Number.isInteger(r.updates) || r.updates < 1) throw new ConfigError(`Expected ${key}.updates to be a positive integer, but got ${r.updates}`, `${key}.updates`);
  if (!(r.endFraction > 0 && r.endFraction <= 1)) throw new ConfigError(`Expected ${key}.endFraction in (0, 1], but got ${r.endFraction}`, `${key}.endFraction`);
  if (!(r.initialSparsity >= 0 && r.initialSparsity <= final)) {
    throw new ConfigError(`Expected ${key}.initialSparsity in [0, ${final}] (at most the arm's pruneRatio), but got ${r.initialSparsity}`, `${key}.initialSparsity`);
  }
  return r;
}

/**
 * The update steps of a run of `totalSteps` steps: t0 = 0, dt = ceil(span / updates) (at least
 * 1), n = floor(span / dt) <= updates, so the last update, at n dt, falls less than dt before
 * span = round(endFraction x totalSteps), itself at most the last step (an update at step t runs
 * before it, so one at totalSteps never would). With fewer steps than updates every step
 * updates; with one step (or none) the first prunes to s_f at once.
 */
export function agpSchedule(o: { totalSteps: number; final: number } & Partial<GradualOptions>): AgpSchedule {
  const opts = validateGradualOptions(o, o.final);
  if (!Number.isInteger(o.totalSteps) || o.totalSteps < 0) throw new ConfigError(`Expected totalSteps to be a non-negative integer, but got ${o.totalSteps}`, 'totalSteps');
  const span = Math.max(0, Math.min(o.totalSteps - 1, Math.round(opts.endFraction * o.totalSteps)));
  const updateEvery = span === 0 ? 1 : Math.max(1, Math.ceil(span / opts.updates));
  const updates = Math.floor(span / updateEvery);
  return { initial: opts.initialSparsity, final: o.final, totalSteps: o.totalSteps, startStep: 0, endStep: updates * updateEvery, updateEvery, updates, endFraction: opts.endFraction };
}

export function isUpdateStep(s: AgpSchedule, step: number): boolean {
  return step >= s.startStep && step <= s.endStep && (step - s.startStep) % s.updateEvery === 0;
}

/** The sparsity in force at `step` under the schedule, with `final` in place of s.final (per-layer targets). */
export function scheduledSparsity(s: AgpSchedule, step: number, final = s.final): number {
  return agpSparsity({ initial: Math.min(s.initial, final), final, startStep: s.startStep, endStep: s.endStep, step });
}

// ---------------------------------------------------------------------------------------------

/** Per channel group, the kept channels that a set of channel masks leaves (read from a 1-D weight of the group: BN scale, shift or bias). */
export function keepPlanFromChannelMasks(model: Model, masks: Map<string, tf.Tensor>): KeepPlan {
  const groups: Record<string, number[]> = {};
  for (const g of prunableGroups(model.graph)) {
    const entry = g.weightAxes.find(([name]) => masks.has(name) && masks.get(name)!.rank === 1);
    if (!entry) throw new PlanError(`Channel group ${g.id} has no masked 1-D weight (BN scale, shift or bias) to read its kept channels from`, g.id);
    const v = masks.get(entry[0])!.dataSync();
    groups[g.id] = Array.from(v.keys()).filter((i) => v[i] !== 0);
  }
  return { model: model.spec.name, groups };
}

/**
 * 0/1 masks that zero the pruned channels of a plan in every trainable weight with an axis in
 * their group: the producer's filters and bias, the BN scale and shift (so the channel outputs
 * exactly zero), and the input slices of its readers (so it contributes nothing even before the
 * BN zeros it). Masked so, the model computes what compactModel(model, plan) computes. Every
 * prunable group's weights get a mask (all ones where nothing is pruned), so the kept channels
 * can be read back from the masks (keepPlanFromChannelMasks). The caller disposes them.
 */
export function channelMasks(model: Model, plan: KeepPlan): Map<string, tf.Tensor> {
  const values = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const g of prunableGroups(model.graph)) {
    const keep = plan.groups[g.id];
    if (!keep) throw new PlanError(`The plan has no entry for channel group ${g.id}`, g.id);
    const kept = new Uint8Array(g.channels);
    for (const k of keep) kept[k] = 1;
    for (const [name, axis] of g.weightAxes) {
      if (!model.params.has(name)) continue; // BN running statistics are not trained
      const shape = model.param(name).shape;
      let entry = values.get(name);
      if (!entry) {
        entry = { data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(1), shape };
        values.set(name, entry);
      }
      const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
      const size = shape[axis]!;
      for (let i = 0; i < entry.data.length; i++) if (!kept[Math.floor(i / inner) % size]) entry.data[i] = 0;
    }
  }
  return new Map([...values].map(([name, v]) => [name, tf.tensor(v.data, v.shape, 'float32')]));
}

/**
 * Channels to keep at one gradual step: in every group floor(C x (1 - s)) by the criterion (at
 * least `minChannels`, as predefinedPlan), where s is the group's scheduled sparsity; channels
 * pruned before (absent from `previous`) rank below all others, so they stay pruned.
 */
export function gradualChannelPlan(
  model: Model,
  o: { criterion: Criterion; sparsity: Map<string, number>; minChannels: number; seed: number; previous: KeepPlan | null },
): { plan: KeepPlan; guardedLayers: string[] } {
  const scores = scoreChannels(model, o.criterion, { seed: o.seed });
  const groups: Record<string, number[]> = {};
  const guardedLayers: string[] = [];
  for (const g of prunableGroups(model.graph)) {
    const s = o.sparsity.get(g.id) ?? 0;
    let keep = Math.floor(g.channels * (1 - s));
    if (keep < Math.min(o.minChannels, g.channels)) {
      keep = Math.min(o.minChannels, g.channels);
      guardedLayers.push(g.id);
    }
    const score = Float64Array.from(scores.get(g.id)!);
    const before = o.previous?.groups[g.id];
    if (before) {
      const stillKept = new Set(before);
      for (let i = 0; i < score.length; i++) if (!stillKept.has(i)) score[i] = -Infinity;
    }
    groups[g.id] = topK(score, keep);
  }
  return { plan: { model: model.spec.name, groups }, guardedLayers };
}

/** What a gradual arm prunes: conv weights or fibres by magnitude, or channels by a criterion at per-group ratios. */
export type GradualTarget =
  | { kind: 'weight' | 'vector'; ratio: number; vectorCriterion?: VectorCriterion }
  | { kind: 'channel'; criterion: Criterion; ratios: Map<string, number>; minChannels: number; seed: number };

/**
 * The masks in force at `step` of the schedule, from the model's current weights and the masks
 * in force before (null before the first update). Returns null when `step` is not an update step.
 */
export function gradualMasksAt(model: Model, target: GradualTarget, schedule: AgpSchedule, step: number, current: Map<string, tf.Tensor> | null): Map<string, tf.Tensor> | null {
  if (!isUpdateStep(schedule, step)) return null;
  if (target.kind === 'channel') {
    const sparsity = new Map([...target.ratios].map(([id, r]) => [id, scheduledSparsity(schedule, step, r)]));
    const previous = current ? keepPlanFromChannelMasks(model, current) : null;
    const { plan } = gradualChannelPlan(model, { criterion: target.criterion, sparsity, minChannels: target.minChannels, seed: target.seed, previous });
    return channelMasks(model, plan);
  }
  const ratio = scheduledSparsity(schedule, step, target.ratio);
  const opts = { ratio, ...(current ? { previous: current } : {}) };
  return (target.kind === 'weight' ? weightMagnitudeMasks(model, opts) : vectorMasks(model, { ...opts, ...(target.vectorCriterion ? { criterion: target.vectorCriterion } : {}) })).masks;
}
