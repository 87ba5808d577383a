import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import AjvModule from 'ajv';
import { compile, type TopLevelSpec } from 'vega-lite';
import { beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../util/log.ts';
import type { RunRecord } from '../results/columns.ts';
import { curvePoints, fineTuneConvergence, fineTuneCurvesSpec, fineTunePoints, STILL_RISING_FROM, TRADEOFF_FIGURES, type ReportData } from './figures/index.ts';
import { speedupVsTheorySpec } from './figures/speedupVsTheory.ts';
import { tradeoffCurvesSpec } from './figures/tradeoffCurves.ts';
import { criteriaRows, granularityRows, granularityRuntimeRows, type FixtureRow } from './fixtures/tradeoff.ts';
import { nodeModulesFile } from './html.ts';
import { buildReport } from './index.ts';
import { renderSpec } from './render.ts';
import { groupStats } from './stats.ts';
import { evaluateStudyHypotheses } from './studyHypotheses.ts';
import { rankTables, tradeoffGroups, unprunedStats } from './tradeoff.ts';
import { buildTradeoffSummaryMarkdown, convergenceSentence, tradeoffFindings } from './tradeoffSummary.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/results/', import.meta.url));

const data = (experiment: string, rows: FixtureRow[]): ReportData => ({ experiment, rows, records: [], groups: groupStats(rows), matches: [], alpha: 0.05 });
const values = (spec: TopLevelSpec): Record<string, unknown>[] => ((spec as { data?: { values?: Record<string, unknown>[] } }).data?.values ?? []) as Record<string, unknown>[];

type Validate = ((d: unknown) => boolean) & { errors?: unknown[] | null };
let validate: Validate;
beforeAll(() => {
  const schema = JSON.parse(readFileSync(nodeModulesFile('vega-lite', 'build/vega-lite-schema.json'), 'utf8'));
  const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as new (o: object) => { compile(s: object): Validate };
  validate = new Ajv({ allowUnionTypes: true, strict: false, allErrors: false }).compile(schema);
});

/** Run records for the rows, each with a 4-epoch curve that rises by 0.5 points an epoch to the row's top-1. */
const curveOf = (r: FixtureRow, shift = 0): RunRecord['curve'] =>
  [1, 2, 3, 4].map((epoch) => ({ epoch, lr: 0.001, trainLoss: 1, trainAcc: 50, testLoss: 1, testAcc: Number(r.top1_final) - (4 - epoch) * 0.5 + shift }));
const withCurves = (d: ReportData): ReportData => ({ ...d, records: (d.rows as FixtureRow[]).map((r) => ({ row: r, config: {}, curve: curveOf(r) }) as RunRecord) });

