/** The tradeoff study's fine-tuning curves: test accuracy after each fine-tuning epoch, mean over
 *  seeds, one line per method, a panel per operating point. Every arm fine-tunes for the same few
 *  epochs; the figure shows whether the arms had levelled off when that budget ran out or were
 *  still rising (then the rank tables compare speeds of recovery as much as end points). */
import type { TopLevelSpec } from 'vega-lite';
import { isOk } from '../stats.ts';
import { methodKeyOf, methodLabel, pointKeyOf, pointLabel, RANKED_PROTOCOLS, spansGranularities, tradeoffGroups } from '../tradeoff.ts';
import { noDataSpec, round, VL_SCHEMA, type FigureDef, type ReportData } from './common.ts';
import { drawsCurve, methodColorDomain } from './tradeoffCurves.ts';

const TITLE = 'Fine-tuning curves: test accuracy per epoch at each operating point';

export interface FineTunePoint {
  model: string;
  /** the operating point's label, e.g. "vgg16, MAC speedup 4x" */
  point: string;
  target: number;
  line: string;
  /** 'random' or 'criterion': drawn dashed / solid, as in the tradeoff curves */
  style: string;
  epoch: number;
  /** mean over seeds of the test accuracy after this epoch */
  mean: number;
  /** seeds with this epoch */
  n: number;
}

export function fineTunePoints(data: ReportData): FineTunePoint[] {
  const withGranularity = spansGranularities(data.rows);
  // line at point -> epoch -> seed -> test accuracies (a cell recorded twice is one sample: their mean)
  const acc = new Map<string, { model: string; point: string; target: number; line: string; style: string; epochs: Map<number, Map<number, number[]>> }>();
  for (const r of data.records) {
    if (!isOk(r.row) || r.curve.length === 0) continue;
    if (!(RANKED_PROTOCOLS as readonly string[]).includes(String(r.row.protocol))) continue;
    const point = pointKeyOf(r.row);
    if (point.target === null || point.targetKind === '') continue;
    const key = methodKeyOf(r.row);
    const line = methodLabel(key, withGranularity);
    const id = `${pointLabel(point)}#${line}`;
    let e = acc.get(id);
    if (!e) acc.set(id, (e = { model: point.model, point: pointLabel(point), target: point.target, line, style: key.criterion === 'random' ? 'random' : 'criterion', epochs: new Map() }));
    const seed = Number(r.row.seed);
    for (const c of r.curve) {
      let bySeed = e.epochs.get(c.epoch);
      if (!bySeed) e.epochs.set(c.epoch, (bySeed = new Map()));
      bySeed.set(seed, [...(bySeed.get(seed) ?? []), c.testAcc]);
    }
  }
  const meanOf = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const out: FineTunePoint[] = [];
  for (const e of acc.values()) {
    for (const [epoch, bySeed] of e.epochs) {
      const perSeed = [...bySeed.values()].map(meanOf);
      out.push({ model: e.model, point: e.point, target: e.target, line: e.line, style: e.style, epoch, mean: round(meanOf(perSeed)), n: perSeed.length });
    }
  }
  return out.sort((p, q) => p.model.localeCompare(q.model) || p.target - q.target || p.line.localeCompare(q.line) || p.epoch - q.epoch);
}

