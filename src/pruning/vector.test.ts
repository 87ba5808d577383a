import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { countSpec } from '../metrics/index.ts';
import { Model, type VggSpec } from '../models/index.ts';
import { randomizeWeights, useCpuBackend } from '../testing/tf.ts';
import { ConfigError } from '../util/errors.ts';
import { disposeMasks, vectorMasks, weightMagnitudeMasks, type WeightMasks } from './vector.ts';

const SMALL = { height: 8, width: 8, channels: 3 };
const ONE_CONV: VggSpec = { family: 'vgg', name: 'one-conv', cfg: [2], head: 'gap', numClasses: 2, input: SMALL, bnGammaInit: 0.5 };
const VGG: VggSpec = { family: 'vgg', name: 'vgg-test', cfg: [8, 'M', 12, 10, 'M', 16], head: 'gap', numClasses: 5, input: SMALL, bnGammaInit: 0.5 };

beforeAll(useCpuBackend);

/** Conv weights' names in graph order. */
function convNames(model: Model): string[] {
  return model.graph.nodes.filter((n) => n.kind === 'conv').map((n) => `${n.name}.weight`);
}

/** Per-weight fibre L1 norms [kh*kw*cout] and the mask's per-fibre sums, computed with tf ops. */
function fibres(model: Model, masks: WeightMasks, name: string): { norms: number[]; maskSums: number[]; cin: number } {
  return tf.tidy(() => {
    const w = model.param(name);
    return {
      norms: Array.from(tf.sum(tf.abs(w), 2).dataSync()),
      maskSums: Array.from(tf.sum(masks.masks.get(name)!, 2).dataSync()),
      cin: w.shape[2]!,
    };
  });
}