describe('tradeoff figures', () => {
  const cases: [string, ReportData][] = [
    ['tradeoff-criteria', data('tradeoff-criteria', criteriaRows())],
    ['granularity', data('granularity', granularityRows())],
    ['granularity with runtimes', data('granularity', granularityRuntimeRows())],
    ['empty', data('empty', [])],
    ['tradeoff-criteria with curves', withCurves(data('tradeoff-criteria', criteriaRows()))],
    ['granularity with curves', withCurves(data('granularity', granularityRows()))],
  ];
  for (const [label, d] of cases) {
    for (const fig of TRADEOFF_FIGURES) {
      it(`${fig.name} on ${label} validates against the Vega-Lite schema and compiles`, () => {
        const spec = fig.build(d);
        if (!validate(spec)) throw new Error(`${fig.name}: ${JSON.stringify(validate.errors?.slice(0, 3))}`);
        expect(() => compile(spec)).not.toThrow();
      });
    }
  }

  it('curves: one point per arm and axis, the mean of its seeds; random always drawn; Scratch-B only for layerwise l1', () => {
    const d = data('tradeoff-criteria', criteriaRows());
    const pts = curvePoints(d);
    const rows = (d.rows as FixtureRow[]).filter((r) => r.model === 'vgg16' && r.criterion === 'random' && r.scope === 'global' && r.target === 8 && r.protocol === 'fine-tune');
    const p = pts.find((x) => x.model === 'vgg16' && x.line === 'random global' && x.axis.startsWith('compression') && x.target === 'speedup 8x')!;
    let sum = 0;
    for (const r of rows) sum += Number(r.top1_final);
    expect(p.mean).toBeCloseTo(sum / rows.length, 3);
    expect(p.x).toBeCloseTo(rows.reduce((s, r) => s + Number(r.params_base) / Number(r.params_effective), 0) / rows.length, 2);
    expect(p.style).toBe('random');
    // 2 models x 3 targets x 3 axes x (10 fine-tuned lines + 1 Scratch-B line)
    expect(pts.length).toBe(2 * 3 * 3 * 11);
    expect(new Set(pts.filter((x) => x.style === 'Scratch-B').map((x) => x.line))).toEqual(new Set(['l1 layerwise, Scratch-B']));
    // the unpruned level: in every panel, the mean of the baseline seeds
    const spec = tradeoffCurvesSpec(d);
    const unpruned = values(spec).filter((v) => v.layer === 'unpruned' && v.model === 'resnet56');
    expect(unpruned.length).toBe(3);
    const base = (d.rows as FixtureRow[]).filter((r) => r.model === 'resnet56' && r.protocol === 'baseline').map((r) => Number(r.top1_final));
    for (const u of unpruned) expect(u.mean).toBeCloseTo(base.reduce((s, x) => s + x, 0) / base.length, 3);
    // The subtitle names the dashes this figure draws, and says when there is no random arm.
    const subtitle = (sp: unknown): string => (sp as { title: { subtitle: string[] } }).title.subtitle.join('\n');
    expect(subtitle(spec)).toContain('random criterion dashed; Scratch-B');
    const g = subtitle(tradeoffCurvesSpec(data('granularity', granularityRows())));
    expect(g).toContain('no random arm in this experiment');
    expect(g).not.toContain('Scratch-B');
  });

  it('fine-tuning curves: per method and operating point, the mean over seeds of each epoch; other protocols left out; colours as in the tradeoff curves', () => {
    const d = withCurves(data('tradeoff-criteria', criteriaRows()));
    const pts = fineTunePoints(d);
    const fineTuned = (d.rows as FixtureRow[]).filter((r) => r.protocol === 'fine-tune');
    const arms = new Set(fineTuned.map((r) => `${r.model}|${r.target}|${r.criterion}|${r.scope}`));
    expect(pts.length).toBe(arms.size * 4);
    expect(pts.some((p) => p.line.includes('Scratch-B'))).toBe(false);
    const mine = fineTuned.filter((r) => r.model === 'vgg16' && r.criterion === 'fpgm' && r.scope === 'global' && r.target === 4);
    expect(mine.length).toBe(3);
    const p = pts.find((x) => x.model === 'vgg16' && x.line === 'fpgm global' && x.point === 'vgg16, MAC speedup 4x' && x.epoch === 2)!;
    expect(p.n).toBe(3);
    let sum = 0;
    for (const r of mine) sum += Number(r.top1_final) - 1;
    expect(p.mean).toBeCloseTo(sum / 3, 3);
    expect(pts.find((x) => x.line === 'random layerwise')!.style).toBe('random');
    // a seed recorded twice (a re-run cell) is one sample: the mean of its two records
    const again = { row: { ...mine[0]!, run_id: 'again' }, config: {}, curve: curveOf(mine[0]!, 3) } as RunRecord;
    const p2 = fineTunePoints({ ...d, records: [...d.records, again] }).find((x) => x.line === p.line && x.point === p.point && x.epoch === 2)!;
    expect(p2.n).toBe(3);
    expect(p2.mean).toBeCloseTo(p.mean + 1.5 / 3, 3);
    // one colour per method in both figures: the same sorted domain, Scratch-B's line included
    const domainOf = (sp: TopLevelSpec): unknown => (sp as { spec: { encoding: { color: { scale: { domain: string[] } } } } }).spec.encoding.color.scale.domain;
    const curveLines = [...new Set(curvePoints(d).map((x) => x.line))].sort((a, b) => a.localeCompare(b));
    expect(domainOf(fineTuneCurvesSpec(d))).toEqual(curveLines);
    // its legend lists only the lines it draws (no Scratch-B)
    const legend = (fineTuneCurvesSpec(d) as unknown as { spec: { encoding: { color: { legend: { values: string[] } } } } }).spec.encoding.color.legend.values;
    expect(legend).toEqual(curveLines.filter((l) => !l.includes('Scratch-B')));
    const curveColor = (tradeoffCurvesSpec(d) as unknown as { spec: { layer: { encoding: { color?: { scale: { domain: string[] } } } }[] } }).spec.layer.find((l) => l.encoding.color)!.encoding.color!.scale.domain;
    expect(curveColor).toEqual(curveLines);
  });

  it("fine-tuning convergence: the last epoch's gain per operating point, and the findings say where it still rose", () => {
    const rows = criteriaRows();
    // arms at 8x still gain 1.5 points in their last epoch; at 2x and 4x, 0.1
    const steep = (r: FixtureRow): RunRecord['curve'] => [1, 2, 3, 4].map((epoch) => ({ ...curveOf(r)[epoch - 1]!, testAcc: Number(r.top1_final) - (4 - epoch) * (r.target === 8 ? 1.5 : 0.1) }));
    const d = { ...data('tradeoff-criteria', rows), records: rows.map((r) => ({ row: r, config: {}, curve: steep(r) }) as RunRecord) };
    const conv = fineTuneConvergence(fineTunePoints(d));
    expect(conv.map((c) => c.point)).toEqual(['resnet56, MAC speedup 2x', 'resnet56, MAC speedup 4x', 'resnet56, MAC speedup 8x', 'vgg16, MAC speedup 2x', 'vgg16, MAC speedup 4x', 'vgg16, MAC speedup 8x']);
    for (const c of conv) {
      expect(c.epochs).toBe(4);
      expect(c.lines).toBe(10);
      expect(c.lastGain).toBeCloseTo(c.point.endsWith('8x') ? 1.5 : 0.1, 3);
    }
    const s = convergenceSentence(conv);
    expect(s).toContain('had not levelled off at 2 of 6 operating points (the last epoch added 0.2 points or more): it still added +1.50 points at resnet56, MAC speedup 8x, +1.50 points at vgg16, MAC speedup 8x');
    expect(s).not.toContain('2x');
    const flat = conv.map((c) => ({ ...c, lastGain: STILL_RISING_FROM / 2 }));
    expect(convergenceSentence(flat)).toContain('had levelled off at every operating point');
    expect(convergenceSentence([])).toBe('');
    expect(tradeoffFindings({ verdicts: [], tables: rankTables(tradeoffGroups(rows), 0.3), unpruned: unprunedStats(rows), margin: 0.3, convergence: conv })).toContain(s);
  });

  it('measured vs theoretical: a point per run and backend, speedup = unpruned latency / latency', () => {
    const d = data('granularity', granularityRows());
    const spec = speedupVsTheorySpec(d);
    const v = values(spec);
    expect(v.length).toBe(6 * 3 * 2 * 3); // methods x targets x backends x seeds
    const row = (d.rows as FixtureRow[]).find((r) => r.granularity === 'layer' && r.target === 8 && r.backend === 'onednn' && r.seed === 2)!;
    const base = (d.rows as FixtureRow[]).find((r) => r.protocol === 'baseline' && r.backend === 'onednn' && r.seed === 2)!;
    const p = v.find((x) => x.granularity === 'layer' && x.target === 'compression 8x' && x.backend === 'onednn' && Math.abs(Number(x.latencySpeedup) - Number(base.latency_ms_b1) / Number(row.latency_ms_b1)) < 1e-3);
    expect(p).toBeDefined();
    expect(p!.macSpeedup).toBeCloseTo(Number(row.macs_base) / Number(row.macs_effective), 3);
  });

  it('measured vs theoretical: rows timed on two more runtimes get a facet per runtime beside their backend, speedup from the runtime columns', () => {
    const d = data('granularity', granularityRuntimeRows());
    const spec = speedupVsTheorySpec(d);
    const v = values(spec);
    expect(new Set(v.map((x) => x.backend))).toEqual(new Set(['onednn', 'wasm', 'ONNX Runtime (CPU)']));
    // methods x targets x seeds at batch 1; at batch 64 where the rows have throughputs (the
    // fixture's own backend, onednn, has none)
    const count = (runtime: string, batch: string): number => v.filter((x) => x.backend === runtime && String(x.panel).endsWith(batch)).length;
    for (const runtime of ['onednn', 'wasm', 'ONNX Runtime (CPU)']) expect(count(runtime, 'batch 1 (latency)'), runtime).toBe(6 * 3 * 3);
    for (const runtime of ['wasm', 'ONNX Runtime (CPU)']) expect(count(runtime, 'batch 64 (throughput)'), runtime).toBe(6 * 3 * 3);
    expect(count('onednn', 'batch 64 (throughput)')).toBe(0);
    expect((spec as { facet: { column: { field: string } } }).facet.column.field).toBe('backend');
    const row = (d.rows as FixtureRow[]).find((r) => r.granularity === 'channel' && r.target === 4 && r.seed === 1 && r.protocol === 'fine-tune')!;
    const ort = v.filter((x) => x.backend === 'ONNX Runtime (CPU)' && x.granularity === 'channel' && x.target === 'compression 4x');
    expect(ort.some((x) => String(x.panel).endsWith('batch 1 (latency)') && Math.abs(Number(x.latencySpeedup) - Number(row.base_latency_ms_b1_ort) / Number(row.latency_ms_b1_ort)) < 1e-3)).toBe(true);
    // batch 64: images/s over the unpruned model's images/s, from the same runtime's columns
    expect(ort.some((x) => String(x.panel).endsWith('batch 64 (throughput)') && Math.abs(Number(x.latencySpeedup) - Number(row.infer_images_per_sec_b64_ort) / Number(row.base_infer_images_per_sec_b64_ort)) < 1e-3)).toBe(true);
    // Masks run dense in ONNX Runtime: no speedup in the fixture.
    for (const x of v.filter((y) => y.backend === 'ONNX Runtime (CPU)' && y.granularity === 'weight')) expect(x.latencySpeedup).toBe(1);
    // The speedup verdicts are per runtime too: ONNX Runtime is the existing library of the seed's claim.
    const verdicts = evaluateStudyHypotheses(d.rows, tradeoffGroups(d.rows), [], { margin: 0.3 }).filter((x) => x.hypothesisId === 'H-speedup');
    expect(verdicts.some((x) => x.where.endsWith('on ONNX Runtime (CPU)'))).toBe(true);
    expect(verdicts.some((x) => x.where.endsWith('on wasm'))).toBe(true);
    // Batch 64 has its own verdicts, from the throughput columns (none for onednn: no throughput in the fixture).
    const b64 = evaluateStudyHypotheses(d.rows, tradeoffGroups(d.rows), [], { margin: 0.3 }).filter((x) => x.hypothesisId === 'H-speedup-b64');
    expect(b64.some((x) => x.where.endsWith('on onednn'))).toBe(false);
    const ch = b64.find((x) => x.where === 'resnet56, compression 4x: channel on ONNX Runtime (CPU)')!;
    const rowsAt = (d.rows as FixtureRow[]).filter((r) => r.granularity === 'channel' && r.target === 4 && r.protocol !== 'baseline');
    expect(ch.labelA).toBe('measured throughput speedup (batch 64)');
    // geometric mean of images/s over the unpruned images/s
    expect(ch.meanA!).toBeCloseTo(Math.exp(rowsAt.reduce((t, r) => t + Math.log(Number(r.infer_images_per_sec_b64_ort) / Number(r.base_infer_images_per_sec_b64_ort)), 0) / rowsAt.length), 9);
  });

  it('renders both figures to PNG with their titles in the SVG', async () => {
    const { svg, png } = await renderSpec(tradeoffCurvesSpec(data('tradeoff-criteria', criteriaRows())));
    expect(svg).toContain('measured latency speedup, batch 1 (x)');
    expect(svg).toContain('top-1 accuracy (%)');
    expect(png.length).toBeGreaterThan(10_000);
    const s = await renderSpec(speedupVsTheorySpec(data('granularity', granularityRows())));
    expect(s.svg).toContain('theoretical MAC speedup (x)');
  });
});

