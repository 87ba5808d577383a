import * as tf from '@tensorflow/tfjs-core';
import { eigs } from 'mathjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Model, type VggSpec } from '../models/index.ts';
import { randomImages, randomizeWeights, useCpuBackend } from '../testing/tf.ts';
import { ConfigError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { criterionNeedsData, scoreChannels, topK, type CalibrationData } from './criteria.ts';
import { prunableGroups } from './groups.ts';
import { hrankNode, matrixRank } from './hrank.ts';
import { predefinedPlan, uniformRatios } from './methods.ts';

beforeAll(useCpuBackend);

const VGG: VggSpec = { family: 'vgg', name: 'vgg-hrank', cfg: [6, 'M', 5], head: 'gap', numClasses: 3, input: { height: 6, width: 6, channels: 2 }, bnGammaInit: 0.5 };

/** Rank another way: singular values as square roots of the eigenvalues of A^T A (mathjs), above the same tolerance. */
function rankByEigs(rows: number[][]): number {
  const cols = rows[0]!.length;
  const maxAbs = Math.max(...rows.flat().map(Math.abs));
  if (maxAbs === 0) return 0;
  const ata = Array.from({ length: cols }, (_, i) => Array.from({ length: cols }, (_, j) => rows.reduce((s, r) => s + r[i]! * r[j]!, 0)));
  const values = eigs(ata).values as number[];
  const tol = maxAbs * Math.max(rows.length, cols) * 2 ** -23;
  return values.filter((l) => Math.sqrt(Math.max(l, 0)) > tol).length;
}

describe('matrixRank', () => {
  it('finds the rank of sums of r outer products, through strides, and of degenerate matrices', () => {
    const rng = new Rng(1);
    for (let r = 0; r <= 5; r++) {
      const m = Array.from({ length: 6 }, () => new Array<number>(5).fill(0));
      for (let k = 0; k < r; k++) {
        const u = Array.from({ length: 6 }, () => rng.normal());
        const v = Array.from({ length: 5 }, () => rng.normal());
        for (let i = 0; i < 6; i++) for (let j = 0; j < 5; j++) m[i]![j]! += u[i]! * v[j]!;
      }
      const flat = m.flat();
      expect(matrixRank(flat, 6, 5), `rank ${r}`).toBe(r);
      expect(rankByEigs(m)).toBe(r);
      // The transpose, read through strides out of a larger buffer.
      const buffer = [7, 7, 7, ...flat];
      expect(matrixRank(buffer, 5, 6, 3, 1, 5)).toBe(r);
    }
    expect(matrixRank([1, 2, 3, 2, 4, 6, 0, 0, 1], 3, 3)).toBe(2);
    expect(matrixRank([0, 0, 0, 0], 2, 2)).toBe(0);
  });
});

describe('HRank', () => {
  function calibration(n: number, batchSize: number, seed: number): CalibrationData {
    return { images: randomImages(n, 6, 6, 2, seed), labels: tf.tensor1d(Array.from({ length: n }, (_, i) => i % 3), 'int32'), batchSize };
  }

  /** Average feature-map rank per channel, from the model's activations and rankByEigs. */
  function directScores(model: Model, cal: CalibrationData): Map<string, number[]> {
    const out = new Map<string, number[]>();
    const n = cal.images.shape[0];
    for (const g of prunableGroups(model.graph)) {
      const node = hrankNode(model, g);
      const acts = model.activations(cal.images, [node]);
      const t = acts.get(node)!;
      const [imgs, h, w, c] = t.shape as number[];
      const v = t.dataSync();
      const sums = new Array<number>(c!).fill(0);
      for (let img = 0; img < imgs!; img++) {
        for (let ch = 0; ch < c!; ch++) {
          const rows = Array.from({ length: h! }, (_, i) => Array.from({ length: w! }, (_, j) => v[((img * h! + i) * w! + j) * c! + ch]!));
          sums[ch] += rankByEigs(rows);
        }
      }
      t.dispose();
      out.set(g.id, sums.map((s) => s / n));
    }
    return out;
  }

  it('scores each channel by the average rank of its ReLU feature maps; predefinedPlan keeps the highest', () => {
    const model = Model.init(VGG, 0);
    randomizeWeights(model, 1);
    // Push some channels below zero so their ReLU maps lose rank (channel 2 of each layer: all zero).
    for (const g of prunableGroups(model.graph)) {
      const beta = model.param(`${g.bns[0]}.beta`);
      tf.tidy(() => beta.assign(tf.add(beta, tf.tensor1d(Array.from({ length: g.channels }, (_, c) => (c === 2 ? -50 : c % 2 ? -0.8 : 0))))));
    }
    expect(prunableGroups(model.graph).map((g) => hrankNode(model, g))).toEqual(['features.0.relu', 'features.1.relu']);
    const cal = calibration(5, 2, 2);
    const scores = scoreChannels(model, 'hrank', { calibration: cal });
    const direct = directScores(model, cal);
    const distinct = new Set<number>();
    for (const [id, expected] of direct) {
      const got = Array.from(scores.get(id)!);
      expected.forEach((e, c) => expect(got[c], `${id} channel ${c}`).toBeCloseTo(e, 6));
      expect(expected[2]).toBe(0);
      for (const e of expected) distinct.add(e);
    }
    expect(distinct.size).toBeGreaterThan(2);
    const { plan } = predefinedPlan(model, uniformRatios(model, 0.5), { criterion: 'hrank', calibration: cal });
    for (const g of prunableGroups(model.graph)) expect(plan.groups[g.id]).toEqual(topK(direct.get(g.id)!, Math.floor(g.channels * 0.5)));
    cal.images.dispose();
    cal.labels.dispose();
    model.dispose();
  });

  it('needs data; leaves the tensor count as it was', () => {
    const model = Model.init(VGG, 3);
    expect(criterionNeedsData('hrank')).toBe(true);
    expect(() => scoreChannels(model, 'hrank')).toThrow(ConfigError);
    expect(() => scoreChannels(model, 'hrank')).toThrow(/hrank criterion .*needs calibration data: pass --data-dir/);
    const cal = calibration(3, 2, 4);
    const start = tf.memory().numTensors;
    scoreChannels(model, 'hrank', { calibration: cal });
    expect(tf.memory().numTensors).toBe(start);
    cal.images.dispose();
    cal.labels.dispose();
    model.dispose();
  });
});
