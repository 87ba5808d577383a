/** Figure 3: per-layer channel widths of the unpruned, uniformly pruned and automatically found
 *  (e.g. slimming) architectures, from RunRecord.architecture. */
import type { TopLevelSpec } from 'vega-lite';
import type { RunRecord } from '../../results/columns.ts';
import { noDataSpec, VL_SCHEMA, type FigureDef, type ReportData } from './common.ts';

const TITLE = 'Per-layer channel widths';

export function architectureKind(r: RunRecord): string {
  const row = r.row;
  const protocol = String(row.protocol);
  const ratio = Number(row.prune_ratio);
  const pct = Number.isFinite(ratio) && ratio > 0 ? ` ${Math.round(ratio * 1000) / 10}%` : '';
  if (protocol === 'baseline' || protocol === 'sparsity-train' || String(row.method) === 'none') return 'unpruned';
  if (protocol === 'uniform-scratch') return `uniform${pct}`;
  const style = String(row.ratio_style);
  const profile = String(row.profile ?? '');
  if (style === 'automatic') return `automatic (${String(row.method)}${pct})`;
  return `${style || 'pruned'} (${String(row.method)}${profile ? ' ' + profile : pct})`;
}

export function layerWidthsSpec(data: ReportData): TopLevelSpec {
  const title = `${TITLE} (${data.experiment})`;
  const seen = new Set<string>();
  const values: { model: string; architecture: string; index: number; layer: string; channels: number }[] = [];
  const sorted = [...data.records]
    .filter((r) => String(r.row.status) === 'ok' && Array.isArray(r.architecture) && r.architecture.length > 0)
    .sort((a, b) => Number(a.row.seed) - Number(b.row.seed));
  for (const r of sorted) {
    const model = String(r.row.model);
    const kind = architectureKind(r);
    const id = `${String(r.row.experiment)}|${model}|${kind}`;
    if (seen.has(id)) continue; // one architecture per kind: the lowest seed's
    seen.add(id);
    for (const l of r.architecture!) values.push({ model, architecture: kind, index: l.index, layer: l.layer, channels: l.channels });
  }
  if (values.length === 0) return noDataSpec(title, 'no run records with an architecture (RunRecord.architecture) in this experiment');
  return {
    $schema: VL_SCHEMA,
    title: { text: title, subtitle: 'channels kept per layer; one run (lowest seed) per architecture' },
    data: { values },
    facet: { row: { field: 'model', type: 'nominal', title: null } },
    resolve: { scale: { x: 'independent' } },
    spec: {
      width: 520,
      height: 220,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'index', type: 'quantitative', title: 'layer index', axis: { tickMinStep: 1 } },
        y: { field: 'channels', type: 'quantitative', title: 'channels' },
        color: { field: 'architecture', type: 'nominal', title: 'architecture', legend: { labelLimit: 320 } },
        tooltip: [{ field: 'architecture' }, { field: 'layer' }, { field: 'channels' }],
      },
    },
  };
}

export const layerWidths: FigureDef = { name: 'layer-widths', title: TITLE, build: layerWidthsSpec };
