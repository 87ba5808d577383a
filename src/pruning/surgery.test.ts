import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { countSpec } from '../metrics/index.ts';
import { Model, modelSpec, type ModelSpec } from '../models/index.ts';
import { maxAbsDiff, randomImages, randomizeWeights, useCpuBackend } from '../testing/tf.ts';
import { PlanError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { channelGroups, prunableGroups } from './groups.ts';
import { keepAllPlan, type KeepPlan } from './plan.ts';
import { compactModel, compactSpec, maskedModel } from './surgery.ts';

const SMALL = { height: 8, width: 8, channels: 3 };

const FAMILIES: [string, ModelSpec][] = [
  ['vgg (Li et al. head)', { family: 'vgg', name: 'vgg-test', cfg: [8, 'M', 12, 10, 'M', 16], head: 'li2017', hiddenFeatures: 12, numClasses: 5, input: SMALL, bnGammaInit: 0.5 }],
  ['vgg (slimming head)', { family: 'vgg', name: 'vgg-test', cfg: [8, 'M', 12, 'M', 16, 16], head: 'slimming', numClasses: 5, input: SMALL, bnGammaInit: 0.5 }],
  ['resnet56', modelSpec('resnet56', { widthMultiplier: 0.25, input: SMALL, numClasses: 5 })],
  ['preresnet164', modelSpec('preresnet164', { widthMultiplier: 0.25, input: SMALL, numClasses: 5 })],
  ['densenet40', modelSpec('densenet40', { widthMultiplier: 0.34, input: SMALL, numClasses: 5 })],
];

function randomPlan(model: Model, seed: number): KeepPlan {
  const rng = new Rng(seed);
  const groups: Record<string, number[]> = {};
  for (const g of prunableGroups(model.graph)) {
    const keepCount = 1 + rng.int(g.channels);
    groups[g.id] = Array.from(rng.permutation(g.channels)).slice(0, keepCount);
  }
  return { model: model.spec.name, groups };
}

function weightsSnapshot(model: Model): Map<string, number[]> {
  return new Map([...model.namedWeights()].map(([k, v]) => [k, Array.from(v.dataSync())]));
}

beforeAll(useCpuBackend);

describe.each(FAMILIES)('surgery on %s', (_label, spec) => {
  it('compacted model equals the masked model, and the input model is untouched', () => {
    const model = Model.init(spec, 1);
    randomizeWeights(model, 2);
    const before = weightsSnapshot(model);
    const x = randomImages(3, SMALL.height, SMALL.width, 3, 3);
    const original = model.forward(x, false).logits;
    for (const seed of [10, 11, 12]) {
      const plan = randomPlan(model, seed);
      const compact = compactModel(model, plan);
      const masked = maskedModel(model, plan);
      const yc = compact.forward(x, false).logits;
      const ym = masked.forward(x, false).logits;
      expect(maxAbsDiff(yc, ym)).toBeLessThan(1e-4);
      // The plan really pruned something that matters: outputs moved away from the original.
      expect(maxAbsDiff(ym, original)).toBeGreaterThan(1e-3);
      expect(countSpec(compact.spec).params).toBeLessThan(countSpec(spec).params);
      for (const t of [yc, ym]) t.dispose();
      compact.dispose();
      masked.dispose();
    }
    expect(weightsSnapshot(model)).toEqual(before);
    original.dispose();
    x.dispose();
    model.dispose();
  });

  it('a keep-everything plan gives identical outputs and the same spec', () => {
    const model = Model.init(spec, 4);
    randomizeWeights(model, 5);
    const x = randomImages(2, SMALL.height, SMALL.width, 3, 6);
    const compact = compactModel(model, keepAllPlan(model.graph, spec.name));
    expect(compact.spec).toEqual(spec);
    expect(maxAbsDiff(compact.forward(x, false).logits, model.forward(x, false).logits)).toBe(0);
    compact.dispose();
    model.dispose();
  });

  it('a compacted spec is plain JSON that rebuilds the same architecture', () => {
    const model = Model.init(spec, 7);
    const plan = randomPlan(model, 8);
    const small = compactSpec(spec, plan);
    const rebuilt = Model.init(JSON.parse(JSON.stringify(small)) as ModelSpec, 9);
    const compact = compactModel(model, plan);
    expect([...rebuilt.namedWeights()].map(([k, v]) => [k, v.shape])).toEqual([...compact.namedWeights()].map(([k, v]) => [k, v.shape]));
    for (const m of [model, rebuilt, compact]) m.dispose();
  });
});

describe('channel groups follow the architecture', () => {
  it('ResNet: only the first conv of each block is prunable; the residual stream is coupled', () => {
    const spec = modelSpec('resnet56');
    const groups = channelGroups(Model.init(spec, 0).graph);
    const prunable = groups.filter((g) => g.prunable).map((g) => g.id);
    expect(prunable).toHaveLength(27);
    expect(prunable.every((id) => /^layer\d\.\d+\.conv1$/.test(id))).toBe(true);
    const conv2 = groups.find((g) => g.id === 'layer1.0.conv2')!;
    expect(conv2.prunable).toBe(false);
  });

  it('PreResNet-164: conv1, conv2 and the input selection of every block, plus the final selection', () => {
    const groups = prunableGroups(Model.init(modelSpec('preresnet164', { widthMultiplier: 0.25 }), 0).graph);
    expect(groups).toHaveLength(54 * 3 + 1);
    const sel = groups.find((g) => g.id === 'layer2.3.select')!;
    expect(sel.bns).toEqual(['layer2.3.bn1']);
  });

  it('DenseNet-40: only channel selections are prunable (growth convs feed concatenations)', () => {
    const groups = prunableGroups(Model.init(modelSpec('densenet40', { widthMultiplier: 0.34 }), 0).graph);
    expect(groups).toHaveLength(36 + 2 + 1);
    expect(groups.every((g) => g.producerKind === 'select')).toBe(true);
  });
});

describe('bad plans are errors that name the layer', () => {
  const spec = FAMILIES[0]![1];
  it('rejects empty layers, unknown indices, missing and unknown groups', () => {
    const model = Model.init(spec, 0);
    const all = keepAllPlan(model.graph, spec.name);
    const withGroup = (id: string, keep: number[]): KeepPlan => ({ model: spec.name, groups: { ...all.groups, [id]: keep } });
    expect(() => compactModel(model, withGroup('features.1.conv', []))).toThrow(/features\.1\.conv to zero channels/);
    expect(() => compactModel(model, withGroup('features.1.conv', [0, 99]))).toThrow(/channel 99 of layer features\.1\.conv/);
    expect(() => compactModel(model, withGroup('features.1.conv', [1, 1]))).toThrow(PlanError);
    expect(() => compactModel(model, withGroup('nonsense', [0]))).toThrow(/nonsense/);
    const missing = { model: spec.name, groups: { ...all.groups } };
    delete missing.groups['features.0.conv'];
    expect(() => compactModel(model, missing)).toThrow(/misses channel group features\.0\.conv/);
    model.dispose();
  });
});

describe('tensors', () => {
  it('surgery does not leak tensors', () => {
    const spec = FAMILIES[2]![1];
    const model = Model.init(spec, 0);
    const plan = randomPlan(model, 1);
    const start = tf.memory().numTensors;
    for (let i = 0; i < 2; i++) {
      compactModel(model, plan).dispose();
      maskedModel(model, plan).dispose();
    }
    expect(tf.memory().numTensors).toBe(start);
    model.dispose();
  });
});
