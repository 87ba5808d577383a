import type { ModelGraph } from '../models/index.ts';
import { PlanError } from '../util/errors.ts';
import { prunableGroups } from './groups.ts';

/**
 * Which channels survive, per prunable channel group (keyed by the group's producing node:
 * a conv or a channel selection). Plain JSON, saved next to every pruned model.
 */
export interface KeepPlan {
  model: string;
  groups: Record<string, number[]>;
}

/** Rejects plans that would silently damage a model; returns the sorted plan. */
export function validatePlan(graph: ModelGraph, plan: KeepPlan): KeepPlan {
  const groups = prunableGroups(graph);
  const known = new Map(groups.map((g) => [g.id, g]));
  for (const id of Object.keys(plan.groups)) {
    if (!known.has(id)) {
      throw new PlanError(`Plan for ${plan.model} names ${id}, which is not a prunable channel group of this model`, id);
    }
  }
  const out: Record<string, number[]> = {};
  for (const g of groups) {
    const keep = plan.groups[g.id];
    if (!keep) throw new PlanError(`Plan for ${plan.model} misses channel group ${g.id} (${g.channels} channels); list all its channels to keep it whole`, g.id);
    if (keep.length === 0) throw new PlanError(`Plan would prune layer ${g.id} to zero channels`, g.id);
    const seen = new Set<number>();
    for (const i of keep) {
      if (!Number.isInteger(i) || i < 0 || i >= g.channels) {
        throw new PlanError(`Plan keeps channel ${i} of layer ${g.id}, which has channels 0..${g.channels - 1}`, g.id);
      }
      if (seen.has(i)) throw new PlanError(`Plan keeps channel ${i} of layer ${g.id} twice`, g.id);
      seen.add(i);
    }
    out[g.id] = [...keep].sort((a, b) => a - b);
  }
  return { model: plan.model, groups: out };
}

/** A plan that keeps every channel. */
export function keepAllPlan(graph: ModelGraph, model: string): KeepPlan {
  const groups: Record<string, number[]> = {};
  for (const g of prunableGroups(graph)) groups[g.id] = Array.from({ length: g.channels }, (_, i) => i);
  return { model, groups };
}

/** Kept widths per group. */
export function planWidths(plan: KeepPlan): Record<string, number> {
  return Object.fromEntries(Object.entries(plan.groups).map(([k, v]) => [k, v.length]));
}
