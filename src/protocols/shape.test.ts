import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPERIMENTS } from '../../experiments/index.ts';
import { Model, type ModelSpec } from '../models/index.ts';
import { criterionNeedsData, pruneModel, type Criterion, type PruneMethod } from '../pruning/index.ts';
import { useCpuBackend } from '../testing/tf.ts';
import type { Arm, PresetName } from './config.ts';
import { estimatePreset, estimateSpec } from './estimate.ts';
import { fillShapeTable, prunedShape } from './shape-compute.ts';
import { architectureKnownBeforeTraining, readShapeTable, shapeQuery, ShapeTable, writeShapeTable } from './shape.ts';

beforeAll(useCpuBackend);

/** A model unlike a fresh init: another seed, and every other weight tensor zeroed (all L1 norms tied). */
function unlikeInit(spec: ModelSpec): Model {
  const init = Model.init(spec, 4242);
  const weights = new Map<string, tf.Tensor>();
  let i = 0;
  for (const [name, t] of init.namedWeights()) weights.set(name, i++ % 2 === 0 ? tf.zerosLike(t) : t.clone());
  init.dispose();
  const model = Model.fromWeights(spec, weights);
  tf.dispose([...weights.values()]);
  return model;
}

function prunedSpecOf(model: Model, arm: Arm): ModelSpec {
  // As the prune cell does it: the arm's own criterion (channel arms), scope and budget target.
  const r = pruneModel(model, {
    method: arm.method as PruneMethod,
    ratio: arm.pruneRatio,
    minChannels: arm.minChannels,
    seed: 7,
    ...(arm.profile ? { profile: arm.profile } : {}),
    // A criterion that reads data ranks by random here: layerwise widths do not depend on the ranking.
    ...(arm.method === 'channel' ? { criterion: criterionNeedsData(arm.criterion as Criterion) ? 'random' : (arm.criterion as Criterion) } : {}),
    ...(arm.scope ? { scope: arm.scope } : {}),
    ...(arm.target ? { target: arm.target } : {}),
  });
  r.model.dispose();
  if (r.kind === 'masks') for (const m of r.masks.values()) m.dispose();
  return r.model.spec;
}

describe('the pruned architecture of an arm, known before training', () => {
  // Scratch-E/B of these arms are planned without the prune cell (cells.ts): this is what makes
  // that correct. Every such arm of every experiment, at the widths its presets train.
  const cases: { name: string; preset: PresetName; arm: Arm }[] = [];
  for (const e of EXPERIMENTS) {
    for (const preset of ['smoke', 'cpu'] as const) {
      const config = e.presets[preset];
      for (const a of config.arms.filter(architectureKnownBeforeTraining)) cases.push({ name: e.name, preset, arm: a });
    }
  }

  it('covers the L1 profiles of rethinking-l1', () => {
    expect(cases.some((c) => c.name === 'rethinking-l1' && c.arm.id === 'resnet56-B' && c.preset === 'cpu')).toBe(true);
  });

  it.each(cases.map((c) => [`${c.name} ${c.preset} ${c.arm.id}`, c] as const))('%s: pruning any weights gives the same architecture', (_, c) => {
    const full = estimateSpec(EXPERIMENTS.find((e) => e.name === c.name)!.presets[c.preset], c.arm.model);
    const shape = prunedShape(full, c.arm);
    expect(shape.approximate).toBe(false);
    const model = unlikeInit(full);
    try {
      expect(prunedSpecOf(model, c.arm)).toEqual(shape.spec);
    } finally {
      model.dispose();
    }
  });

  it('does not claim it for methods whose architecture follows the trained weights', () => {
    for (const method of ['slimming', 'reconstruction', 'block', 'magnitude', 'vector']) expect(architectureKnownBeforeTraining({ method } as Arm), method).toBe(false);
  });
});

describe('the shape table (what `prunebench list` reads instead of pruning)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'prunebench-shapes-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  // Exact arms (profiles, layerwise budgets) and approximate ones (global, masks, slimming).
  const configs = ['rethinking-l1', 'rethinking-unstructured', 'tradeoff-criteria', 'rethinking-slimming'].map((n) => EXPERIMENTS.find((e) => e.name === n)!.presets.smoke);
  const arms = configs.flatMap((c) => c.arms.map((arm) => ({ full: estimateSpec(c, arm.model), arm })));
  const speed = () => ({ trainImagesPerSec: 100, evalImagesPerSec: 400 });

  it('a table saved and read back gives the estimate that pruning gives', async () => {
    const table = new ShapeTable();
    expect(fillShapeTable(table, arms)).toBeGreaterThan(0);
    expect(fillShapeTable(table, arms)).toBe(0); // nothing left to compute
    const file = join(tmp, 'table.json');
    expect(await writeShapeTable(file, table)).toBe(true);
    const back = readShapeTable(file);
    expect(back.size).toBe(table.size);
    const fromTable = (full: ModelSpec, arm: Arm) => back.get(full, arm)!;
    for (const c of configs) expect(estimatePreset(c, speed, fromTable)).toEqual(estimatePreset(c, speed, prunedShape));
    for (const { full, arm } of arms) expect(back.get(full, arm)).toEqual(prunedShape(full, arm));
  });

  it('keys differ where the shape can: width, budget, method; the approximate flag follows the arm', () => {
    const c = EXPERIMENTS.find((e) => e.name === 'tradeoff-criteria')!.presets.cpu;
    const [a, b] = [c.arms.find((x) => x.id.endsWith('l1-layerwise-x2'))!, c.arms.find((x) => x.id.endsWith('l1-layerwise-x4'))!];
    const full = estimateSpec(c, a.model);
    expect(shapeQuery(full, a).key).not.toBe(shapeQuery(full, b).key);
    expect(shapeQuery(full, a).key).not.toBe(shapeQuery(estimateSpec({ ...c, widthMultiplier: c.widthMultiplier * 2, modelWidths: {} }, a.model), a).key);
    const table = new ShapeTable();
    fillShapeTable(table, [{ full, arm: a }]);
    expect(table.get(full, b)).toBeUndefined();
    expect(table.get(full, a)!.approximate).toBe(false);
  });

  it('a missing, truncated or foreign file reads as an empty table, never as wrong shapes', () => {
    expect(readShapeTable(undefined).size).toBe(0);
    expect(readShapeTable(join(tmp, 'missing.json')).size).toBe(0);
    for (const [name, text] of [['truncated', '{"version":1,"shapes":[["a",'], ['foreign', '{"version":99,"shapes":[]}'], ['bad-entry', '{"version":1,"shapes":[["k",{"spec":{}}]]}']]) {
      writeFileSync(join(tmp, name), text!);
      expect(readShapeTable(join(tmp, name)).size, name).toBe(0);
    }
  });
});
