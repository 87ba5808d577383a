/**
 * The effect-size figure's data against a hand computation on the fixture rows: per cell, the
 * difference of the mean top-1 over seeds and its 95% Welch interval, computed here loop by loop,
 * and the published difference read straight from the papers' table.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RunRow } from '../../results/columns.ts';
import { readResultsCsv, readRunRecords } from '../../results/read.ts';
import { matchPublished, PUBLISHED } from '../published.ts';
import { groupStats } from '../stats.ts';
import { studentTQuantile } from '../tdist.ts';
import { effectPoints, effectSizesSpec, type ReportData } from './index.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/results/', import.meta.url));

function load(experiment: string): ReportData {
  const rows = readResultsCsv(join(FIXTURES, `${experiment}.csv`));
  const groups = groupStats(rows);
  return { experiment, rows, records: readRunRecords(join(FIXTURES, experiment, 'runs')), groups, matches: matchPublished(groups), alpha: 0.05 };
}

/** top1_final of the ok rows of one model's arm and protocol. */
function top1(rows: RunRow[], model: string, protocol: string, profile: string, method: string): number[] {
  return rows.filter((r) => r.status === 'ok' && r.model === model && r.protocol === protocol && r.profile === profile && r.method === method).map((r) => Number(r.top1_final));
}

/** Difference of means and its 95% Welch interval, written out. */
function byHand(a: number[], b: number[]): { diff: number; lo: number; hi: number } {
  let sa = 0;
  for (const x of a) sa += x;
  let sb = 0;
  for (const x of b) sb += x;
  const ma = sa / a.length;
  const mb = sb / b.length;
  let qa = 0;
  for (const x of a) qa += (x - ma) ** 2;
  let qb = 0;
  for (const x of b) qb += (x - mb) ** 2;
  const va = qa / (a.length - 1) / a.length;
  const vb = qb / (b.length - 1) / b.length;
  const df = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  const half = studentTQuantile(0.975, df) * Math.sqrt(va + vb);
  return { diff: ma - mb, lo: ma - mb - half, hi: ma - mb + half };
}

describe('effect sizes', () => {
  const data = load('rethinking-l1');
  const points = effectPoints(data);
  const at = (comparison: string, cell: string, source: string) => points.find((p) => p.comparison === comparison && p.cell === cell && p.source === source);

  it('ours: difference of means and 95% Welch interval per cell, for the three comparisons', () => {
    const cases: [string, string, string, string, string, string][] = [
      // comparison, cell label, model, profile, protocol A, protocol B
      ['Scratch-B - Fine-tuned', 'vgg16 l1 A', 'vgg16', 'A', 'scratch-B', 'fine-tune'],
      ['Scratch-E - Fine-tuned', 'resnet56 l1 A', 'resnet56', 'A', 'scratch-E', 'fine-tune'],
      ['Scratch-B - Unpruned', 'resnet56 l1 B', 'resnet56', 'B', 'scratch-B', 'baseline'],
    ];
    for (const [comparison, cell, model, profile, pa, pb] of cases) {
      const a = top1(data.rows, model, pa, profile, 'l1');
      const b = pb === 'baseline' ? top1(data.rows, model, 'baseline', '', 'none') : top1(data.rows, model, pb, profile, 'l1');
      expect(a.length).toBeGreaterThanOrEqual(2);
      const h = byHand(a, b);
      const p = at(comparison, cell, 'ours');
      expect(p, `${comparison} ${cell}`).toBeDefined();
      expect(p!.diff).toBeCloseTo(h.diff, 3);
      expect(p!.lo!).toBeCloseTo(h.lo, 3);
      expect(p!.hi!).toBeCloseTo(h.hi, 3);
    }
    // 3 pruned l1 cells x 3 comparisons; magnitude (1 seed, no scratch-B) gives Scratch-E - fine-tuned without an interval.
    const ours = points.filter((p) => p.source === 'ours');
    expect(ours.filter((p) => p.cell.includes(' l1 ')).length).toBe(9);
    const single = ours.find((p) => p.cell.startsWith('vgg16 magnitude'))!;
    expect([single.comparison, single.lo, single.hi]).toEqual(['Scratch-E - Fine-tuned', null, null]);
  });

  it("published: the paper's difference, from its own two values", () => {
    // Rethinking's Table 1: ResNet-56-A Scratch-B and the unpruned ResNet-56.
    const value = (method: string, protocol: string) => PUBLISHED.find((p) => p.key.model === 'resnet56' && p.key.method === method && p.key.profile === (method === 'none' ? '' : 'A') && p.key.protocol === protocol && p.source.paper === 'Liu et al. 2019 (Rethinking)')!.top1;
    const p = at('Scratch-B - Unpruned', 'resnet56 l1 A', 'published');
    expect(p).toBeDefined();
    expect(p!.diff).toBeCloseTo(value('l1', 'scratch-B') - value('none', 'baseline'), 6);
    expect(p!.diff).toBeCloseTo(93.09 - 93.14, 6);
    // No paper in the table gives both sides of Scratch-B - fine-tuned for VGG-16-A: no published point.
    expect(at('Scratch-B - Fine-tuned', 'vgg16 l1 A', 'published')).toBeUndefined();
  });

  it('the spec carries these points, one panel per comparison; no data gives the no-data panel', () => {
    const spec = effectSizesSpec(data) as { data: { values: unknown[] }; facet: { row: { field: string } } };
    expect(spec.data.values).toEqual(points);
    expect(spec.facet.row.field).toBe('comparison');
    const empty = effectSizesSpec({ ...data, rows: [], groups: [], matches: [] }) as { title: { subtitle: string } };
    expect(empty.title.subtitle).toBe('no data');
  });
});
