import { countSpec, reductionPct } from '../metrics/index.ts';
import type { ModelSpec } from '../models/index.ts';
import type { KeepPlan } from './plan.ts';

export interface LayerSummary {
  layer: string;
  before: number;
  after: number;
  prunedPct: number;
}

export interface PruneSummary {
  model: string;
  layers: LayerSummary[];
  paramsBefore: number;
  paramsAfter: number;
  macsBefore: number;
  macsAfter: number;
  paramsReductionPct: number;
  macsReductionPct: number;
  guardedLayers: string[];
}

/** Per-layer widths before/after and the total reductions of a structured plan. */
export function pruneSummary(before: ModelSpec, after: ModelSpec, plan: KeepPlan, widthsBefore: Record<string, number>, guardedLayers: string[] = []): PruneSummary {
  const cb = countSpec(before);
  const ca = countSpec(after);
  return {
    model: before.name,
    layers: Object.entries(plan.groups).map(([layer, keep]) => ({
      layer,
      before: widthsBefore[layer]!,
      after: keep.length,
      prunedPct: reductionPct(widthsBefore[layer]!, keep.length),
    })),
    paramsBefore: cb.params,
    paramsAfter: ca.params,
    macsBefore: cb.macs,
    macsAfter: ca.macs,
    paramsReductionPct: reductionPct(cb.params, ca.params),
    macsReductionPct: reductionPct(cb.macs, ca.macs),
    guardedLayers,
  };
}

export function formatPruneSummary(s: PruneSummary): string {
  const w = Math.max(12, ...s.layers.map((l) => l.layer.length));
  const lines = [`${'layer'.padEnd(w)}  before  after  pruned`];
  for (const l of s.layers) {
    const mark = s.guardedLayers.includes(l.layer) ? '  (kept by the min-channels guard)' : '';
    lines.push(`${l.layer.padEnd(w)}  ${String(l.before).padStart(6)}  ${String(l.after).padStart(5)}  ${l.prunedPct.toFixed(1).padStart(5)}%${mark}`);
  }
  const e = (n: number): string => n.toExponential(3);
  lines.push('');
  lines.push(`params (BN included): ${e(s.paramsBefore)} -> ${e(s.paramsAfter)}  (-${s.paramsReductionPct.toFixed(1)}%)`);
  lines.push(`MACs (conv+linear):   ${e(s.macsBefore)} -> ${e(s.macsAfter)}  (-${s.macsReductionPct.toFixed(1)}%)   FLOPs = 2 x MACs`);
  return lines.join('\n');
}
