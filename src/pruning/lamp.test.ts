import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Model, type VggSpec } from '../models/index.ts';
import { randomImages, randomizeWeights, useCpuBackend } from '../testing/tf.ts';
import { crossEntropy } from '../train/index.ts';
import { ConfigError } from '../util/errors.ts';
import type { CalibrationData } from './criteria.ts';
import { lampScores } from './lamp.ts';
import { disposeMasks, weightMagnitudeMasks, weightMasks, weightScores, type WeightMasks } from './vector.ts';

beforeAll(useCpuBackend);

const VGG: VggSpec = { family: 'vgg', name: 'vgg-lamp', cfg: [4, 'M', 6, 5], head: 'gap', numClasses: 3, input: { height: 6, width: 6, channels: 2 }, bnGammaInit: 0.5 };

function convNames(model: Model): string[] {
  return model.graph.nodes.filter((n) => n.kind === 'conv').map((n) => `${n.name}.weight`);
}

/** LAMP by its definition, loop by loop: w_u^2 over the sum of w_v^2 of every v with |w_v| >= |w_u| (distinct magnitudes). */
function directLamp(w: ArrayLike<number>): number[] {
  return Array.from(w, (u) => {
    let tail = 0;
    for (let k = 0; k < w.length; k++) if (Math.abs(w[k]!) >= Math.abs(u)) tail += w[k]! ** 2;
    return u ** 2 / tail;
  });
}

/** Which entries a mask removes, per weight name. */
function prunedSets(m: WeightMasks): Map<string, number[]> {
  return new Map([...m.masks].map(([n, t]) => [n, Array.from(t.dataSync()).flatMap((v, k) => (v === 0 ? [k] : []))]));
}

describe('LAMP', () => {
  it('scores equal the definition computed loop by loop; the largest scores 1; ties go in position order', () => {
    const w = [0.3, -2, 0.05, 1.1, -0.7, 0.2];
    const got = Array.from(lampScores(w));
    directLamp(w).forEach((e, i) => expect(got[i]).toBeCloseTo(e, 12));
    expect(got[1]).toBe(1);
    // Hand values: sorted squares 0.0025, 0.04, 0.09, 0.49, 1.21, 4 (sum 5.8325).
    expect(got[2]).toBeCloseTo(0.0025 / 5.8325, 12);
    expect(got[4]).toBeCloseTo(0.49 / 5.7, 12);
    expect(Array.from(lampScores([1, -1, 0.5]))).toEqual([0.5, 1, 0.25 / 2.25]);
    expect(Array.from(lampScores([0, 0]))).toEqual([0, 1]);
  });

  it('global masks remove the lowest LAMP scores of all layers and never empty a layer', () => {
    const model = Model.init(VGG, 0);
    randomizeWeights(model, 1);
    const scores = weightScores(model, 'lamp');
    const names = convNames(model);
    expect([...scores.keys()]).toEqual(names);
    const all: number[] = [];
    for (const n of names) {
      const w = model.param(n).dataSync();
      const direct = directLamp(w);
      direct.forEach((e, k) => expect(scores.get(n)![k]).toBeCloseTo(e, 6));
      expect(Math.max(...scores.get(n)!)).toBe(1);
      all.push(...direct);
    }
    const ratio = 0.9;
    const m = weightMasks(model, { criterion: 'lamp', ratio });
    const total = all.length;
    const threshold = [...all].sort((a, b) => a - b)[Math.floor(ratio * total) - 1]!;
    let removed = 0;
    for (const [n, gone] of prunedSets(m)) {
      removed += gone.length;
      const s = scores.get(n)!;
      for (let k = 0; k < s.length; k++) expect(gone.includes(k), `${n}[${k}]`).toBe(s[k]! <= threshold);
      expect(m.nonZero.get(n)).toBeGreaterThanOrEqual(1);
    }
    expect(removed).toBe(Math.floor(ratio * total));
    disposeMasks(m);
    // Pruning all but one weight per layer: global LAMP keeps exactly each layer's largest
    // (scored 1), where global magnitude at the same ratio empties a layer.
    const allButOne = (total - names.length + 0.5) / total;
    const extreme = weightMasks(model, { criterion: 'lamp', ratio: allButOne });
    for (const n of names) {
      expect(extreme.nonZero.get(n)).toBe(1);
      const w = Array.from(model.param(n).dataSync(), Math.abs);
      expect(extreme.masks.get(n)!.dataSync()[w.indexOf(Math.max(...w))]).toBe(1);
    }
    const byMagnitude = weightMagnitudeMasks(model, { ratio: allButOne });
    expect(names.some((n) => byMagnitude.nonZero.get(n) === 0)).toBe(true);
    disposeMasks(byMagnitude);
    disposeMasks(extreme);
    model.dispose();
  });

  it('per layer, LAMP masks equal magnitude masks (LAMP is monotone in |w| within a layer)', () => {
    const model = Model.init(VGG, 2);
    randomizeWeights(model, 3);
    const a = weightMasks(model, { criterion: 'lamp', ratio: 0.55, scope: 'layer' });
    const b = weightMagnitudeMasks(model, { ratio: 0.55, scope: 'layer' });
    expect(prunedSets(a)).toEqual(prunedSets(b));
    disposeMasks(a);
    disposeMasks(b);
    model.dispose();
  });
});

