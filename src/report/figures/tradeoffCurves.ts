/** The tradeoff curves (issue 30): top-1 mean with a (1 - alpha) band over seeds against
 *  compression, theoretical MAC speedup and measured latency speedup, one line per method, the
 *  unpruned level (rule and band) and the random criterion always drawn. Fine-tuned arms only,
 *  plus Scratch-B as its own line for the layerwise l1 method. */
import type { TopLevelSpec } from 'vega-lite';
import { tradeoffGroups, unprunedStats, type TradeoffGroup } from '../tradeoff.ts';
import { noDataSpec, round, VL_SCHEMA, type FigureDef, type ReportData } from './common.ts';

const TITLE = 'Tradeoff curves: accuracy vs. compression, MAC speedup and measured speedup';

export const AXES = [
  { key: 'compression', title: 'compression (x)' },
  { key: 'macSpeedup', title: 'theoretical MAC speedup (x)' },
  { key: 'latencySpeedup', title: 'measured latency speedup, batch 1 (x)' },
] as const;
type AxisKey = (typeof AXES)[number]['key'];

/** Whether an arm draws a curve: fine-tuned (and gradual) arms, Scratch-B of the layerwise l1 method. */
export function drawsCurve(g: TradeoffGroup): boolean {
  if (g.key.protocol === 'fine-tune' || g.key.protocol === 'gradual') return true;
  return g.key.protocol === 'scratch-B' && g.key.criterion === 'l1' && g.key.scope !== 'global';
}

export interface CurvePoint {
  model: string;
  axis: string;
  x: number;
  line: string;
  /** 'random', 'Scratch-B' or 'criterion': drawn dashed / dotted / solid */
  style: string;
  target: string;
  n: number;
  mean: number;
  lo: number;
  hi: number;
}

export function curvePoints(data: ReportData): CurvePoint[] {
  const out: CurvePoint[] = [];
  for (const g of tradeoffGroups(data.rows, data.records, data.alpha)) {
    if (!drawsCurve(g)) continue;
    for (const a of AXES) {
      const x = g[a.key as AxisKey];
      if (x === null || !(x > 0)) continue;
      out.push({
        model: g.point.model,
        axis: a.title,
        x: round(x),
        line: g.label,
        style: g.key.protocol === 'scratch-B' ? 'Scratch-B' : g.key.criterion === 'random' ? 'random' : 'criterion',
        target: `${g.point.targetKind} ${g.point.target}x`,
        n: g.top1.n,
        mean: round(g.top1.mean),
        lo: round(g.top1.ciLow ?? g.top1.mean),
        hi: round(g.top1.ciHigh ?? g.top1.mean),
      });
    }
  }
  return out.sort((p, q) => p.line.localeCompare(q.line) || p.x - q.x);
}

/** The methods' colour domain, sorted: shared by the study's figures so a method has one colour in all. */
export function methodColorDomain(lines: Iterable<string>): string[] {
  return [...new Set(lines)].sort((a, b) => a.localeCompare(b));
}

/** The subtitle line saying which dash is which, for the line styles these points have. */
function dashNote(values: CurvePoint[]): string[] {
  const styles = new Set(values.map((v) => v.style));
  const bits = [
    styles.has('random') ? 'random criterion dashed' : 'no random arm in this experiment',
    ...(styles.has('Scratch-B') ? ['Scratch-B (layerwise l1 architecture trained from scratch) dotted'] : []),
  ];
  return [bits.join('; ')];
}

