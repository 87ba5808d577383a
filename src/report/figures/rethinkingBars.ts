/** Figure 2 (the Rethinking figure): grouped bars Fine-tuned / Scratch-E / Scratch-B per pruned
 *  model, with (1 - alpha) interval error bars over seeds. */
import type { TopLevelSpec } from 'vega-lite';
import { cellLabel } from '../stats.ts';
import { ciOf, noDataSpec, round, VL_SCHEMA, type FigureDef, type ReportData } from './common.ts';

const TITLE = 'Fine-tuned vs. trained from scratch';
const ORDER = ['fine-tune', 'scratch-E', 'scratch-B'];
const LABEL: Record<string, string> = { 'fine-tune': 'Fine-tuned', 'scratch-E': 'Scratch-E', 'scratch-B': 'Scratch-B' };

export function rethinkingBarsSpec(data: ReportData): TopLevelSpec {
  const title = `${TITLE} (${data.experiment})`;
  const values = data.groups
    .filter((g) => ORDER.includes(g.key.protocol) && g.key.method !== 'none')
    .map((g) => {
      const { lo, hi } = ciOf(g);
      return {
        cell: cellLabel(g.key),
        protocol: LABEL[g.key.protocol]!,
        n: g.top1.n,
        mean: round(g.top1.mean),
        lo: round(lo),
        hi: round(hi),
      };
    });
  if (values.length === 0) return noDataSpec(title, 'no ok fine-tune, scratch-E or scratch-B runs in this experiment');
  const sort = ORDER.map((p) => LABEL[p]!);
  // Accuracy differences are small next to the accuracies: bars start at a floor just below the
  // lowest interval end instead of 0 (bars are clipped there), like the Rethinking figure's axis.
  const floor = Math.floor(Math.min(...values.map((v) => v.lo)) - 1);
  const ceil = Math.ceil(Math.max(...values.map((v) => v.hi)) + 0.5);
  const cells = new Set(values.map((v) => v.cell)).size;
  const yTitle = 'top-1 accuracy (%)';
  return {
    $schema: VL_SCHEMA,
    title: { text: title, subtitle: `bars: mean top-1 over seeds; error bars: ${Math.round((1 - data.alpha) * 100)}% t interval (none for 1 seed)` },
    data: { values },
    width: Math.max(240, 150 * cells),
    height: 280,
    encoding: {
      x: { field: 'cell', type: 'nominal', title: null, axis: { labelAngle: -20 } },
      xOffset: { field: 'protocol', type: 'nominal', sort },
      color: { field: 'protocol', type: 'nominal', sort, title: null, scale: { range: ['#4c78a8', '#f58518', '#54a24b'] } },
    },
    layer: [
      {
        mark: { type: 'bar', clip: true },
        encoding: {
          y: { field: 'mean', type: 'quantitative', scale: { domain: [floor, ceil], zero: false }, title: yTitle },
          tooltip: [{ field: 'cell' }, { field: 'protocol' }, { field: 'n', title: 'seeds' }, { field: 'mean' }, { field: 'lo' }, { field: 'hi' }],
        },
      },
      {
        mark: { type: 'errorbar', ticks: true, color: 'black' },
        encoding: { y: { field: 'lo', type: 'quantitative', title: yTitle }, y2: { field: 'hi' } },
      },
    ],
  };
}

export const rethinkingBars: FigureDef = { name: 'finetune-vs-scratch', title: TITLE, build: rethinkingBarsSpec };
