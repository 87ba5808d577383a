import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { countSpec, reductionPct } from '../metrics/index.ts';
import { Model, modelSpec, type ResNetSpec, type VggSpec } from '../models/index.ts';
import { useCpuBackend } from '../testing/tf.ts';
import { ConfigError } from '../util/errors.ts';
import { bnGammaImportance, l1FilterImportance, l2FilterImportance, topK } from './criteria.ts';
import { prunableGroups } from './groups.ts';
import { predefinedPlan, slimmingGammaParams, slimmingPlan, uniformRatios, validatePruneRatio } from './methods.ts';
import { findProfile, resolveProfile } from './profiles.ts';
import { compactSpec } from './surgery.ts';

beforeAll(useCpuBackend);

const TINY: VggSpec = { family: 'vgg', name: 'tiny', cfg: [2, 'M', 3], head: 'gap', numClasses: 2, input: { height: 4, width: 4, channels: 1 }, bnGammaInit: 0.5 };

describe('criteria', () => {
  it('L1 and L2 filter scores equal hand-computed values', () => {
    const model = Model.init(TINY, 0);
    // conv weight [1,1,1,2]... use a 3x3x1x2 kernel: filter 0 = all 1s except one -2; filter 1 = 0.5s.
    const w = new Float32Array(18);
    for (let i = 0; i < 9; i++) {
      w[i * 2] = i === 4 ? -2 : 1;
      w[i * 2 + 1] = 0.5;
    }
    model.param('features.0.conv.weight').assign(tf.tensor4d(w, [3, 3, 1, 2]));
    const g = prunableGroups(model.graph).find((x) => x.id === 'features.0.conv')!;
    expect(Array.from(l1FilterImportance(model, g))).toEqual([10, 4.5]);
    const l2 = Array.from(l2FilterImportance(model, g));
    expect(l2[0]).toBeCloseTo(Math.sqrt(8 + 4), 5);
    expect(l2[1]).toBeCloseTo(Math.sqrt(9 * 0.25), 5);
    model.param('features.0.bn.gamma').assign(tf.tensor1d([-0.7, 0.2]));
    expect(Array.from(bnGammaImportance(model, g)).map((v) => +v.toFixed(5))).toEqual([0.7, 0.2]);
    model.dispose();
  });

  it('topK keeps the largest scores, ties to the lower index, in index order', () => {
    expect(topK([0.1, 5, 3, 5, 2], 3)).toEqual([1, 2, 3]);
    expect(topK([1, 1, 1], 2)).toEqual([0, 1]);
  });
});

describe("Li et al.'s published profiles", () => {
  const widths = (spec: ReturnType<typeof modelSpec>, profile: string): { small: ReturnType<typeof compactSpec>; macs: number; params: number } => {
    const model = Model.init(spec, 0);
    const { plan } = predefinedPlan(model, resolveProfile(spec, findProfile(spec.name, profile)), { criterion: 'l1' });
    model.dispose();
    const small = compactSpec(spec, plan);
    const a = countSpec(spec);
    const b = countSpec(small);
    return { small, macs: reductionPct(a.macs, b.macs), params: reductionPct(a.params, b.params) };
  };

  it('VGG-16-A gives the reference cfg and -34.2% MACs / -64.0% params', () => {
    const r = widths(modelSpec('vgg16'), 'A');
    expect((r.small as VggSpec).cfg).toEqual([32, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 256, 256, 256, 'M', 256, 256, 256]);
    expect(r.macs).toBeCloseTo(34.2, 1);
    expect(r.params).toBeCloseTo(64.0, 1);
  });

  // Published reductions (Li et al. 2017, Table 1). Our counts reproduce the paper's absolute
  // numbers (e.g. ResNet-56-A 7.73e5 params); the percentages agree to within 0.1 point.
  it.each([
    ['resnet56', 'A', 10.4, 9.4],
    ['resnet56', 'B', 27.6, 13.7],
    ['resnet110', 'A', 15.9, 2.3],
    ['resnet110', 'B', 38.6, 32.4],
  ] as const)('%s-%s: -%s%% MACs, -%s%% params', (model, profile, macs, params) => {
    const r = widths(modelSpec(model), profile);
    expect(Math.abs(r.macs - macs)).toBeLessThanOrEqual(0.1 + 1e-9);
    expect(Math.abs(r.params - params)).toBeLessThanOrEqual(0.1 + 1e-9);
  });

  it('ResNet-56-B widths follow keep = floor(out*(1-p)) per stage with the skip layers kept whole', () => {
    const r = widths(modelSpec('resnet56'), 'B');
    const blocks = (r.small as ResNetSpec).stages.map((s) => s.blocks);
    // Layer ids of first convs: 2,4,...; skip 16 (layer1.7), 18 (layer1.8), 20 (layer2.0), 34 (layer2.7), 38 (layer3.0), 54 (layer3.8).
    expect(blocks[0]).toEqual([6, 6, 6, 6, 6, 6, 6, 16, 16]);
    expect(blocks[1]).toEqual([32, 22, 22, 22, 22, 22, 22, 32, 22]);
    expect(blocks[2]).toEqual([64, 57, 57, 57, 57, 57, 57, 57, 64]);
  });

  it('an unknown profile is a clear error', () => {
    expect(() => findProfile('vgg19', 'A')).toThrow(/No profile "A" for model vgg19/);
    expect(() => findProfile('resnet56', 'C')).toThrow(/known: A, B/);
  });
});