export function tradeoffCurvesSpec(data: ReportData): TopLevelSpec {
  const title = `${TITLE} (${data.experiment})`;
  const values = curvePoints(data);
  if (values.length === 0) return noDataSpec(title, 'no fine-tuned runs with a target (target_kind, target) and top1_final');
  const models = new Set(values.map((v) => v.model));
  // The unpruned level, repeated in every panel of its model so each panel shows its rule and band.
  const unpruned = [...unprunedStats(data.rows, data.alpha)]
    .filter(([m]) => models.has(m))
    .flatMap(([model, s]) => AXES.map((a) => ({ model, axis: a.title, mean: round(s.mean), lo: round(s.ciLow ?? s.mean), hi: round(s.ciHigh ?? s.mean), n: s.n })));
  const level = `${Math.round((1 - data.alpha) * 100)}%`;
  // A log scale (equal ratios, equal distances); base 10 only for its ticks: within one octave base 2 labels 2, 2.5, 3, 3.5...
  const x = { field: 'x', type: 'quantitative', scale: { type: 'log', base: 10, nice: false, padding: 14 }, axis: { format: '.2~f' }, title: null } as const;
  const y = { field: 'mean', type: 'quantitative', scale: { zero: false }, title: 'top-1 accuracy (%)' } as const;
  const color = { field: 'line', type: 'nominal', title: 'method', scale: { domain: methodColorDomain(values.map((v) => v.line)), scheme: 'tableau20' }, legend: { columns: 1, symbolType: 'stroke', symbolStrokeWidth: 3, labelLimit: 320 } } as const;
  const strokeDash = {
    field: 'style',
    type: 'nominal',
    title: 'line',
    scale: { domain: ['criterion', 'random', 'Scratch-B'], range: [[1, 0], [6, 3], [2, 2]] },
    // Vega draws stroke-dash legend symbols transparent: the subtitle says which dash is which instead.
    legend: null,
  } as const;
  return {
    $schema: VL_SCHEMA,
    title: {
      text: title,
      subtitle: [
        `lines: mean top-1 over seeds (fine-tuned); bands: ${level} t interval; grey rule and band: unpruned model; log x axes`,
        'compression = params_base / params_effective; MAC speedup = macs_base / macs_effective; measured = unpruned latency / latency, same backend',
        ...dashNote(values),
      ],
    },
    data: { values: [...values.map((v) => ({ ...v, layer: 'curve' })), ...unpruned.map((u) => ({ ...u, layer: 'unpruned' }))] },
    facet: {
      row: { field: 'model', type: 'nominal', title: null, header: { labelFontSize: 13, labelFontWeight: 'bold' } },
      column: { field: 'axis', type: 'nominal', title: null, sort: AXES.map((a) => a.title), header: { labelFontSize: 11 } },
    },
    resolve: { scale: { x: 'independent' } },
    spec: {
      width: 280,
      height: 220,
      layer: [
        {
          transform: [{ filter: "datum.layer === 'unpruned'" }],
          mark: { type: 'rect', color: '#999', opacity: 0.18 },
          encoding: { y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
        },
        {
          transform: [{ filter: "datum.layer === 'unpruned'" }],
          mark: { type: 'rule', color: '#555', strokeDash: [4, 2] },
          encoding: { y: { field: 'mean', type: 'quantitative' }, tooltip: [{ field: 'mean', title: 'unpruned top-1' }, { field: 'n', title: 'seeds' }] },
        },
        {
          transform: [{ filter: "datum.layer === 'curve'" }],
          mark: { type: 'line', point: true, strokeWidth: 2 },
          encoding: {
            x,
            y,
            color,
            strokeDash,
            tooltip: [
              { field: 'line', title: 'method' },
              { field: 'target', title: 'target' },
              { field: 'x', title: 'x' },
              { field: 'n', title: 'seeds' },
              { field: 'mean', title: 'top-1 mean' },
              { field: 'lo', title: 'CI low' },
              { field: 'hi', title: 'CI high' },
            ],
          },
        },
        {
          transform: [{ filter: "datum.layer === 'curve'" }],
          mark: { type: 'errorband', opacity: 0.12 },
          encoding: { x, y: { field: 'lo', type: 'quantitative', title: 'top-1 accuracy (%)' }, y2: { field: 'hi' }, color },
        },
      ],
    },
  };
}

export const tradeoffCurves: FigureDef = { name: 'tradeoff-curves', title: TITLE, build: tradeoffCurvesSpec };
