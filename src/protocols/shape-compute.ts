/**
 * Computes the pruned shapes of shape.ts by pruning a randomly initialised model (loads
 * TensorFlow.js and needs a backend).
 */
import { countSpec } from '../metrics/count.ts';
import { Model, type ModelSpec } from '../models/index.ts';
import { pruneModel, type PruneModelOptions } from '../pruning/index.ts';
import type { Arm } from './config.ts';
import { shapeQuery, ShapeTable, type ComputedShape, type PrunedShape } from './shape.ts';

/** This process's shapes, computed once each. */
let memo = new ShapeTable();

/** The pruned architecture of an arm (see shapeQuery for what is exact). */
export function prunedShape(full: ModelSpec, arm: Arm): PrunedShape {
  const q = shapeQuery(full, arm);
  if (!memo.hasKey(q.key)) {
    if (memo.size >= 256) memo = new ShapeTable();
    memo.set(q.key, pruneInitialised(full, q.options));
  }
  return memo.get(full, arm)!;
}

/** Adds to `table` the shapes of these arms it lacks; returns how many it computed. */
export function fillShapeTable(table: ShapeTable, arms: { full: ModelSpec; arm: Arm }[]): number {
  let computed = 0;
  for (const { full, arm } of arms) {
    const q = shapeQuery(full, arm);
    if (table.hasKey(q.key)) continue;
    table.set(q.key, pruneInitialised(full, q.options));
    computed++;
  }
  return computed;
}

function pruneInitialised(full: ModelSpec, options: PruneModelOptions): ComputedShape {
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
