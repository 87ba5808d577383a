/**
 * The pruned architecture of an arm, known (exactly or approximately) before any training: for
 * the estimate of `prunebench list`, and for Scratch-E/B cells of arms whose architecture does
 * not depend on the trained weights, which therefore need not wait for the baseline.
 *
 * This module is plain data and loads no TensorFlow.js (`prunebench list` answers from a table of
 * shapes computed once, see ShapeTable); computing a shape is shape-compute.ts's job.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelSpec } from '../models/spec.ts';
import type { PruneMethod, PruneModelOptions } from '../pruning/index.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { REPO_ROOT, RUNNING_FROM_BUILD } from '../util/repo.ts';
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

/** A shape as computed, before the arm says whether it is exact. */
export type ComputedShape = Omit<PrunedShape, 'approximate'>;

/** The shape of an arm's pruned model, as estimate.ts asks for it. */
export type ShapeOf = (full: ModelSpec, arm: Arm) => PrunedShape;

/**
 * How an arm's shape is computed: the prune options applied to an initialised model, and whether
 * the result is the trained model's exact architecture. Profiles and uniform ratios give the
 * exact channel counts. Weight masks get the exact count of zeros but not their spread over layers
 * (that follows the trained magnitudes), and automatic methods a uniform L1 ratio as a stand-in:
 * both are flagged approximate.
 */
export function shapeQuery(full: ModelSpec, arm: Arm): { key: string; options: PruneModelOptions; approximate: boolean } {
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
  // tradeoff study, all ranked by l1 here) share one key, so one shape.
  return { key: JSON.stringify([full, options]), options, approximate };
}

/**
 * Computed shapes by key (shapeQuery). Pruning a full-width initialised model takes seconds, and
 * `prunebench list` asks for every arm of every preset: the CLI keeps this table in a file beside
 * the build (dist/), which `npm install` fills, so that listing loads no TensorFlow.js.
 */
export class ShapeTable {
  private readonly shapes = new Map<string, ComputedShape>();

  get size(): number {
    return this.shapes.size;
  }

  get(full: ModelSpec, arm: Arm): PrunedShape | undefined {
    const q = shapeQuery(full, arm);
    const s = this.shapes.get(q.key);
    return s ? { ...s, approximate: q.approximate } : undefined;
  }

  set(key: string, shape: ComputedShape): void {
    this.shapes.set(key, shape);
  }

  hasKey(key: string): boolean {
    return this.shapes.has(key);
  }

  toJSON(): { version: number; shapes: [string, ComputedShape][] } {
    return { version: SHAPE_TABLE_VERSION, shapes: [...this.shapes] };
  }

  /** A table read back from toJSON's text; anything else (a truncated or foreign file) gives an empty table: it is a cache. */
  static parse(text: string): ShapeTable {
    const table = new ShapeTable();
    try {
      const data = JSON.parse(text) as { version?: unknown; shapes?: unknown };
      if (data.version !== SHAPE_TABLE_VERSION || !Array.isArray(data.shapes)) return table;
      for (const e of data.shapes as unknown[]) {
        if (!Array.isArray(e) || typeof e[0] !== 'string') continue;
        const s = e[1] as Partial<ComputedShape> | null;
        if (s && typeof s === 'object' && s.spec && typeof s.spec === 'object' && typeof s.macsEffective === 'number') table.set(e[0], { spec: s.spec, macsEffective: s.macsEffective });
      }
    } catch {
      // not JSON: an empty table, recomputed
    }
    return table;
  }
}

const SHAPE_TABLE_VERSION = 1;

/**
 * Where `prunebench list` keeps its ShapeTable: $PRUNEBENCH_SHAPE_TABLE when set; else, when
 * running the build, dist/shape-table.json, which a rebuild (any source changed) deletes with the
 * rest of dist/; from the sources, none, since nothing would clear it when a pruning source changes.
 */
export function shapeTableFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.PRUNEBENCH_SHAPE_TABLE) return env.PRUNEBENCH_SHAPE_TABLE;
  return RUNNING_FROM_BUILD ? join(REPO_ROOT, 'dist', SHAPE_TABLE_NAME) : undefined;
}

const SHAPE_TABLE_NAME = 'shape-table.json';

/** The table in `path`; empty when there is none or it cannot be read (it is recomputed). */
export function readShapeTable(path: string | undefined): ShapeTable {
  if (path === undefined) return new ShapeTable();
  try {
    return ShapeTable.parse(readFileSync(path, 'utf8'));
  } catch {
    return new ShapeTable();
  }
}

/** Saves the table (atomically: a reader never sees half a file); false when it cannot be written (a read-only install), which only costs time. */
export async function writeShapeTable(path: string, table: ShapeTable): Promise<boolean> {
  try {
    await writeFileAtomic(path, JSON.stringify(table));
    return true;
  } catch {
    return false;
  }
}