describe('tradeoff summary', () => {
  const rows = criteriaRows();
  const arms = tradeoffGroups(rows);
  const tables = rankTables(arms, 0.3);
  const verdicts = evaluateStudyHypotheses(rows, arms, [], { margin: 0.3 });
  const md = buildTradeoffSummaryMarkdown({ experiment: 'tradeoff-criteria', preset: 'cpu', rows, verdicts, tables, groups: arms, unpruned: unprunedStats(rows), margin: 0.3, alpha: 0.05 });
  it('opens with "what we found", generated from the verdicts', () => {
    expect(md.split('\n').slice(0, 3)).toEqual(['# Report: tradeoff-criteria (preset cpu)', '', '## What we found']);
    const lines = md.split('\n');
    const end = lines.indexOf('', 4);
    const found = lines.slice(4, end).join('\n');
    // A list, one item per hypothesis or finding, each on one line.
    expect(found.split('\n').every((l) => l.startsWith('- '))).toBe(true);
    expect(found.split('\n').filter((l) => l.startsWith('- H-rethinking ')).length).toBe(1);
    const n = (id: string, k: string): number => verdicts.filter((v) => v.hypothesisId === id && v.verdict === k).length;
    const total = verdicts.filter((v) => v.hypothesisId === 'H-rethinking').length;
    expect(found).toContain(`${n('H-rethinking', 'supported')} of ${total} comparisons supported it`);
    expect(found).toContain(`${n('H-rethinking', 'contradicted')} contradicted it`);
    // A few decided comparisons are named with their difference, so the reader knows which.
    const contradicted = verdicts.filter((v) => v.hypothesisId === 'H-rethinking' && v.verdict === 'contradicted');
    expect(contradicted.length).toBeGreaterThan(0);
    expect(contradicted.length).toBeLessThanOrEqual(3);
    for (const v of contradicted) expect(found).toContain(`${v.where}, ${v.diff! >= 0 ? '+' : ''}${v.diff!.toFixed(2)} points`);
    expect(found).toMatch(/H-rankflip .*a flip survives/);
    expect(found).toContain('Not testable with these runs (no arms or measurements for them): H-global-compression, H-unstructured, H-speedup-b64.');
    expect(found).toContain('resnet56, MAC speedup 2x: taylor layerwise 93.60%');
    expect(found).toBe(tradeoffFindings({ verdicts, tables, unpruned: unprunedStats(rows), margin: 0.3 }));
  });
  it('records the margin and the MDD formula, and prints one rank table per operating point with criterion cost', () => {
    expect(md).toContain('margin = **0.3 points**');
    expect(md).toContain('MDD = (t(1 - alpha/2, df) + t(power, df)) x sqrt(sA^2/nA + sB^2/nB), df the Welch-Satterthwaite df');
    expect((md.match(/^### /gm) ?? []).length).toBe(6);
    expect(md).toContain('### vgg16, MAC speedup 4x');
    // taylor's criterion seconds in the fixture: 3.5 x (1, 1.1, 1.2) -> mean 3.85; achieved: 2 x (1, 1.001, 1.002) -> 2.002
    expect(md).toMatch(/\| 1 \| taylor layerwise \| 3 \| 93\.60 \[[\d.]+, [\d.]+\] \| 2\.002 \| [\d.]+x \| 2\.00x \| [\d.]+x \| 3\.85 \|/);
    expect(md).toMatch(/\| taylor layerwise \| fpgm layerwise \| \+1\.05 \| \[[\d.]+, [\d.]+\] \| [\d.e-]+ \| [\d.e-]+ \| better \| [\d.]+ \|/);
    expect(md).toMatch(/\| H-rethinking \| vgg16, MAC speedup 8x: l1 layerwise, Scratch-B vs l1 layerwise \|.*\| \*\*contradicted\*\* \| 0\.3 \|/);
    expect(md).toContain('**secondary source**');
    // H-rankflip is decided at alpha / 10 (5 criteria at a point): its row shows that interval and says so; the others show 95%.
    expect(md).toMatch(/\| H-rankflip \| resnet56 channel layerwise[^\n]*\| \[[\d.-]+, [\d.-]+\] \(99\.5%, alpha 0\.005\) \|/);
    expect(md).not.toMatch(/\| H-rethinking \|[^\n]*\(99\.5%/);
    // The latency column says whose latency it is.
    expect(md).toContain("`latency speedup` is the measured batch-1 speedup on the runs' own backend (onednn)");
  });
});

describe('buildReport chooses the report', () => {
  it('the Rethinking fixtures (no target_kind/scope) still get the Rethinking report', async () => {
    const out = mkdtempSync(join(tmpdir(), 'pb-report-'));
    const r = await buildReport({ experiment: 'rethinking-l1', resultsDir: FIXTURES, outDir: out, logger: silentLogger });
    expect(r.study).toBe('rethinking');
    expect(r.studyVerdicts).toBeUndefined();
    expect(r.summaryMarkdown).toContain('## Ours vs. published');
  }, 120_000);
  it('a negative margin or an unknown study is one ConfigError naming the flag', async () => {
    await expect(buildReport({ experiment: 'rethinking-l1', resultsDir: FIXTURES, outDir: tmpdir(), margin: -0.1, logger: silentLogger })).rejects.toThrow(/--margin expects a margin in accuracy points >= 0, got -0.1/);
    await expect(buildReport({ experiment: 'rethinking-l1', resultsDir: FIXTURES, outDir: tmpdir(), study: 'nope' as never, logger: silentLogger })).rejects.toThrow(/--study expects one of auto, rethinking, tradeoff/);
  });
});
