import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPERIMENTS } from '../../experiments/index.ts';
import { CPU_EPOCHS, CPU_PRESET, scaledSparsityLambda } from '../../experiments/presets.ts';
import { initBackend } from '../backend/index.ts';
import { countSpec } from '../metrics/index.ts';
import { readResultsCsv } from '../results/index.ts';
import { runExperiment } from '../run/index.ts';
import { ConfigError } from '../util/errors.ts';
import { silentLogger } from '../util/log.ts';
import { arm, defineExperiment, SMOKE_PRESET } from './define.ts';
import { widthOf, widthsLabel } from './config.ts';
import { applyOverrides, validateConfig } from './validate.ts';
import { estimatePreset, estimateSpec, makespanSeconds } from './estimate.ts';
import type { Cell } from './cells.ts';
import { prunedShape } from './shape-compute.ts';

const experiment = (name: string) => EXPERIMENTS.find((e) => e.name === name)!;

let dir: string;
beforeAll(async () => {
  await initBackend({ backend: 'cpu', logger: silentLogger });
  dir = await mkdtemp(join(tmpdir(), 'prunebench-estimate-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('the wall-time estimate of a preset', () => {
  it("gives every cell the epochs the runner really trains, Scratch-B's from the pruned FLOPs (rethinking-l1 smoke)", async () => {
    // Two epochs, so that Scratch-B's floor(E x ratio) is above E.
    const set = ['baseline.epochs=2'];
    const config = applyOverrides(experiment('rethinking-l1').presets.smoke, set);
    await runExperiment({ experiment: 'rethinking-l1', preset: 'smoke', set, jobs: 1, resultsDir: join(dir, 'results'), runDir: join(dir, 'run'), progress: false, logger: silentLogger, print: () => {} });
    const rows = await readResultsCsv(join(dir, 'results', 'rethinking-l1.csv'));
    const est = estimatePreset(config, () => ({ trainImagesPerSec: 1, evalImagesPerSec: 1 }), prunedShape);
    expect(est.approximate).toBe(false);
    expect(est.cells.map((c) => c.cell).sort()).toEqual(rows.map((r) => String(r.cell)).sort());
    for (const row of rows.filter((r) => r.protocol !== 'prune')) {
      const cell = est.cells.find((c) => c.cell === row.cell)!;
      expect(cell.epochs, String(row.cell)).toBe(Number(row.epochs_derived));
    }
    const sb = rows.find((r) => r.protocol === 'scratch-B')!;
    expect(Number(sb.epochs_derived)).toBeGreaterThan(config.baseline.epochs);
    // The estimated pruned architecture is the one the prune cell produced.
    const shape = prunedShape(estimateSpec(config, 'vgg16'), config.arms[0]!);
    expect(shape.macsEffective).toBe(Number(sb.macs));
  });

  it('times each cell as epochs x (train + test images) / speed of the network it trains, and finds the critical path', () => {
    const config = { ...experiment('rethinking-l1').presets.cpu, seeds: [1] };
    const vggFull = countSpec(estimateSpec(config, 'vgg16')).macs;
    // Speed inversely proportional to MACs: a pruned network is faster.
    const est = estimatePreset(config, (spec) => ({ trainImagesPerSec: 1e10 / countSpec(spec).macs, evalImagesPerSec: 3e10 / countSpec(spec).macs }), prunedShape);
    const get = (id: string) => est.cells.find((c) => c.cell === id)!;
    const epochSeconds = (vggFull * (50_000 + 10_000 / 3)) / 1e10;
    expect(get('baseline:vgg16:s1').seconds).toBeCloseTo(CPU_EPOCHS * epochSeconds, 6);
    const sb = get('scratch-B:vgg16-A:s1');
    // Scratch-B gets the baseline's compute: its time is about the baseline's, not 2x E.
    expect(sb.epochs).toBeGreaterThan(CPU_EPOCHS);
    expect(sb.seconds).toBeLessThanOrEqual(get('baseline:vgg16:s1').seconds * 1.0001);
    expect(sb.seconds).toBeGreaterThan(get('baseline:vgg16:s1').seconds * 0.95);
    expect(get('fine-tune:vgg16-A:s1').epochs).toBe(CPU_EPOCHS / 4);
    expect(est.serialSeconds).toBeCloseTo(est.cells.reduce((s, c) => s + c.seconds, 0), 6);
    // Scratch-E/B of an L1 profile start at once, beside the baseline (cells.ts).
    const chain = (model: string, armId: string): number =>
      Math.max(get(`baseline:${model}:s1`).seconds + get(`prune:${armId}:s1`).seconds + get(`fine-tune:${armId}:s1`).seconds, get(`scratch-E:${armId}:s1`).seconds, get(`scratch-B:${armId}:s1`).seconds);
    expect(est.criticalPathSeconds).toBeCloseTo(Math.max(chain('vgg16', 'vgg16-A'), chain('resnet56', 'resnet56-B')), 6);
  });

  it('flags automatic ratios and weight masks as approximate; masks keep the dense network but cut effective MACs', () => {
    const config = experiment('rethinking-unstructured').presets.cpu;
    const full = estimateSpec(config, 'vgg19');
    const masked = prunedShape(full, config.arms[0]!);
    expect(masked.approximate).toBe(true);
    expect(masked.spec).toEqual(full);
    const ratio = masked.macsEffective / countSpec(full).macs;
    expect(ratio).toBeLessThan(0.9);
    expect(ratio).toBeGreaterThan(0.5);
    // Iterative pruning: 3 rounds of floor(7 / 3) = 2 fine-tuning epochs.
    const iterative = estimatePreset(applyOverrides(experiment('rethinking-unstructured').presets.smoke, ['fineTune.epochs=7']), () => ({ trainImagesPerSec: 1, evalImagesPerSec: 1 }), prunedShape);
    expect(iterative.cells.find((c) => c.protocol === 'iterative')!.epochs).toBe(6);
    // Gradual pruning: the fine-tune budget, trained at the full (masked) architecture's speed:
    // a channel arm's gradual epoch costs what a baseline epoch costs, its fine-tune epoch less.
    const l1 = applyOverrides(experiment('rethinking-l1').presets.smoke, ['fineTune.epochs=7', 'arms.0.protocols=fine-tune,gradual']);
    const byMacs = estimatePreset(l1, (spec) => ({ trainImagesPerSec: 1e9 / countSpec(spec).macs, evalImagesPerSec: 1e12 }), prunedShape);
    const cell = (p: string) => byMacs.cells.find((c) => c.protocol === p)!;
    expect(cell('gradual').epochs).toBe(7);
    expect(cell('gradual').seconds / 7).toBeCloseTo(cell('baseline').seconds / l1.baseline.epochs, 9);
    expect(cell('fine-tune').seconds / 7).toBeLessThan(cell('gradual').seconds / 7);
    const slim = experiment('rethinking-slimming').presets.cpu;
    expect(estimatePreset(slim, () => ({ trainImagesPerSec: 1, evalImagesPerSec: 1 }), prunedShape).approximate).toBe(true);
  });
});

describe('the cpu preset', () => {
  it('uses the full CIFAR-10, 160:40 baseline:fine-tune epochs at lr 0.001, and per-model widths', () => {
    for (const name of ['rethinking-l1', 'rethinking-slimming', 'rethinking-unstructured']) {
      const c = experiment(name).presets.cpu;
      expect(c.data).toMatchObject({ dataset: 'cifar10', trainSubset: 0, testSubset: 0 });
      expect(c.baseline.augment).toBe(true);
      expect(c.fineTune.epochs * 160).toBe(c.baseline.epochs * 40);
      expect(c.fineTune.lr).toBe(0.001);
      expect(c.seeds.length).toBeGreaterThanOrEqual(3);
    }
    const l1 = experiment('rethinking-l1').presets.cpu;
    expect(widthOf(l1, 'vgg16')).toBe(0.25);
    expect(widthOf(l1, 'resnet56')).toBe(0.5);
    expect(estimateSpec(l1, 'resnet56')).toEqual(estimateSpec({ ...l1, widthMultiplier: 0.5, modelWidths: {} }, 'resnet56'));
    expect(widthsLabel(l1)).toBe('vgg16 x0.25, resnet56 x0.5');
  });

  it("scales Network Slimming's lambda by the step count: 160/E times the paper's", () => {
    expect(scaledSparsityLambda(160)).toEqual({ vgg: 1e-4, other: 1e-5 });
    const cpu = scaledSparsityLambda(32);
    expect(cpu.vgg).toBeCloseTo(5e-4, 12);
    expect(cpu.other).toBeCloseTo(5e-5, 12);
    expect(experiment('rethinking-slimming').presets.cpu.sparsityLambda).toEqual(scaledSparsityLambda(CPU_EPOCHS));
  });

  it('refuses a width of zero for one model, naming the key', () => {
    const def = defineExperiment({
      name: 't',
      description: 't',
      arms: [arm({ id: 'a', model: 'vgg16', method: 'l1', pruneRatio: 0.5, protocols: ['fine-tune'] })],
      presets: { smoke: SMOKE_PRESET, small: SMOKE_PRESET, cpu: { ...CPU_PRESET, modelWidths: { vgg16: 0 } }, paper: SMOKE_PRESET },
    });
    expect(() => validateConfig(def.presets.cpu)).toThrow(ConfigError);
    expect(() => validateConfig(def.presets.cpu)).toThrow(/modelWidths\.vgg16/);
  });
});

describe('the wall time on K parallel jobs', () => {
  const cell = (id: string, seed: number, stage: number, dependsOn: string[] = []): Cell => ({ id, seed, stage, dependsOn, protocol: 'baseline', model: 'm', sparsity: false });
  // Seed 1: a baseline (10 s) with a prune (1 s) and fine-tune (5 s) after it, and a 12 s
  // Scratch-B that needs nothing; seed 2: a 4 s baseline.
  const cells = [cell('b1', 1, 0), cell('s1', 1, 0), cell('b2', 2, 0), cell('p1', 1, 1, ['b1']), cell('f1', 1, 2, ['p1', 'b1'])];
  const seconds: Record<string, number> = { b1: 10, s1: 12, b2: 4, p1: 1, f1: 5 };
  const of = (id: string): number => seconds[id]!;

  it('is the sum on one job and the critical path on as many jobs as cells', () => {
    expect(makespanSeconds(cells, of, 1)).toBe(32);
    expect(makespanSeconds(cells, of, 5)).toBe(16);
  });

  it("starts ready cells in the runner's order: seed 1's chain before seed 2's baseline", () => {
    // Two jobs: b1 and s1 at 0; b1 ends at 10, then p1 (seed 1, stage 1) before b2; p1 ends at
    // 11, then f1 (11-16); s1 ends at 12, then b2 (12-16).
    expect(makespanSeconds(cells, of, 2)).toBe(16);
    // Three jobs: b1, s1, b2 at 0; p1 at 10, f1 at 11-16.
    expect(makespanSeconds(cells, of, 3)).toBe(16);
    const slowPrune = (id: string): number => (id === 'p1' ? 7 : of(id));
    // b1 0-10, s1 0-12; p1 10-17, b2 12-16; f1 17-22.
    expect(makespanSeconds(cells, slowPrune, 2)).toBe(22);
  });

  it('refuses a plan whose cells wait for cells it does not hold, and jobs < 1', () => {
    expect(() => makespanSeconds([cell('p1', 1, 1, ['b1'])], of, 2)).toThrow(/wait for cells not in the plan: p1/);
    expect(() => makespanSeconds(cells, of, 0)).toThrow(/jobs must be a positive integer/);
  });
});
