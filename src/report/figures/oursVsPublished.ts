/** Figure 6: our accuracy against the published one per cell, with the y = x line. */
import type { TopLevelSpec } from 'vega-lite';
import { ciOf, noDataSpec, round, VL_SCHEMA, type FigureDef, type ReportData } from './common.ts';

const TITLE = 'Ours vs. published accuracy';

export function oursVsPublishedSpec(data: ReportData): TopLevelSpec {
  const title = `${TITLE} (${data.experiment})`;
  const values = data.matches.map((m) => {
    const { lo, hi } = ciOf(m.ours);
    const std = m.published.top1Std ?? 0;
    return {
      label: m.published.label,
      source: m.published.source.paper,
      protocol: m.ours.key.protocol,
      ours: round(m.ours.top1.mean),
      oursLo: round(lo),
      oursHi: round(hi),
      published: m.published.top1,
      publishedLo: round(m.published.top1 - std),
      publishedHi: round(m.published.top1 + std),
      n: m.ours.top1.n,
    };
  });
  if (values.length === 0) {
    return noDataSpec(title, 'none of this experiment\'s cells (model, dataset, method, profile/ratio, protocol) has a published value');
  }
  const xt = 'published top-1 (%)';
  const yt = 'our top-1 (%), mean over seeds';
  return {
    $schema: VL_SCHEMA,
    title: {
      text: title,
      subtitle: 'dashed: y = x; vertical bars: our interval over seeds; horizontal bars: published ± std where published. Protocols differ: see summary.md',
    },
    data: { values },
    width: 420,
    height: 420,
    layer: [
      {
        mark: { type: 'line', strokeDash: [5, 5], color: '#888' },
        encoding: {
          x: { field: 'published', type: 'quantitative', scale: { zero: false }, title: xt },
          y: { field: 'published', type: 'quantitative', scale: { zero: false }, title: yt },
        },
      },
      {
        mark: { type: 'errorbar', ticks: true },
        encoding: {
          x: { field: 'published', type: 'quantitative', title: xt },
          y: { field: 'oursLo', type: 'quantitative', title: yt },
          y2: { field: 'oursHi' },
          color: { field: 'source', type: 'nominal' },
        },
      },
      {
        mark: { type: 'errorbar', ticks: true },
        encoding: {
          y: { field: 'ours', type: 'quantitative', title: yt },
          x: { field: 'publishedLo', type: 'quantitative', title: xt },
          x2: { field: 'publishedHi' },
          color: { field: 'source', type: 'nominal' },
        },
      },
      {
        mark: { type: 'point', filled: true, size: 70 },
        encoding: {
          x: { field: 'published', type: 'quantitative', title: xt },
          y: { field: 'ours', type: 'quantitative', title: yt },
          color: { field: 'source', type: 'nominal', title: 'source', legend: { labelLimit: 420 } },
          shape: { field: 'protocol', type: 'nominal', title: 'protocol' },
          tooltip: [{ field: 'label' }, { field: 'source' }, { field: 'protocol' }, { field: 'published' }, { field: 'ours' }, { field: 'n', title: 'seeds' }],
        },
      },
    ],
  };
}

export const oursVsPublished: FigureDef = { name: 'ours-vs-published', title: TITLE, build: oursVsPublishedSpec };