export function fineTuneCurvesSpec(data: ReportData): TopLevelSpec {
  const title = `${TITLE} (${data.experiment})`;
  const values = fineTunePoints(data);
  if (values.length === 0) return noDataSpec(title, 'no fine-tuned runs with a target and a training curve (RunRecord.curve)');
  // The tradeoff curves' colour domain (their lines, sorted), so a method has one colour in both figures.
  const curveLines = tradeoffGroups(data.rows, [], data.alpha).filter(drawsCurve).map((g) => g.label);
  const domain = methodColorDomain([...curveLines, ...values.map((v) => v.line)]);
  const points = [...new Map(values.map((v) => [v.point, v] as const)).values()].sort((p, q) => p.model.localeCompare(q.model) || p.target - q.target).map((v) => v.point);
  const seeds = [...new Set(values.map((v) => v.n))].sort((a, b) => a - b);
  return {
    $schema: VL_SCHEMA,
    title: {
      text: title,
      subtitle: [
        `mean over seeds (${seeds.length > 1 ? `${seeds[0]}-${seeds.at(-1)}` : seeds[0]} per line) of the test accuracy after each fine-tuning epoch; each panel its own y scale`,
        'every arm fine-tunes for the same epochs: a line still rising at the end had not converged when the budget ran out',
        ...(values.some((v) => v.style === 'random') ? ['random criterion dashed'] : []),
      ],
    },
    data: { values },
    facet: {
      row: { field: 'model', type: 'nominal', title: null, header: { labelFontSize: 13, labelFontWeight: 'bold' } },
      column: { field: 'point', type: 'nominal', title: null, sort: points, header: { labelFontSize: 11 } },
    },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 260,
      height: 200,
      mark: { type: 'line', point: { size: 18 }, strokeWidth: 1.8 },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1, format: 'd' }, title: 'fine-tuning epoch' },
        y: { field: 'mean', type: 'quantitative', scale: { zero: false }, title: 'test accuracy (%)' },
        color: { field: 'line', type: 'nominal', title: 'method', scale: { domain, scheme: 'tableau20' }, legend: { values: methodColorDomain(values.map((v) => v.line)), columns: 1, symbolType: 'stroke', symbolStrokeWidth: 3, labelLimit: 320 } },
        strokeDash: { field: 'style', type: 'nominal', scale: { domain: ['criterion', 'random'], range: [[1, 0], [6, 3]] }, legend: null },
        tooltip: [
          { field: 'line', title: 'method' },
          { field: 'point', title: 'operating point' },
          { field: 'epoch', title: 'epoch' },
          { field: 'mean', title: 'test accuracy (mean)' },
          { field: 'n', title: 'seeds' },
        ],
      },
    },
  };
}

export const fineTuneCurves: FigureDef = { name: 'fine-tune-curves', title: TITLE, build: fineTuneCurvesSpec };

/** A mean last-epoch gain from this many points up says fine-tuning had not levelled off. */
export const STILL_RISING_FROM = 0.2;

export interface FineTuneConvergence {
  point: string;
  /** the last epoch of the lines (their fine-tuning budget) */
  epochs: number;
  /** the last epoch's gain in mean test accuracy, averaged over the point's lines (points) */
  lastGain: number;
  lines: number;
}

/** Per operating point, how much the last fine-tuning epoch still added (mean over its lines). */
export function fineTuneConvergence(points: FineTunePoint[]): FineTuneConvergence[] {
  const byLine = new Map<string, FineTunePoint[]>();
  for (const p of points) byLine.set(`${p.point}#${p.line}`, [...(byLine.get(`${p.point}#${p.line}`) ?? []), p]);
  const byPoint = new Map<string, { order: [string, number]; epochs: number; gains: number[] }>();
  for (const ps of byLine.values()) {
    if (ps.length < 2) continue;
    const [prev, last] = [...ps].sort((a, b) => a.epoch - b.epoch).slice(-2) as [FineTunePoint, FineTunePoint];
    let e = byPoint.get(last.point);
    if (!e) byPoint.set(last.point, (e = { order: [last.model, last.target], epochs: last.epoch, gains: [] }));
    e.epochs = Math.max(e.epochs, last.epoch);
    e.gains.push(last.mean - prev.mean);
  }
  return [...byPoint]
    .sort(([, a], [, b]) => a.order[0].localeCompare(b.order[0]) || a.order[1] - b.order[1])
    .map(([point, e]) => ({ point, epochs: e.epochs, lastGain: e.gains.reduce((s, g) => s + g, 0) / e.gains.length, lines: e.gains.length }));
}
