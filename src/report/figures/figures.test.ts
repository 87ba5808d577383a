import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import AjvModule from 'ajv';
import { compile, type TopLevelSpec } from 'vega-lite';
import { beforeAll, describe, expect, it } from 'vitest';
import { readResultsCsv, readRunRecords } from '../../results/read.ts';
import { nodeModulesFile } from '../html.ts';
import { matchPublished } from '../published.ts';
import { groupStats } from '../stats.ts';
import { FIGURES, speedupPoints, type ReportData } from './index.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/results/', import.meta.url));

function load(experiment: string): ReportData {
  const rows = readResultsCsv(join(FIXTURES, `${experiment}.csv`));
  const records = readRunRecords(join(FIXTURES, experiment, 'runs'));
  const groups = groupStats(rows);
  return { experiment, rows, records, groups, matches: matchPublished(groups), alpha: 0.05 };
}

const EMPTY: ReportData = { experiment: 'empty', rows: [], records: [], groups: [], matches: [], alpha: 0.05 };

type Validate = ((data: unknown) => boolean) & { errors?: unknown[] | null };
let validate: Validate;

beforeAll(() => {
  const schema = JSON.parse(readFileSync(nodeModulesFile('vega-lite', 'build/vega-lite-schema.json'), 'utf8'));
  const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as new (o: object) => {
    compile(s: object): Validate;
  };
  validate = new Ajv({ allowUnionTypes: true, strict: false, allErrors: false }).compile(schema);
});

const cases: [string, () => ReportData][] = [
  ['rethinking-l1 fixture', () => load('rethinking-l1')],
  ['rethinking-slimming fixture', () => load('rethinking-slimming')],
  ['empty data', () => EMPTY],
];

describe('every figure spec validates against the Vega-Lite JSON schema and compiles', () => {
  it('the validator rejects an invalid spec (so it can fail)', () => {
    expect(validate({ mark: 'no-such-mark', data: { values: [] } })).toBe(false);
    expect(validate({ mark: 'point', data: { values: [] }, encoding: { x: { field: 'a', type: 'quantitative' } } })).toBe(true);
  });
  for (const [label, get] of cases) {
    for (const fig of FIGURES) {
      it(`${fig.name} on ${label}`, () => {
        const spec = fig.build(get());
        const ok = validate(spec);
        if (!ok) throw new Error(`${fig.name}: ${JSON.stringify(validate.errors?.slice(0, 3))}`);
        expect(ok).toBe(true);
        expect(() => compile(spec)).not.toThrow();
      });
    }
  }
});

function values(spec: TopLevelSpec): Record<string, unknown>[] {
  return ((spec as { data?: { values?: Record<string, unknown>[] } }).data?.values ?? []) as Record<string, unknown>[];
}

describe('figure contents', () => {
  it('empty data gives an explicit "no data" text panel for every figure', () => {
    for (const fig of FIGURES) {
      const spec = fig.build(EMPTY) as { mark?: { type?: string } };
      expect(spec.mark?.type).toBe('text');
      expect(String(values(spec as TopLevelSpec)[0]!.message)).toMatch(/^No data: /);
    }
  });

  it('the Rethinking bars carry the mean top-1 of each protocol group, recomputed from the CSV rows', () => {
    const data = load('rethinking-l1');
    const bars = FIGURES.find((f) => f.name === 'finetune-vs-scratch')!.build(data);
    const v = values(bars).find((x) => x.cell === 'resnet56 l1 A' && x.protocol === 'Scratch-B')!;
    const rows = data.rows.filter(
      (r) => r.status === 'ok' && r.model === 'resnet56' && r.profile === 'A' && r.protocol === 'scratch-B',
    );
    const mean = rows.reduce((s, r) => s + Number(r.top1_final), 0) / rows.length;
    expect(v.mean).toBeCloseTo(mean, 3);
    expect(v.n).toBe(rows.length);
  });

  it('speedup is base latency / latency of the same model and seed; MAC reduction is macs_base / macs_effective', () => {
    const data = load('rethinking-l1');
    const pts = speedupPoints(data.rows);
    const mag = pts.find((p) => p.method === 'magnitude' && p.metric === 'latency, batch 1' && p.protocol === 'fine-tune')!;
    const row = data.rows.find((r) => r.method === 'magnitude' && r.protocol === 'fine-tune')!;
    const base = data.rows.find((r) => r.protocol === 'baseline' && r.model === 'vgg16' && r.seed === row.seed)!;
    expect(mag.speedup).toBeCloseTo(Number(base.latency_ms_b1) / Number(row.latency_ms_b1), 3);
    expect(mag.macReduction).toBeCloseTo(Number(row.macs_base) / Number(row.macs_effective), 3);
    // the failed run has no latency: no point
    expect(pts.some((p) => p.cell === 'resnet56 l1 B' && p.protocol === 'scratch-B' && p.seed === 3)).toBe(false);
    expect(pts.filter((p) => p.cell === 'resnet56 l1 B' && p.protocol === 'scratch-B').length).toBe(2 * 2);
    const spec = FIGURES.find((f) => f.name === 'speedup-vs-macs')!.build(data) as { title: { subtitle: string[] } };
    expect(spec.title.subtitle.join(' ')).toMatch(/no real speedup without sparse kernels/);
  });

  it('the gamma histogram holds every channel: fractions sum to 1 per series, counts to the gamma count', () => {
    const data = load('rethinking-slimming');
    const spec = FIGURES.find((f) => f.name === 'bn-gammas')!.build(data);
    const bySeries = new Map<string, { f: number; c: number }>();
    for (const v of values(spec)) {
      const e = bySeries.get(String(v.series)) ?? { f: 0, c: 0 };
      e.f += Number(v.fraction);
      e.c += Number(v.count);
      bySeries.set(String(v.series), e);
    }
    const sparse = data.records.filter((r) => r.row.protocol === 'sparsity-train').reduce((s, r) => s + r.bnGammas!.length, 0);
    expect(bySeries.get('vgg19: sparsity training (L1 on gamma)')!.c).toBe(sparse);
    for (const e of bySeries.values()) expect(e.f).toBeCloseTo(1, 3);
  });

  it('ours vs published pairs the fixture VGG-19 baseline with the Network Slimming table (100 - 6.34)', () => {
    const spec = FIGURES.find((f) => f.name === 'ours-vs-published')!.build(load('rethinking-slimming'));
    const v = values(spec).find((x) => x.label === 'VGGNet (Baseline)')!;
    expect(v.published).toBeCloseTo(100 - 6.34, 10);
  });
});
