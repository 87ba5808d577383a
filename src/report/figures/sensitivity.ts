/**
 * The per-layer sensitivity figure (Li et al. 2017, Fig. 2(b)): one line per prunable layer,
 * x = fraction of its channels removed (the others untouched), y = test top-1 without
 * retraining; a dashed rule marks the unpruned top-1. Not a report figure (FIGURES): it is
 * built from one scan, not from result rows.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { SensitivityScan } from '../../protocols/index.ts';
import { noDataSpec, round, VL_SCHEMA } from './common.ts';

/** "1 features.0.conv": the index leads, so the legend reads as conv1..convN. */
export function sensitivityLayerLabel(p: { layer: string; layerIndex: number }): string {
  return `${p.layerIndex} ${p.layer}`;
}

export function sensitivitySpec(scan: SensitivityScan, opts: { title: string; subtitle?: string }): TopLevelSpec {
  if (scan.points.length === 0) return noDataSpec(opts.title, 'the model has no prunable channel group');
  const values = scan.points.map((p) => ({
    layer: sensitivityLayerLabel(p),
    layer_index: p.layerIndex,
    ratio: p.ratio,
    kept_channels: p.keptChannels,
    channels: p.channels,
    top1: round(p.top1, 2),
    drop: round(p.drop, 2),
  }));
  // Legend and colours in layer order (a nominal field sorts "10 ..." before "2 ...").
  const order = [...new Map(scan.points.map((p) => [p.layerIndex, sensitivityLayerLabel(p)])).entries()].sort((a, b) => a[0] - b[0]).map(([, l]) => l);
  const many = order.length > 10;
  return {
    $schema: VL_SCHEMA,
    title: { text: opts.title, ...(opts.subtitle ? { subtitle: opts.subtitle } : {}) },
    width: 560,
    height: 360,
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: true, strokeWidth: 1.5 },
        encoding: {
          x: { field: 'ratio', type: 'quantitative', title: 'fraction of the layer\u2019s channels pruned', scale: { domain: [0, 1] }, axis: { format: '.1f' } },
          y: { field: 'top1', type: 'quantitative', title: 'test top-1 (%) without retraining', scale: { domain: [0, 100] } },
          color: { field: 'layer', type: 'nominal', title: 'layer', sort: order, scale: { scheme: many ? 'category20' : 'category10' } },
          tooltip: [
            { field: 'layer', type: 'nominal' },
            { field: 'ratio', type: 'quantitative' },
            { field: 'kept_channels', type: 'quantitative', title: 'kept' },
            { field: 'channels', type: 'quantitative' },
            { field: 'top1', type: 'quantitative', title: 'top-1 %' },
            { field: 'drop', type: 'quantitative', title: 'drop (points)' },
          ],
        },
      },
      {
        data: { values: [{ top1: round(scan.unprunedTop1, 2), label: `unpruned ${scan.unprunedTop1.toFixed(2)}%` }] },
        mark: { type: 'rule', strokeDash: [4, 4], color: '#555' },
        encoding: { y: { field: 'top1', type: 'quantitative' } },
      },
      {
        data: { values: [{ top1: round(scan.unprunedTop1, 2), label: `unpruned ${scan.unprunedTop1.toFixed(2)}%` }] },
        mark: { type: 'text', align: 'left', dx: 4, dy: -6, x: 0, color: '#555', fontSize: 11 },
        encoding: { y: { field: 'top1', type: 'quantitative' }, text: { field: 'label', type: 'nominal' } },
      },
    ],
  };
}
