/**
 * What every figure builder receives, and the shared "no data" panel. Each figure is a function
 * from ReportData to a Vega-Lite TopLevelSpec with its data inlined, so the spec alone renders.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { RunRecord, RunRow } from '../../results/columns.ts';
import type { PublishedMatch } from '../published.ts';
import type { GroupStats } from '../stats.ts';

export const VL_SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

export interface ReportData {
  experiment: string;
  /** every row, failed included */
  rows: RunRow[];
  records: RunRecord[];
  /** statistics of the ok rows */
  groups: GroupStats[];
  matches: PublishedMatch[];
  alpha: number;
}

export interface FigureDef {
  /** file stem: `<name>.vl.json`, `<name>.svg`, `<name>.png` */
  name: string;
  title: string;
  build(data: ReportData): TopLevelSpec;
}

/** An explicit panel saying what is missing, instead of an empty or broken chart. */
export function noDataSpec(title: string, missing: string): TopLevelSpec {
  return {
    $schema: VL_SCHEMA,
    title: { text: title, subtitle: 'no data' },
    width: 480,
    height: 120,
    data: { values: [{ message: `No data: ${missing}` }] },
    mark: { type: 'text', fontSize: 14, color: '#555', align: 'center', baseline: 'middle' },
    encoding: { text: { field: 'message', type: 'nominal' } },
    config: { view: { stroke: '#bbb' } },
  };
}

/** Interval ends of a group's top-1 (the mean when the interval is undefined, n < 2). */
export function ciOf(g: GroupStats): { lo: number; hi: number } {
  return { lo: g.top1.ciLow ?? g.top1.mean, hi: g.top1.ciHigh ?? g.top1.mean };
}

export const round = (x: number, digits = 3): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

export const PROTOCOL_ORDER = [
  'baseline',
  'sparsity-train',
  'prune',
  'fine-tune',
  'scratch-E',
  'scratch-B',
  'iterative',
  'gradual',
  'uniform-scratch',
  'lottery-ticket',
];