describe('vector (fibre) masks', () => {
  it('hand-computed fibre scores decide which fibres go', () => {
    const model = Model.init(ONE_CONV, 0);
    // W[i, j, c, o] = 1 everywhere (fibre L1 = 3), except these fibres (i, j, o) -> values over c:
    const special: [number, number, number, number[]][] = [
      [0, 0, 1, [0.1, -0.1, 0.1]], // L1 0.3
      [1, 2, 0, [-0.2, 0, 0.2]], // L1 0.4
      [2, 2, 1, [0, 0, -0.5]], // L1 0.5
      [1, 1, 1, [0.6, 0, 0]], // L1 0.6: the next one, kept at 3 of 18
      [2, 0, 0, [0.001, 5, 5]], // tiny single weight, large fibre: kept by vectors, pruned by magnitude
    ];
    const w = new Float32Array(3 * 3 * 3 * 2).fill(1);
    const at = (i: number, j: number, c: number, o: number): number => ((i * 3 + j) * 3 + c) * 2 + o;
    for (const [i, j, o, v] of special) v.forEach((x, c) => (w[at(i, j, c, o)] = x));
    model.param('features.0.conv.weight').assign(tf.tensor4d(w, [3, 3, 3, 2]));

    // floor(0.17 * 18) = 3 fibres.
    const m = vectorMasks(model, { ratio: 0.17 });
    const mask = m.masks.get('features.0.conv.weight')!.dataSync();
    const gone: string[] = [];
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        for (let o = 0; o < 2; o++) {
          const vals = [0, 1, 2].map((c) => mask[at(i, j, c, o)]);
          expect(new Set(vals).size, `fibre ${i},${j},${o} is whole`).toBe(1);
          if (vals[0] === 0) gone.push(`${i},${j},${o}`);
        }
      }
    }
    expect(gone.sort()).toEqual(['0,0,1', '1,2,0', '2,2,1']);
    expect(m.prunedFraction).toBeCloseTo(3 / 18, 12);
    expect(m.nonZero.get('features.0.conv.weight')).toBe(54 - 9);
    expect([...m.masks.keys()]).toEqual(['features.0.conv.weight']); // linear layers are not masked

    // The single-weight criterion on the same kernel takes the smallest |w| instead: with
    // floor(0.12 * 54) = 6 weights, the five exact zeros and the 0.001 of a fibre vectors keep.
    const u = weightMagnitudeMasks(model, { ratio: 0.12 });
    const umask = u.masks.get('features.0.conv.weight')!.dataSync();
    const ugone = Array.from(umask).flatMap((v, k) => (v === 0 ? [k] : []));
    const expected = [at(1, 2, 1, 0), at(2, 2, 0, 1), at(2, 2, 1, 1), at(1, 1, 1, 1), at(1, 1, 2, 1), at(2, 0, 0, 0)];
    expect(ugone).toEqual(expected.sort((a, b) => a - b));
    expect(u.prunedFraction).toBeCloseTo(6 / 54, 12);
    disposeMasks(m);
    disposeMasks(u);
    model.dispose();
  });

  it.each(['global', 'layer'] as const)('%s scope: exact pruned fraction, whole fibres, threshold order, counts', (scope) => {
    const model = Model.init(VGG, 1);
    randomizeWeights(model, 2);
    const ratio = 0.37;
    const m = vectorMasks(model, { ratio, scope });
    const names = convNames(model);
    let total = 0;
    let removed = 0;
    const prunedNorms: number[] = [];
    const keptNorms: number[] = [];
    let removedWeights = 0;
    let removedMacs = 0;
    const count = countSpec(VGG);
    for (const name of names) {
      const { norms, maskSums, cin } = fibres(model, m, name);
      const layerPruned: number[] = [];
      const layerKept: number[] = [];
      norms.forEach((n, k) => {
        expect([0, cin]).toContain(maskSums[k]);
        (maskSums[k] === 0 ? layerPruned : layerKept).push(n);
      });
      if (scope === 'layer') {
        expect(layerPruned).toHaveLength(Math.floor(ratio * norms.length));
        expect(Math.max(...layerPruned)).toBeLessThanOrEqual(Math.min(...layerKept));
      }
      prunedNorms.push(...layerPruned);
      keptNorms.push(...layerKept);
      total += norms.length;
      removed += layerPruned.length;
      const maskSum = tf.tidy(() => tf.sum(m.masks.get(name)!).dataSync()[0]!);
      expect(m.nonZero.get(name)).toBe(maskSum);
      const size = model.param(name).size;
      removedWeights += size - maskSum;
      const layer = count.layers.find((l) => `${l.name}.weight` === name)!;
      removedMacs += (size - maskSum) * layer.outHeight * layer.outWidth;
    }
    expect(m.prunedFraction).toBe(removed / total);
    if (scope === 'global') {
      expect(removed).toBe(Math.floor(ratio * total));
      expect(Math.max(...prunedNorms)).toBeLessThanOrEqual(Math.min(...keptNorms));
    }
    expect(Math.abs(m.prunedFraction - ratio)).toBeLessThan(0.02);
    // Effective counts through the one counter.
    const eff = countSpec(VGG, { nonZero: m.nonZero });
    expect(removedWeights).toBeGreaterThan(0);
    expect(eff.paramsEffective).toBe(count.params - removedWeights);
    expect(eff.macsEffective).toBe(count.macs - removedMacs);
    disposeMasks(m);
    model.dispose();
  });

  it('skipFirstConv leaves the image conv out; ties still give the exact count', () => {
    const model = Model.init(VGG, 3);
    for (const name of convNames(model)) {
      const w = model.param(name);
      w.assign(tf.onesLike(w));
    }
    const m = vectorMasks(model, { ratio: 0.5, scope: 'layer', skipFirstConv: true });
    expect([...m.masks.keys()]).toEqual(convNames(model).slice(1));
    for (const [name, mask] of m.masks) {
      const [kh, kw, cin, cout] = mask.shape as number[];
      expect(m.nonZero.get(name)).toBe((kh! * kw! * cout! - Math.floor(0.5 * kh! * kw! * cout!)) * cin!);
    }
    disposeMasks(m);
    model.dispose();
  });

  it('l1 ranks fibres by their sum, so narrow-input layers go first; magnitude by their mean |w|', () => {
    const model = Model.init(VGG, 5);
    // Constant |w| per conv (Cin 3, 8, 12, 10): fibre L1 3, 4.8, 5.4, 5.0; mean |w| 1, 0.6, 0.45, 0.5.
    const names = convNames(model);
    [1, 0.6, 0.45, 0.5].forEach((v, l) => {
      const w = model.param(names[l]!);
      w.assign(tf.mul(tf.onesLike(w), v * (l % 2 ? -1 : 1)));
    });
    const fibresOf = (name: string): number => {
      const [kh, kw, , cout] = model.param(name).shape as number[];
      return kh! * kw! * cout!;
    };
    const cin = (name: string): number => model.param(name).shape[2]!;
    const total = names.reduce((n, x) => n + fibresOf(x), 0);
    const first = fibresOf(names[0]!); // 72 fibres: as many as the global threshold removes
    const ratio = (first + 0.5) / total;
    const full = (name: string): number => fibresOf(name) * cin(name);

    const byL1 = vectorMasks(model, { ratio, criterion: 'l1' });
    expect(names.map((x) => byL1.nonZero.get(x))).toEqual([0, full(names[1]!), full(names[2]!), full(names[3]!)]);
    const byMean = vectorMasks(model, { ratio, criterion: 'magnitude' });
    // The lowest mean |w| is the Cin-12 conv (90 fibres): 72 of them go, the image conv stays whole.
    expect(names.map((x) => byMean.nonZero.get(x))).toEqual([full(names[0]!), full(names[1]!), (fibresOf(names[2]!) - first) * cin(names[2]!), full(names[3]!)]);
    expect(byL1.prunedFraction).toBeCloseTo(first / total, 12);
    expect(byMean.prunedFraction).toBeCloseTo(first / total, 12);
    expect(() => vectorMasks(model, { ratio, criterion: 'fpgm' as 'l1' })).toThrow(/vector masks to be one of l1, magnitude/);
    disposeMasks(byL1);
    disposeMasks(byMean);
    model.dispose();
  });
});

