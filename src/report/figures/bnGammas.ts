/** Figure 5: histogram of |BN gamma| after sparsity training vs. normal training
 *  (RunRecord.bnGammas of sparsity-train vs. baseline runs), binned here so the spec stays small. */
import type { TopLevelSpec } from 'vega-lite';
import { noDataSpec, round, VL_SCHEMA, type FigureDef, type ReportData } from './common.ts';

const TITLE = '|BN scaling factor| distribution';
const KINDS: Record<string, string> = { baseline: 'normal training', 'sparsity-train': 'sparsity training (L1 on gamma)' };
const BINS = 40;

export function bnGammasSpec(data: ReportData): TopLevelSpec {
  const title = `${TITLE} (${data.experiment})`;
  const byKind = new Map<string, number[]>();
  for (const r of data.records) {
    const kind = KINDS[String(r.row.protocol)];
    if (!kind || String(r.row.status) !== 'ok' || !r.bnGammas || r.bnGammas.length === 0) continue;
    const key = `${String(r.row.model)}: ${kind}`;
    const list = byKind.get(key) ?? [];
    for (const g of r.bnGammas) list.push(Math.abs(g));
    byKind.set(key, list);
  }
  if (byKind.size === 0) return noDataSpec(title, 'no bnGammas in baseline or sparsity-train run records');
  let top = 0;
  for (const list of byKind.values()) for (const g of list) if (g > top) top = g;
  const width = top > 0 ? top / BINS : 1;
  const values: { series: string; binStart: number; binEnd: number; fraction: number; count: number }[] = [];
  for (const [series, list] of [...byKind].sort((a, b) => a[0].localeCompare(b[0]))) {
    const counts = new Array<number>(BINS).fill(0);
    for (const g of list) counts[Math.min(BINS - 1, Math.floor(g / width))]!++;
    counts.forEach((c, i) =>
      values.push({ series, binStart: round(i * width, 5), binEnd: round((i + 1) * width, 5), fraction: round(c / list.length, 5), count: c }),
    );
  }
  const present = new Set([...byKind.keys()].map((k) => k.split(': ')[1]));
  const missing = Object.values(KINDS).filter((k) => !present.has(k));
  return {
    $schema: VL_SCHEMA,
    title: {
      text: title,
      subtitle: missing.length > 0 ? `missing: ${missing.join(', ')} (no bnGammas recorded)` : 'all BN channels of all seeds, fraction per bin',
    },
    data: { values },
    facet: { row: { field: 'series', type: 'nominal', title: null } },
    spec: {
      width: 520,
      height: 150,
      mark: { type: 'rect' },
      encoding: {
        x: { field: 'binStart', type: 'quantitative', title: '|gamma|' },
        x2: { field: 'binEnd' },
        y: { field: 'fraction', type: 'quantitative', title: 'fraction of channels' },
        y2: { datum: 0 },
        color: { field: 'series', type: 'nominal', legend: null },
        tooltip: [{ field: 'series' }, { field: 'binStart' }, { field: 'binEnd' }, { field: 'count' }],
      },
    },
  };
}

export const bnGammas: FigureDef = { name: 'bn-gammas', title: TITLE, build: bnGammasSpec };
