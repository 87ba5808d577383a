/**
 * Effect sizes, ours beside the papers': per cell, Scratch-B - fine-tuned, Scratch-E - fine-tuned
 * and Scratch-B - unpruned in accuracy points. The papers' claims are differences, and our regime
 * (shorter training, smaller data) differs from theirs by design, so absolute accuracies do not
 * compare; differences do.
 */
import type { TopLevelSpec } from 'vega-lite';
import { publishedComparison } from '../findings.ts';
import { evaluateHypotheses } from '../stats.ts';
import { noDataSpec, round, VL_SCHEMA, type FigureDef, type ReportData } from './common.ts';

const TITLE = 'Effect sizes: ours vs. published';

/** The comparisons the figure shows, in panel order. */
export const EFFECT_COMPARISONS = ['scratchB-vs-fineTune', 'scratchE-vs-fineTune', 'scratchB-vs-unpruned'] as const;

export interface EffectPoint {
  comparison: string;
  cell: string;
  source: 'ours' | 'published';
  /** A - B in accuracy points: ours the difference of the means over seeds, published the paper's. */
  diff: number;
  /** Our (1 - alpha) Welch interval; null with fewer than 2 seeds on a side, and for published values. */
  lo: number | null;
  hi: number | null;
  /** Seeds per side ("3 vs 3"), or the paper. */
  detail: string;
}

/** One point per cell and comparison for ours, and one beside it where a paper gives both sides. */
export function effectPoints(data: ReportData): EffectPoint[] {
  const points: EffectPoint[] = [];
  const verdicts = evaluateHypotheses(data.rows, { alpha: data.alpha }).filter((v) => (EFFECT_COMPARISONS as readonly string[]).includes(v.hypothesisId));
  for (const id of EFFECT_COMPARISONS) {
    for (const v of verdicts.filter((x) => x.hypothesisId === id)) {
      if (v.diff === null) continue;
      const comparison = `${v.labelA} - ${v.labelB}`;
      points.push({ comparison, cell: v.cellLabel, source: 'ours', diff: round(v.diff), lo: v.ciLow === null ? null : round(v.ciLow), hi: v.ciHigh === null ? null : round(v.ciHigh), detail: `${v.nA} vs ${v.nB} seeds` });
      const dataset = String(data.rows.find((r) => String(r.model) === v.cell.model && String(r.experiment) === v.cell.experiment)?.dataset ?? '');
      const c = publishedComparison(v, dataset);
      if (c.diff !== null && c.a) points.push({ comparison, cell: v.cellLabel, source: 'published', diff: round(c.diff), lo: null, hi: null, detail: c.a.source.paper });
    }
  }
  return points;
}

export function effectSizesSpec(data: ReportData): TopLevelSpec {
  const title = `${TITLE} (${data.experiment})`;
  const values = effectPoints(data);
  if (values.length === 0) return noDataSpec(title, 'no cell has runs on both sides of Scratch-B/E vs fine-tuned or Scratch-B vs unpruned');
  const level = `${Math.round((1 - data.alpha) * 1000) / 10}%`;
  const x = { field: 'diff', type: 'quantitative', title: 'difference (accuracy points)' } as const;
  const y = { field: 'cell', type: 'nominal', title: null, axis: { labelLimit: 260 } } as const;
  const color = { field: 'source', type: 'nominal', title: null, scale: { domain: ['ours', 'published'], range: ['#1f77b4', '#d62728'] } } as const;
  return {
    $schema: VL_SCHEMA,
    title: { text: title, subtitle: [`A - B per cell, in accuracy points; right of 0: A more accurate.`, `Ours: mean over seeds with its ${level} Welch interval; published: the paper's own difference.`] },
    data: { values },
    facet: { row: { field: 'comparison', type: 'nominal', title: null, header: { labelAngle: 0, labelAlign: 'left', labelFontWeight: 'bold' }, sort: values.map((v) => v.comparison).filter((c, i, a) => a.indexOf(c) === i) } },
    spec: {
      width: 420,
      layer: [
        { mark: { type: 'rule', color: '#888', strokeDash: [4, 4] }, encoding: { x: { datum: 0, type: 'quantitative' } } },
        // Rows without an interval (null ends) are dropped by the scale's default handling of invalid values.
        { mark: { type: 'rule', strokeWidth: 2 }, encoding: { y, x: { field: 'lo', type: 'quantitative', title: x.title }, x2: { field: 'hi' }, color } },
        {
          mark: { type: 'point', filled: true, size: 80 },
          encoding: {
            y,
            x,
            color,
            shape: { field: 'source', type: 'nominal', title: null, scale: { domain: ['ours', 'published'], range: ['circle', 'diamond'] } },
            tooltip: [{ field: 'comparison' }, { field: 'cell' }, { field: 'source' }, { field: 'diff' }, { field: 'lo' }, { field: 'hi' }, { field: 'detail' }],
          },
        },
      ],
    },
  };
}

export const effectSizes: FigureDef = { name: 'effect-sizes', title: TITLE, build: effectSizesSpec };
