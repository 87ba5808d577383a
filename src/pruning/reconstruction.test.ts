import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Model, modelSpec, type GraphNode, type VggSpec } from '../models/index.ts';
import { maxAbsDiff, randomImages, randomizeWeights, useCpuBackend } from '../testing/tf.ts';
import { ConfigError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { prunableGroups, type ChannelGroup } from './groups.ts';
import { keepAllPlan, type KeepPlan } from './plan.ts';
import { reconstructionPrune, reconstructionTarget, sampleContributions, type Geometry } from './reconstruction.ts';
import { compactModel } from './surgery.ts';

const SMALL = { height: 8, width: 8, channels: 3 };
const VGG: VggSpec = { family: 'vgg', name: 'vgg-test', cfg: [8, 'M', 12, 10, 'M', 16], head: 'gap', numClasses: 5, input: SMALL, bnGammaInit: 0.5 };
/** Consumer of each group of VGG above. */
const CONSUMER: Record<string, string> = {
  'features.0.conv': 'features.1.conv',
  'features.1.conv': 'features.2.conv',
  'features.2.conv': 'features.3.conv',
  'features.3.conv': 'classifier',
};

beforeAll(useCpuBackend);

function randomVgg(seed: number): Model {
  const model = Model.init(VGG, seed);
  randomizeWeights(model, seed + 100);
  return model;
}

/**
 * Relative error ||y - y'||^2 / ||y||^2 of a consumer's output (bias removed) on images, original
 * vs a model pruned in one group only: measured through model.activations, independently of the
 * criterion's sampling.
 */
function heldOutError(original: Model, pruned: Model, consumer: string, images: tf.Tensor4D): number {
  const a = original.activations(images, [consumer]).get(consumer)!;
  const b = pruned.activations(images, [consumer]).get(consumer)!;
  const value = tf.tidy(() => {
    const bias = consumer === 'classifier' ? original.param('classifier.bias') : tf.scalar(0);
    const y = tf.sub(a, bias);
    return tf.div(tf.sum(tf.square(tf.sub(a, b))), tf.sum(tf.square(y))).dataSync()[0]!;
  });
  a.dispose();
  b.dispose();
  return value;
}

function onlyGroup(model: Model, group: string, keep: number[]): KeepPlan {
  const plan = keepAllPlan(model.graph, model.spec.name);
  return { ...plan, groups: { ...plan.groups, [group]: keep } };
}

function compactError(model: Model, group: string, keep: number[], images: tf.Tensor4D): number {
  const small = compactModel(model, onlyGroup(model, group, keep));
  const e = heldOutError(model, small, CONSUMER[group]!, images);
  small.dispose();
  return e;
}

/** Li et al.'s L1 filter norm of the producing conv: keep the `k` largest. */
function l1Keep(model: Model, group: string, k: number): number[] {
  const norms = tf.tidy(() => Array.from(tf.sum(tf.abs(model.param(`${group}.weight`)), [0, 1, 2]).dataSync()));
  return norms
    .map((n, i) => ({ n, i }))
    .sort((a, b) => b.n - a.n)
    .slice(0, k)
    .map((e) => e.i)
    .sort((a, b) => a - b);
}

describe('reconstruction criterion (ThiNet-style)', () => {
  it('greedy selection beats random and L1 selection on held-out images; the refit helps further', () => {
    const model = randomVgg(1);
    const train = randomImages(8, 8, 8, 3, 2);
    const heldOut = randomImages(8, 8, 8, 3, 3);
    const ratio = 0.5;
    const noRefit = reconstructionPrune(model, train, { ratio, seed: 4, refit: false });
    const withRefit = reconstructionPrune(model, train, { ratio, seed: 4 });
    expect(withRefit.plan).toEqual(noRefit.plan); // the refit does not change the selection
    const rng = new Rng(5);
    let greedyTotal = 0;
    let randomTotal = 0;
    let l1Total = 0;
    let refitTotal = 0;
    for (const g of prunableGroups(model.graph)) {
      const keep = noRefit.plan.groups[g.id]!;
      expect(keep).toHaveLength(Math.floor(g.channels * (1 - ratio)));
      const greedy = compactError(model, g.id, keep, heldOut);
      let random = 0;
      const draws = 5;
      for (let d = 0; d < draws; d++) {
        const r = Array.from(rng.permutation(g.channels)).slice(0, keep.length);
        random += compactError(model, g.id, r, heldOut) / draws;
      }
      expect(greedy, `${g.id}: greedy ${greedy} vs random ${random}`).toBeLessThan(random);
      const l1 = compactError(model, g.id, l1Keep(model, g.id, keep.length), heldOut);
      // The same selection with the refit, this group alone pruned.
      const alone = reconstructionPrune(model, train, { ratio, seed: 4, groups: [g.id] });
      expect(alone.plan.groups[g.id]).toEqual(keep);
      const refit = heldOutError(model, alone.model, CONSUMER[g.id]!, heldOut);
      alone.model.dispose();
      refitTotal += refit;
      greedyTotal += greedy;
      randomTotal += random;
      l1Total += l1;
    }
    expect(greedyTotal).toBeLessThan(0.8 * randomTotal);
    expect(greedyTotal).toBeLessThan(0.8 * l1Total);
    expect(refitTotal).toBeLessThan(greedyTotal);
    for (const d of [noRefit, withRefit]) d.model.dispose();
    for (const t of [train, heldOut]) t.dispose();
    model.dispose();
  });

  it('the refit never increases the sampled error', () => {
    for (const seed of [6, 7]) {
      const model = randomVgg(seed);
      const images = randomImages(6, 8, 8, 3, seed);
      for (const ratio of [0.25, 0.6, 0.9]) {
        const r = reconstructionPrune(model, images, { ratio, seed, samples: 500 });
        expect(r.errors).toHaveLength(4);
        for (const e of r.errors) expect(e.relativeErrorRefit).toBeLessThanOrEqual(e.relativeErrorNoRefit);
        // Not vacuous: somewhere the refit strictly helps.
        expect(r.errors.some((e) => e.relativeErrorRefit < 0.99 * e.relativeErrorNoRefit)).toBe(true);
        r.model.dispose();
      }
      images.dispose();
      model.dispose();
    }
  });

  it('a duplicated channel is removed and the refit restores the output exactly (scale 2 on its twin)', () => {
    const model = randomVgg(8);
    // Channel 1 of features.1 becomes a copy of channel 0 (same filter, same BN), with the same
    // (small) consumer weights, so dropping one and doubling the other is exact.
    const g = 'features.1.conv';
    // A positive shift keeps every channel of the group alive after the ReLU, so the small twins
    // are the cheapest channels to drop (a dead channel would cost nothing and go first).
    const beta = model.param('features.1.bn.beta');
    beta.assign(tf.tidy(() => tf.add(tf.abs(beta), 3)));
    const copyChannel = (name: string, axis: number, scale = 1): void => {
      const v = model.param(name);
      const next = tf.tidy(() => {
        const parts = tf.unstack(v, axis);
        parts[0] = tf.mul(parts[0]!, scale);
        parts[1] = parts[0]!;
        return tf.stack(parts, axis);
      });
      v.assign(next);
      next.dispose();
    };
    copyChannel(`${g}.weight`, 3);
    for (const f of ['gamma', 'beta', 'mean', 'variance']) copyChannel(`features.1.bn.${f}`, 0);
    copyChannel('features.2.conv.weight', 2, 0.05);
    const images = randomImages(8, 8, 8, 3, 9);
    const heldOut = randomImages(8, 8, 8, 3, 10);
    const ratio = 1 / 12; // keep 11 of 12
    const r = reconstructionPrune(model, images, { ratio, seed: 11, groups: [g] });
    expect(r.errors).toHaveLength(1);
    const e = r.errors[0]!;
    expect([0, 1]).toContain(e.removed[0]);
    const twin = e.removed[0] === 0 ? 1 : 0;
    expect(e.relativeErrorNoRefit).toBeGreaterThan(1e-4);
    expect(e.relativeErrorRefit).toBeLessThan(1e-6 * e.relativeErrorNoRefit);
    expect(e.scales[r.plan.groups[g]!.indexOf(twin)]).toBeCloseTo(2, 3);
    // On held-out images the refit model reproduces the consumer's output; the plain compaction does not.
    expect(heldOutError(model, r.model, 'features.2.conv', heldOut)).toBeLessThan(1e-8);
    expect(compactError(model, g, r.plan.groups[g]!, heldOut)).toBeGreaterThan(1e-4);
    // Only the listed group was pruned.
    const prunedGroups = prunableGroups(model.graph).filter((pg) => r.plan.groups[pg.id]!.length < pg.channels);
    expect(prunedGroups.map((pg) => pg.id)).toEqual([g]);
    r.model.dispose();
    for (const t of [images, heldOut]) t.dispose();
    model.dispose();
  });

  it('ratio 0 leaves the model unchanged', () => {
    const model = randomVgg(12);
    const images = randomImages(4, 8, 8, 3, 13);
    const r = reconstructionPrune(model, images, { ratio: 0, seed: 14, samples: 300 });
    expect(r.plan).toEqual(keepAllPlan(model.graph, VGG.name));
    expect(r.model.spec).toEqual(VGG);
    const a = model.forward(images, false).logits;
    const b = r.model.forward(images, false).logits;
    expect(maxAbsDiff(a, b)).toBe(0);
    expect(r.errors.every((e) => e.relativeErrorNoRefit === 0 && e.removed.length === 0)).toBe(true);
    for (const t of [a, b, images]) t.dispose();
    r.model.dispose();
    model.dispose();
  });

  it('a channel that contributes nothing (zero consumer weights) is the first one removed', () => {
    for (const [group, channel] of [
      ['features.1.conv', 7],
      ['features.3.conv', 3], // consumed by the linear classifier
    ] as const) {
      const model = randomVgg(15);
      // Keep every channel alive after the ReLU: a dead channel would also cost nothing.
      const beta = model.param(`${group.replace('.conv', '.bn')}.beta`);
      beta.assign(tf.tidy(() => tf.add(tf.abs(beta), 3)));
      const consumerWeight = `${CONSUMER[group]}.weight`;
      const w = model.param(consumerWeight);
      const axis = w.rank === 4 ? 2 : 0;
      const mask = tf.tidy(() => tf.reshape(tf.oneHot(tf.tensor1d([channel], 'int32'), w.shape[axis]!), w.shape.map((d, i) => (i === axis ? d : 1))));
      const zeroed = tf.tidy(() => tf.mul(w, tf.sub(1, mask)));
      w.assign(zeroed);
      for (const t of [mask, zeroed]) t.dispose();
      const images = randomImages(4, 8, 8, 3, 16);
      const r = reconstructionPrune(model, images, { ratio: 0.5, seed: 17, samples: 400, groups: [group] });
      expect(r.errors[0]!.removed[0]).toBe(channel);
      // Removing only that channel costs nothing.
      const one = reconstructionPrune(model, images, { ratio: 0.01, seed: 17, samples: 400, groups: [group], refit: false });
      expect(one.errors[0]!.removed).toEqual([channel]);
      expect(one.errors[0]!.relativeErrorNoRefit).toBe(0);
      for (const m of [r.model, one.model, model]) m.dispose();
      images.dispose();
    }
  });
});

describe('sampled contributions', () => {
  it('sum over channels to the consumer output tfjs computes (stride 2, padding 1; and a linear layer)', () => {
    const spec = modelSpec('resnet20', { widthMultiplier: 0.5, input: SMALL, numClasses: 5 });
    const model = Model.init(spec, 25);
    randomizeWeights(model, 26);
    const images = randomImages(3, 8, 8, 3, 27);
    for (const name of ['layer2.0.conv1', 'layer1.1.conv2', 'fc']) {
      const node = model.graph.nodes.find((n) => n.name === name)! as Extract<GraphNode, { kind: 'conv' | 'linear' }>;
      const acts = model.activations(images, [node.input, name]);
      const x = acts.get(node.input)!.dataSync() as Float32Array;
      const y = acts.get(name)!;
      const yv = y.dataSync();
      const [h, w, c] = model.shapes.get(node.input)!;
      const [outH, outW, outC] = model.shapes.get(name)!;
      const geometry: Geometry =
        node.kind === 'conv'
          ? { n: 3, h, w, c, kernel: node.kernel, stride: node.stride, padding: node.padding, outH, outW, outC }
          : { n: 3, h: 1, w: 1, c, kernel: 1, stride: 1, padding: 0, outH: 1, outW: 1, outC };
      if (name === 'layer2.0.conv1') expect([geometry.stride, geometry.padding, outH]).toEqual([2, 1, 4]);
      const bias = node.kind === 'linear' ? model.param('fc.bias').dataSync() : new Float32Array(outC);
      const samples = 1000;
      const { z, positions } = sampleContributions(x, model.param(`${name}.weight`).dataSync() as Float32Array, geometry, samples, new Rng(28));
      const seen = new Set<string>();
      for (let m = 0; m < samples; m++) {
        const [n, oy, ox, o] = positions.subarray(m * 4, m * 4 + 4) as unknown as [number, number, number, number];
        seen.add(`${oy},${ox}`);
        let sum = 0;
        for (let ch = 0; ch < c; ch++) sum += z[m * c + ch]!;
        expect(sum + bias[o]!).toBeCloseTo(yv[((n * outH + oy) * outW + ox) * outC + o]!, 4);
      }
      // Border positions (where padding matters) were sampled too.
      if (name !== 'fc') expect(seen.size).toBe(outH * outW);
      for (const t of acts.values()) t.dispose();
    }
    images.dispose();
    model.dispose();
  });
});

describe('targets, options and tensors', () => {
  it('every prunable group of the families has one consumer; a group read twice is skipped with a reason', () => {
    for (const name of ['resnet20', 'preresnet164', 'densenet40']) {
      const model = Model.init(modelSpec(name, { widthMultiplier: 0.25, input: SMALL, numClasses: 5 }), 0);
      for (const g of prunableGroups(model.graph)) {
        const t = reconstructionTarget(model.graph, g);
        expect('consumer' in t ? t.consumer.kind : t.reason).toMatch(/conv|linear/);
      }
      model.dispose();
    }
    const model = randomVgg(18);
    const g = prunableGroups(model.graph)[0]!;
    const twice: ChannelGroup = { ...g, weightAxes: [...g.weightAxes, ['features.2.conv.weight', 2]] };
    const t = reconstructionTarget(model.graph, twice);
    expect('reason' in t && t.reason).toMatch(/found 2 \(features\.1\.conv\.weight, features\.2\.conv\.weight\)/);
    model.dispose();
  });

  it('works through a ResNet block (3x3 consumer, stride-2 producer); errors name the flag', () => {
    const spec = modelSpec('resnet20', { widthMultiplier: 0.5, input: SMALL, numClasses: 5 });
    const model = Model.init(spec, 19);
    randomizeWeights(model, 20);
    const images = randomImages(4, 8, 8, 3, 21);
    const r = reconstructionPrune(model, images, { ratio: 0.5, seed: 22, samples: 300 });
    expect(r.errors).toHaveLength(9);
    expect(r.errors.every((e) => e.kept === e.channels / 2 && e.relativeErrorRefit <= e.relativeErrorNoRefit)).toBe(true);
    expect(r.skipped).toEqual([]);
    const y = r.model.forward(images, false).logits;
    expect(y.shape).toEqual([4, 5]);
    y.dispose();
    r.model.dispose();
    expect(() => reconstructionPrune(model, images, { ratio: 1, seed: 0 })).toThrow(/--prune-ratio/);
    expect(() => reconstructionPrune(model, images, { ratio: 0.5, seed: 0, samples: 0 })).toThrow(ConfigError);
    expect(() => reconstructionPrune(model, images, { ratio: 0.5, seed: 0, groups: ['layer1.0.conv2'] })).toThrow(/layer1\.0\.conv2 is not a prunable/);
    const wrong = randomImages(1, 4, 4, 3, 0);
    expect(() => reconstructionPrune(model, wrong, { ratio: 0.5, seed: 0 })).toThrow(/4x4x3 .* 8x8x3/);
    wrong.dispose();
    images.dispose();
    model.dispose();
  });

  it('repeated calls do not grow the tensor count', () => {
    const model = randomVgg(23);
    const images = randomImages(2, 8, 8, 3, 24);
    const start = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) reconstructionPrune(model, images, { ratio: 0.4, seed: i, samples: 200 }).model.dispose();
    expect(tf.memory().numTensors).toBe(start);
    images.dispose();
    model.dispose();
  });
});