describe('Network Slimming threshold', () => {
  const spec = modelSpec('vgg19', { widthMultiplier: 1 / 16 });
  it('prunes exactly the requested fraction of channels when no guard fires', () => {
    const model = Model.init(spec, 1);
    const names = slimmingGammaParams(model);
    const total = names.reduce((n, p) => n + model.param(p).shape[0]!, 0);
    // Distinct gammas; each layer's channel 0 is above all others, so no layer empties.
    names.forEach((name, l) => {
      const n = model.param(name).shape[0]!;
      model.param(name).assign(tf.tensor1d(Array.from({ length: n }, (_, i) => (i === 0 ? 10 + l : (i * names.length + l + 1) / (total * names.length)))));
    });
    for (const ratio of [0.3, 0.5, 0.7]) {
      const { plan, guardedLayers } = slimmingPlan(model, ratio);
      expect(guardedLayers).toEqual([]);
      const kept = Object.values(plan.groups).reduce((n, g) => n + g.length, 0);
      expect(total - kept).toBe(Math.floor(total * ratio));
    }
    model.dispose();
  });

  it('the guard keeps a layer that the threshold would empty, and reports it', () => {
    const model = Model.init(spec, 1);
    const names = slimmingGammaParams(model);
    let v = 0;
    for (const name of names) model.param(name).assign(tf.tensor1d(Array.from({ length: model.param(name).shape[0]! }, () => 1 + 0.001 * v++)));
    const victim = names[3]!;
    const victimSize = model.param(victim).shape[0]!;
    model.param(victim).assign(tf.fill([victimSize], 0.001));
    const total = names.reduce((n, p) => n + model.param(p).shape[0]!, 0);
    // Exactly the victim's channels fall at or below the threshold: the layer would be emptied.
    const { plan, guardedLayers } = slimmingPlan(model, (victimSize + 0.5) / total, { minChannels: 2 });
    const layer = victim.replace('.bn.gamma', '.conv');
    expect(guardedLayers).toEqual([layer]);
    expect(plan.groups[layer]).toHaveLength(2);
    model.dispose();
  });
});

describe('uniform ratios', () => {
  it('prune every conv group the criterion can score at the same ratio', () => {
    const spec = modelSpec('vgg-tiny');
    const model = Model.init(spec, 0);
    const { plan } = predefinedPlan(model, uniformRatios(model, 0.5, 'l1'), { criterion: 'l1' });
    expect(Object.values(plan.groups).map((g) => g.length)).toEqual([8, 8, 16, 16, 32, 32]);
    model.dispose();
  });

  it('ratios outside [0, 1) are errors naming the flag', () => {
    for (const bad of [1, -0.1, 1.5, Number.NaN]) {
      expect(() => validatePruneRatio(bad)).toThrow(ConfigError);
      expect(() => validatePruneRatio(bad)).toThrow(/--prune-ratio/);
    }
  });
});
