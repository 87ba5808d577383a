/** Figure 1: top-1 accuracy against parameters and against MACs (log x), per method and protocol,
 *  mean ± (1 - alpha) interval over seeds, with the unpruned model as a reference rule. */
import type { TopLevelSpec } from 'vega-lite';
import { cellLabel } from '../stats.ts';
import { ciOf, noDataSpec, PROTOCOL_ORDER, round, VL_SCHEMA, type FigureDef, type ReportData } from './common.ts';

const TITLE = 'Accuracy vs. parameters and MACs';

export function accuracyVsCostSpec(data: ReportData): TopLevelSpec {
  const title = `${TITLE} (${data.experiment})`;
  const values = data.groups
    .filter((g) => g.key.protocol !== 'prune' && g.paramsEffective > 0 && g.macsEffective > 0)
    .flatMap((g) => {
      const { lo, hi } = ciOf(g);
      const common = {
        model: g.key.model,
        method: g.key.method,
        protocol: g.key.protocol,
        cell: cellLabel(g.key),
        n: g.top1.n,
        mean: round(g.top1.mean),
        lo: round(lo),
        hi: round(hi),
      };
      return [
        { ...common, costKind: 'parameters (non-zero)', cost: g.paramsEffective },
        { ...common, costKind: 'MACs per image (non-zero)', cost: g.macsEffective },
      ];
    });
  if (values.length === 0) return noDataSpec(title, 'no ok runs with top1_final and params/MACs in this experiment');
  const x = { field: 'cost', type: 'quantitative', scale: { type: 'log' }, title: 'count (log scale)' } as const;
  return {
    $schema: VL_SCHEMA,
    title: {
      text: title,
      subtitle: `mean ± ${Math.round((1 - data.alpha) * 100)}% t interval over seeds; dashed rule: unpruned model; 'prune' (no retraining) left out`,
    },
    data: { values },
    facet: {
      row: { field: 'model', type: 'nominal', title: null },
      column: { field: 'costKind', type: 'nominal', title: null, sort: ['parameters (non-zero)', 'MACs per image (non-zero)'] },
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
    spec: {
      width: 320,
      height: 220,
      layer: [
        {
          transform: [{ filter: "datum.protocol === 'baseline'" }],
          mark: { type: 'rule', strokeDash: [4, 4], color: '#777' },
          encoding: { y: { field: 'mean', type: 'quantitative' } },
        },
        {
          mark: { type: 'errorbar', ticks: true },
          encoding: {
            x,
            y: { field: 'lo', type: 'quantitative', scale: { zero: false }, title: 'top-1 accuracy (%)' },
            y2: { field: 'hi' },
            color: { field: 'method', type: 'nominal' },
          },
        },
        {
          mark: { type: 'point', filled: true, size: 70 },
          encoding: {
            x,
            y: { field: 'mean', type: 'quantitative' },
            color: { field: 'method', type: 'nominal', title: 'method' },
            shape: { field: 'protocol', type: 'nominal', sort: PROTOCOL_ORDER, title: 'protocol' },
            tooltip: [
              { field: 'cell', title: 'cell' },
              { field: 'protocol' },
              { field: 'n', title: 'seeds' },
              { field: 'mean', title: 'top-1 mean' },
              { field: 'lo', title: 'CI low' },
              { field: 'hi', title: 'CI high' },
              { field: 'cost', format: '.3s' },
            ],
          },
        },
      ],
    },
  };
}

export const accuracyVsCost: FigureDef = { name: 'accuracy-vs-cost', title: TITLE, build: accuracyVsCostSpec };
