/** H-speedup's figure: measured batch-1 latency speedup (and, in a second row, batch-64
 *  throughput speedup) against theoretical MAC speedup, one point per pruned model (arm and seed) and runtime, one colour per granularity, a column per backend or runtime (the
 *  rows' own backends and, for experiments with latencyRuntimes, onednn, wasm and ONNX Runtime),
 *  with y = x. */
import type { TopLevelSpec } from 'vega-lite';
import { speedupCells } from '../studyHypotheses.ts';
import { noDataSpec, round, VL_SCHEMA, type FigureDef, type ReportData } from './common.ts';

const TITLE = 'Measured vs. theoretical speedup per granularity';
export const GRANULARITY_ORDER = ['layer', 'channel', 'vector', 'weight'];

export function speedupVsTheorySpec(data: ReportData): TopLevelSpec {
  const title = `${TITLE} (${data.experiment})`;
  const values = speedupCells(data.rows, data.records).flatMap((c) =>
    c.latencySpeedups.flatMap((s, i) => {
      const common = { backend: c.backend, model: c.model, granularity: c.granularity, target: `${c.point.targetKind} ${c.point.target}x`, macSpeedup: round(c.macSpeedups[i]!) };
      const thr = c.throughputSpeedups[i];
      return [
        { ...common, panel: `${c.model}, batch 1 (latency)`, latencySpeedup: round(s) },
        ...(thr !== null && thr !== undefined ? [{ ...common, panel: `${c.model}, batch 64 (throughput)`, latencySpeedup: round(thr) }] : []),
      ];
    }),
  );
  if (values.length === 0) return noDataSpec(title, 'no pruned runs with a target, a batch-1 latency and an unpruned latency on the same backend or runtime');
  const hi = Math.max(1, ...values.map((v) => Math.max(v.macSpeedup, v.latencySpeedup)));
  const identity = [
    { macSpeedup: 1, latencySpeedup: 1 },
    { macSpeedup: round(hi), latencySpeedup: round(hi) },
  ];
  const axis = { type: 'quantitative', scale: { type: 'log', base: 2 }, axis: { format: '.2~f' } } as const;
  return {
    $schema: VL_SCHEMA,
    title: {
      text: title,
      subtitle: [
        'dashed: y = x (latency falls as much as MACs); dotted: no speedup (y = 1); one point per pruned model; log2 axes',
        'x: macs_base / macs_effective; y: unpruned latency / latency (batch 1; row 2: images/s / unpruned images/s at batch 64), paired on the same backend or runtime',
        'a column per backend / runtime; ONNX Runtime (CPU): the ONNX export, 1 thread; masked models run dense everywhere',
      ],
    },
    data: { values },
    facet: { row: { field: 'panel', type: 'nominal', title: null, header: { labelFontWeight: 'bold' } }, column: { field: 'backend', type: 'nominal', title: 'backend / runtime' } },
    spec: {
      width: 300,
      height: 280,
      layer: [
        {
          data: { values: identity },
          mark: { type: 'line', strokeDash: [5, 5], color: '#888' },
          encoding: { x: { field: 'macSpeedup', ...axis }, y: { field: 'latencySpeedup', ...axis } },
        },
        {
          data: { values: [{ one: 1 }] },
          mark: { type: 'rule', strokeDash: [2, 2], color: '#bbb' },
          encoding: { y: { field: 'one', type: 'quantitative' } },
        },
        {
          mark: { type: 'point', filled: true, size: 70, opacity: 0.7 },
          encoding: {
            x: { field: 'macSpeedup', ...axis, title: 'theoretical MAC speedup (x)' },
            y: { field: 'latencySpeedup', ...axis, title: 'measured speedup (x)' },
            color: { field: 'granularity', type: 'nominal', sort: GRANULARITY_ORDER, title: 'granularity', scale: { domain: GRANULARITY_ORDER, scheme: 'category10' } },
            // Shapes as well as colours: granularities without a speedup overlap at y = 1.
            shape: { field: 'granularity', type: 'nominal', sort: GRANULARITY_ORDER, title: 'granularity', scale: { domain: GRANULARITY_ORDER, range: ['square', 'circle', 'triangle-up', 'diamond'] } },
            tooltip: [{ field: 'granularity' }, { field: 'target' }, { field: 'macSpeedup', title: 'MAC speedup' }, { field: 'latencySpeedup', title: 'measured speedup' }, { field: 'panel', title: 'batch' }],
          },
        },
      ],
    },
  };
}

export const speedupVsTheory: FigureDef = { name: 'speedup-vs-theory', title: TITLE, build: speedupVsTheorySpec };
