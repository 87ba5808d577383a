import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport } from '../src/report/index.ts';
import { onednnAvailability } from '../src/backend/onednn/availability.ts';
import { readResultsCsv, readRunRecords, runtimeColumns, type LatencyRuntime, type RunRow } from '../src/results/index.ts';
import { runExperiment } from '../src/run/index.ts';
import { silentLogger } from '../src/util/log.ts';
import granularity from './granularity.ts';
import tradeoffCriteria, { TRADEOFF_CRITERIA, TRADEOFF_SCOPES, TRADEOFF_SPEEDUPS } from './tradeoff-criteria.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prunebench-tradeoff-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function smoke(experiment: string): Promise<RunRow[]> {
  const resultsDir = join(dir, 'results');
  const summary = await runExperiment({ experiment, preset: 'smoke', jobs: 1, resultsDir, runDir: join(dir, experiment), progress: false, logger: silentLogger, print: () => {} });
  expect(summary.cells.filter((c) => c.state !== 'completed')).toEqual([]);
  return readResultsCsv(join(resultsDir, `${experiment}.csv`));
}

/** What the study's rows must say: the budget asked, and a pruned model within 1% of it (or the nearest whole blocks). */
function checkBudgets(rows: RunRow[], kind: 'speedup' | 'compression'): void {
  const prunes = rows.filter((r) => r.protocol === 'prune');
  expect(prunes.length).toBeGreaterThan(0);
  for (const r of prunes) {
    expect(r.target_kind, String(r.cell)).toBe(kind);
    const target = Number(r.target);
    // Recounted from the row's own counts, not taken from `achieved`.
    const ratio = kind === 'speedup' ? Number(r.macs_base) / Number(r.macs_effective) : Number(r.params_base) / Number(r.params_effective);
    expect(Number(r.achieved), String(r.cell)).toBeCloseTo(ratio, 3);
    if (r.granularity !== 'layer') expect(Math.abs(ratio / target - 1), String(r.cell)).toBeLessThanOrEqual(0.01);
    expect(r.criterion_seconds === '' ? 0 : Number(r.criterion_seconds), String(r.cell)).toBeGreaterThanOrEqual(0);
  }
}

describe('the tradeoff study (issue 30)', () => {
  it('tradeoff-criteria declares every criterion x scope x speedup, fine-tuned, with Scratch-B for layerwise l1 at every point', () => {
    const arms = tradeoffCriteria.presets.paper.arms;
    for (const model of ['vgg16', 'resnet56']) {
      for (const criterion of TRADEOFF_CRITERIA) {
        for (const scope of TRADEOFF_SCOPES) {
          for (const speedup of TRADEOFF_SPEEDUPS) {
            const a = arms.find((x) => x.model === model && x.criterion === criterion && x.scope === scope && x.target?.value === speedup);
            expect(a, `${model} ${criterion} ${scope} ${speedup}`).toBeDefined();
            expect(a!.target).toEqual({ kind: 'speedup', value: speedup });
            expect(a!.protocols.includes('scratch-B')).toBe(criterion === 'l1' && scope === 'layerwise');
          }
        }
      }
    }
    // The cpu preset keeps 3 seeds at every point.
    expect(tradeoffCriteria.presets.cpu.seeds).toHaveLength(3);
    expect(granularity.presets.cpu.seeds).toHaveLength(3);
  });

  it('tradeoff-criteria smoke: exact MAC speedups, criterion time recorded, and the tradeoff report is built from the CSV', async () => {
    const rows = await smoke('tradeoff-criteria');
    checkBudgets(rows, 'speedup');
    expect(new Set(rows.map((r) => r.criterion))).toEqual(new Set(['none', 'l1', 'taylor']));
    expect(rows.some((r) => r.protocol === 'scratch-B')).toBe(true);
    // Taylor reads data: its prune row records the calibration batches it used.
    const taylor = rows.find((r) => r.protocol === 'prune' && r.criterion === 'taylor')!;
    expect(Number(taylor.calibration_batches)).toBeGreaterThan(0);
    const report = await buildReport({ experiment: 'tradeoff-criteria', preset: 'smoke', resultsDir: join(dir, 'results'), outDir: join(dir, 'reports'), logger: silentLogger });
    expect(report.study).toBe('tradeoff');
  });

  it('granularity smoke: weight, channel and layer levels at an exact parameter compression (blocks: the nearest)', async () => {
    const rows = await smoke('granularity');
    checkBudgets(rows, 'compression');
    expect(new Set(rows.filter((r) => r.protocol === 'prune').map((r) => r.granularity))).toEqual(new Set(['weight', 'channel', 'layer']));
    // Every pruned model is also timed against the unpruned one on wasm and ONNX Runtime (and on
    // onednn where its addon is built), in the CSV and in the JSON record.
    const onednn = onednnAvailability();
    const expected: LatencyRuntime[] = onednn.reason === null || onednn.required ? ['wasm', 'ort', 'onednn'] : ['wasm', 'ort'];
    const records = new Map(readRunRecords(join(dir, 'results', 'granularity', 'runs')).map((r) => [String(r.row.run_id), r]));
    const pruned = rows.filter((r) => r.protocol !== 'baseline');
    expect(pruned.length).toBeGreaterThan(0);
    for (const r of pruned) {
      for (const rt of expected) {
        const cols = runtimeColumns(rt);
        for (const c of Object.values(cols)) expect(Number(r[c]), `${String(r.cell)} ${c}`).toBeGreaterThan(0);
        const cost = records.get(String(r.run_id))!.runtimes![rt]!;
        expect(cost, `${String(r.cell)} ${rt}`).toEqual({ latencyMsBatch1: r[cols.latency], baseLatencyMsBatch1: r[cols.baseLatency], imagesPerSecBatch64: r[cols.throughput], baseImagesPerSecBatch64: r[cols.baseThroughput] });
      }
    }
    // Baselines are the reference itself: nothing more to time.
    for (const r of rows.filter((x) => x.protocol === 'baseline')) expect(r.latency_ms_b1_ort).toBe('');
    // The report's measured-vs-theory figure has a column per runtime.
    const report = await buildReport({ experiment: 'granularity', preset: 'smoke', resultsDir: join(dir, 'results'), outDir: join(dir, 'reports'), logger: silentLogger });
    const figure = JSON.parse(await readFile(report.files.find((f) => f.endsWith('speedup-vs-theory.vl.json'))!, 'utf8')) as { data: { values: { backend: string }[] } };
    const facets = new Set(figure.data.values.map((v) => v.backend));
    for (const label of ['wasm', 'ONNX Runtime (CPU)', String(pruned[0]!.backend)]) expect(facets.has(label), label).toBe(true);
  });
});