describe('unstructured magnitude masks', () => {
  it.each(['global', 'layer'] as const)('%s scope: exact fraction and threshold order over |w|', (scope) => {
    const model = Model.init(VGG, 4);
    randomizeWeights(model, 5);
    const ratio = 0.6;
    const m = weightMagnitudeMasks(model, { ratio, scope });
    const pruned: number[] = [];
    const kept: number[] = [];
    let total = 0;
    for (const name of convNames(model)) {
      const w = model.param(name).dataSync();
      const mask = m.masks.get(name)!.dataSync();
      const lp: number[] = [];
      const lk: number[] = [];
      w.forEach((v, k) => (mask[k] === 0 ? lp : lk).push(Math.abs(v)));
      if (scope === 'layer') {
        expect(lp).toHaveLength(Math.floor(ratio * w.length));
        expect(Math.max(...lp)).toBeLessThanOrEqual(Math.min(...lk));
      }
      expect(m.nonZero.get(name)).toBe(lk.length);
      pruned.push(...lp);
      kept.push(...lk);
      total += w.length;
    }
    expect(m.prunedFraction).toBe(pruned.length / total);
    if (scope === 'global') {
      expect(pruned.length).toBe(Math.floor(ratio * total));
      expect(Math.max(...pruned)).toBeLessThanOrEqual(Math.min(...kept));
    }
    expect(countSpec(VGG, { nonZero: m.nonZero }).paramsEffective).toBe(countSpec(VGG).params - pruned.length);
    disposeMasks(m);
    model.dispose();
  });
});

describe('options and tensors', () => {
  it('a ratio outside [0, 1) is a ConfigError naming --prune-ratio', () => {
    const model = Model.init(VGG, 6);
    for (const ratio of [1, -0.1, Number.NaN]) {
      expect(() => vectorMasks(model, { ratio })).toThrow(/--prune-ratio/);
      expect(() => weightMagnitudeMasks(model, { ratio })).toThrow(ConfigError);
    }
    expect(() => vectorMasks(model, { ratio: 0.1, scope: 'net' as 'global' })).toThrow(/scope/);
    const none = vectorMasks(model, { ratio: 0 });
    expect(none.prunedFraction).toBe(0);
    expect([...none.nonZero].every(([n, k]) => k === model.param(n).size)).toBe(true);
    disposeMasks(none);
    model.dispose();
  });

  it('repeated calls with disposeMasks do not grow the tensor count', () => {
    const model = Model.init(VGG, 7);
    const start = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      disposeMasks(vectorMasks(model, { ratio: 0.3 }));
      disposeMasks(weightMagnitudeMasks(model, { ratio: 0.3, scope: 'layer' }));
    }
    expect(tf.memory().numTensors).toBe(start);
    model.dispose();
  });
});