describe('gradient magnitude', () => {
  function calibration(n: number, batchSize: number, seed: number): CalibrationData {
    return {
      images: randomImages(n, 6, 6, 2, seed),
      labels: tf.tensor1d(Array.from({ length: n }, (_, i) => (i * 5 + seed) % 3), 'int32'),
      batchSize,
    };
  }

  /** sum over batches of n_b dL_b/dw for one weight entry, by central differences on the forward loss. */
  function gradientSum(model: Model, name: string, index: number, cal: CalibrationData, eps = 1e-3): number {
    const w = model.param(name);
    const original = w.clone();
    const flat = original.dataSync();
    const n = cal.images.shape[0];
    let sum = 0;
    for (let start = 0; start < n; start += cal.batchSize) {
      const size = Math.min(cal.batchSize, n - start);
      const x = tf.slice(cal.images, [start, 0, 0, 0], [size, -1, -1, -1]);
      const y = tf.slice(cal.labels, [start], [size]);
      const lossAt = (delta: number): number => {
        const v = Float32Array.from(flat);
        v[index] = v[index]! + delta;
        tf.tidy(() => w.assign(tf.tensor(v, w.shape)));
        const out = model.forward(x, true);
        const loss = tf.tidy(() => crossEntropy(out.logits, y).dataSync()[0]!);
        out.logits.dispose();
        for (const s of out.bnStats) tf.dispose([s.mean, s.variance]);
        return loss;
      };
      sum += (size * (lossAt(eps) - lossAt(-eps))) / (2 * eps);
      tf.dispose([x, y]);
    }
    w.assign(original);
    original.dispose();
    return sum;
  }

  it('|w x sum_b n_b dL_b/dw| matches central differences, weight by weight', () => {
    const model = Model.init(VGG, 4);
    randomizeWeights(model, 5);
    const cal = calibration(5, 2, 6); // batches of 2, 2, 1
    const scores = weightScores(model, 'grad-magnitude', { calibration: cal });
    for (const name of convNames(model)) {
      const w = model.param(name).dataSync();
      const s = scores.get(name)!;
      expect(s.length).toBe(w.length);
      // The three highest-scoring entries and two others of each layer.
      const picks = [...Array.from(s.keys()).sort((a, b) => s[b]! - s[a]!).slice(0, 3), 1, w.length - 2];
      const scale = Math.max(...s);
      expect(scale).toBeGreaterThan(1e-4);
      for (const k of picks) {
        const expected = Math.abs(w[k]! * gradientSum(model, name, k, cal));
        expect(Math.abs(s[k]! - expected), `${name}[${k}]: ${s[k]} vs ${expected}`).toBeLessThan(0.02 * scale);
      }
    }
    const m = weightMasks(model, { criterion: 'grad-magnitude', ratio: 0.5, calibration: cal });
    const all = [...scores.values()].flatMap((s) => Array.from(s));
    const threshold = [...all].sort((a, b) => a - b)[Math.floor(0.5 * all.length) - 1]!;
    for (const [n, gone] of prunedSets(m)) {
      const s = scores.get(n)!;
      for (let k = 0; k < s.length; k++) if (s[k] !== threshold) expect(gone.includes(k)).toBe(s[k]! < threshold);
    }
    disposeMasks(m);
    cal.images.dispose();
    cal.labels.dispose();
    model.dispose();
  });

  it('needs data; an unknown weight criterion is a ConfigError naming --criterion; no tensor growth', () => {
    const model = Model.init(VGG, 7);
    expect(() => weightMasks(model, { criterion: 'grad-magnitude', ratio: 0.5 })).toThrow(ConfigError);
    expect(() => weightScores(model, 'grad-magnitude')).toThrow(/grad-magnitude criterion .*needs calibration data: pass --data-dir/);
    expect(() => weightMasks(model, { criterion: 'l1' as 'lamp', ratio: 0.5 })).toThrow(/--criterion for weight masks to be one of magnitude, lamp, grad-magnitude/);
    const cal = calibration(4, 2, 8);
    disposeMasks(weightMasks(model, { criterion: 'grad-magnitude', ratio: 0.3, calibration: cal }));
    const start = tf.memory().numTensors;
    disposeMasks(weightMasks(model, { criterion: 'grad-magnitude', ratio: 0.3, calibration: cal }));
    disposeMasks(weightMasks(model, { criterion: 'lamp', ratio: 0.3 }));
    expect(tf.memory().numTensors).toBe(start);
    cal.images.dispose();
    cal.labels.dispose();
    model.dispose();
  });
});
