import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXPERIMENTS } from '../../experiments/index.ts';
import { Model, type ModelSpec } from '../models/index.ts';
import { criterionNeedsData, pruneModel, type Criterion, type PruneMethod } from '../pruning/index.ts';
import { useCpuBackend } from '../testing/tf.ts';
import type { Arm, PresetName } from './config.ts';
import { estimateSpec } from './estimate.ts';
import { architectureKnownBeforeTraining, prunedShape } from './shape.ts';

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
