/**
 * The pruned architecture of an arm, known (exactly or approximately) before any training: for
 * the estimate of `prunebench list`, and for Scratch-E/B cells of arms whose architecture does
 * not depend on the trained weights, which therefore need not wait for the baseline.
 */
import { countSpec } from '../metrics/index.ts';
import { Model, type ModelSpec } from '../models/index.ts';
import { pruneModel, type PruneMethod, type PruneModelOptions } from '../pruning/index.ts';
import type { Arm } from './config.ts';

/** Methods whose per-layer ratios are found from trained weights; the estimate uses a uniform ratio instead. */
const AUTOMATIC: readonly string[] = ['slimming', 'reconstruction', 'block'];
/**
 * Channel criteria ranked layerwise (l1, l2, random, and `channel` with any criterion), at a
 * profile, one ratio for all layers or a ratio searched for a budget: each layer keeps floor(C x
 * (1 - ratio)) channels (or the minimum-channels guard's count) whatever its weights, so pruning an
 * initialised model gives the trained model's exact architecture. The weights only decide WHICH
 * channels stay, which a network trained from scratch does not inherit.
 */
const WEIGHT_INDEPENDENT: readonly string[] = ['l1', 'l2', 'random', 'channel'];

/** True when the arm's pruned architecture follows from the spec and the arm alone (see WEIGHT_INDEPENDENT). */
export function architectureKnownBeforeTraining(arm: Pick<Arm, 'method' | 'scope'>): boolean {
  // Global ranking compares scores across layers, so the widths follow the weights. Layerwise
  // budgets are not affected: the searched widths depend on the channel counts only.
  return WEIGHT_INDEPENDENT.includes(arm.method) && arm.scope !== 'global';
}

export interface PrunedShape {
  /** The architecture the pruned model trains at (the dense one for weight masks). */
  spec: ModelSpec;
  /** MACs counting only unmasked weights: Scratch-B's budget divides by this. */
  macsEffective: number;
  approximate: boolean;
}

/**
 * The pruned architecture of an arm, computed by pruning a randomly initialised model: profiles
 * and uniform ratios give the exact channel counts. Weight masks get the exact count of zeros
 * but not their spread over layers (that follows the trained magnitudes), and automatic methods
 * a uniform L1 ratio as a stand-in: both are flagged approximate.
 */
export function prunedShape(full: ModelSpec, arm: Arm): PrunedShape {
  const standIn = AUTOMATIC.includes(arm.method);
  const approximate = !architectureKnownBeforeTraining(arm);
  const method: PruneMethod = standIn ? 'l1' : (arm.method as PruneMethod);
  // Stand-ins and the channel method rank by l1, layerwise (what an initialised model can say).
  const channel = method === 'channel';
  const options: PruneModelOptions = {
    method: channel ? 'l1' : method,
    ratio: arm.pruneRatio,
    minChannels: arm.minChannels,
    seed: 0,
    ...(arm.profile && !standIn ? { profile: arm.profile } : {}),
    ...(arm.target ? { target: arm.target } : {}),
    ...(arm.scope && !standIn && !channel ? { scope: arm.scope } : {}),
    ...(arm.scope === 'global' && arm.globalNorm && !standIn && !channel ? { globalNorm: arm.globalNorm } : {}),
    ...(arm.maxLayerRatio !== undefined && !standIn ? { maxLayerRatio: arm.maxLayerRatio } : {}),
  };
  // Arms that differ only in what an initialised model cannot tell apart (the criteria of a
  // tradeoff study, all ranked by l1 here) share one shape: pruning a full-width model takes
  // seconds, and `prunebench list` asks for every arm of every preset.
  const key = JSON.stringify([full, options]);
  let shape = SHAPES.get(key);
  if (!shape) {
    shape = pruneInitialised(full, options);
    if (SHAPES.size >= 256) SHAPES.clear();
    SHAPES.set(key, shape);
  }
  return { ...shape, approximate };
}

const SHAPES = new Map<string, Omit<PrunedShape, 'approximate'>>();

function pruneInitialised(full: ModelSpec, options: PruneModelOptions): Omit<PrunedShape, 'approximate'> {
  const model = Model.init(full, 0);
  try {
    const r = pruneModel(model, options);
    try {
      if (r.kind === 'masks') return { spec: full, macsEffective: countSpec(full, { nonZero: r.nonZero }).macsEffective };
      return { spec: r.model.spec, macsEffective: countSpec(r.model.spec).macs };
    } finally {
      r.model.dispose();
      if (r.kind === 'masks') for (const m of r.masks.values()) m.dispose();
    }
  } finally {
    model.dispose();
  }
}
