import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport } from '../src/report/index.ts';
import { onednnAvailability } from '../src/backend/onednn/availability.ts';
import { parseRetimedCsv, prunedModelKey, readResultsCsv, readRunRecords, retimedLatencyPath, retimedToCsv, runtimeColumns, type LatencyRuntime, type RunRow } from '../src/results/index.ts';
import { runExperiment } from '../src/run/index.ts';
import { retimeExperiment } from '../src/run/retime.ts';
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
  // The rows that train a pruned model further say what it achieved, as its prune row does.
  const later = rows.filter((r) => r.protocol === 'fine-tune' || r.protocol === 'scratch-B');
  expect(later.length).toBeGreaterThan(0);
  for (const r of later) {
    const prune = prunes.find((p) => p.cell === `prune:${String(r.cell).slice(String(r.cell).indexOf(':') + 1)}`)!;
    expect(Number(r.achieved), String(r.cell)).toBeCloseTo(Number(prune.achieved), 5);
    // Scratch-B of an architecture known before training runs without its prune cell: no criterion ran for it.
    if (r.protocol === 'fine-tune') expect(r.criterion_seconds, String(r.cell)).toBe(prune.criterion_seconds);
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

  it('retime rebuilds every pruned model of the granularity smoke run from its record, resumes, refuses a record that does not match, and the report uses its latencies', async () => {
    const resultsDir = join(dir, 'results');
    const rows = readResultsCsv(join(resultsDir, 'granularity.csv')); // from the smoke run above
    const keys = new Set(rows.filter((r) => r.protocol === 'prune' || r.protocol === 'fine-tune').map((r) => prunedModelKey(String(r.cell))!));
    const first = await retimeExperiment({ experiment: 'granularity', resultsDir, runtimes: ['wasm'], repeats: 3, logger: silentLogger });
    expect(first).toMatchObject({ models: keys.size, timed: keys.size, skipped: 0, rows: keys.size });
    const path = retimedLatencyPath(resultsDir, 'granularity');
    const text = await readFile(path, 'utf8');
    const retimed = parseRetimedCsv(text, path);
    expect(new Set(retimed.map((r) => r.pruned_model))).toEqual(keys);
    const structureOf: Record<string, string> = { channel: 'compacted', layer: 'blocks removed', weight: 'masked (dense)' };
    for (const r of retimed) {
      const prune = rows.find((x) => x.cell === `prune:${r.pruned_model}`)!;
      expect(r.structure, r.pruned_model).toBe(structureOf[String(prune.granularity)]);
      expect(r.latency_ms_b1 > 0 && r.base_latency_ms_b1 > 0).toBe(true);
    }
    // Resumable: nothing left to time, the file untouched.
    expect(await retimeExperiment({ experiment: 'granularity', resultsDir, runtimes: ['wasm'], repeats: 3, logger: silentLogger })).toMatchObject({ timed: 0, skipped: keys.size });
    expect(await readFile(path, 'utf8')).toBe(text);
    // A runtime added later is timed alone: the wasm rows stay as they were.
    const more = await retimeExperiment({ experiment: 'granularity', resultsDir, runtimes: ['wasm', 'ort'], repeats: 3, logger: silentLogger });
    expect(more).toMatchObject({ timed: keys.size, rows: 2 * keys.size });
    const both = parseRetimedCsv(await readFile(path, 'utf8'), path);
    expect(both.filter((r) => r.runtime === 'wasm')).toEqual(retimed);
    await writeFile(path, text); // back to wasm only, for the checks below

    // A record whose keep plan no longer gives the row's architecture is refused, naming the run.
    const tampered = join(dir, 'tampered');
    await cp(join(resultsDir, 'granularity'), join(tampered, 'granularity'), { recursive: true });
    await rm(join(tampered, 'granularity', 'latency-retimed.csv'));
    const runs = join(tampered, 'granularity', 'runs');
    const file = (await readdir(runs)).find((f) => f.startsWith('prune_') && f.includes('channel'))!;
    const rec = JSON.parse(await readFile(join(runs, file), 'utf8')) as { row: { run_id: string }; keepPlan: { groups: Record<string, number[]> } };
    const group = Object.values(rec.keepPlan.groups).find((g) => g.length > 1)!;
    group.pop();
    await writeFile(join(runs, file), JSON.stringify(rec));
    await expect(retimeExperiment({ experiment: 'granularity', resultsDir: tampered, runtimes: ['wasm'], repeats: 3, logger: silentLogger })).rejects.toThrow(rec.row.run_id);

    // The report takes the re-timed latency: make one model exactly 8x faster on wasm.
    const target = retimed[0]!;
    await writeFile(path, retimedToCsv(retimed.map((r) => (r === target ? { ...r, latency_ms_b1: r.base_latency_ms_b1 / 8 } : r))));
    const report = await buildReport({ experiment: 'granularity', preset: 'smoke', resultsDir, outDir: join(dir, 'reports-retimed'), logger: silentLogger });
    expect(report.summaryMarkdown).toContain(`Latencies of ${keys.size} of ${keys.size} pruned models are re-timed`);
    const figure = JSON.parse(await readFile(report.files.find((f) => f.endsWith('speedup-vs-theory.vl.json'))!, 'utf8')) as { data: { values: { backend: string; latencySpeedup: number }[] } };
    expect(figure.data.values.filter((v) => v.backend === 'wasm').map((v) => v.latencySpeedup)).toContain(8);
    // Runtimes the re-timing left out are dropped, not mixed in from the cells.
    expect(figure.data.values.filter((v) => v.backend === 'ONNX Runtime (CPU)')).toEqual([]);
  });
});
