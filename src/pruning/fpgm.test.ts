import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Model, type VggSpec } from '../models/index.ts';
import { randomizeWeights, useCpuBackend } from '../testing/tf.ts';
import { tinyDenseNetSpec } from '../testing/fixtures.ts';
import { criterionNeedsData, scoreChannels, topK } from './criteria.ts';
import { fpgmImportance } from './fpgm.ts';
import { prunableGroups } from './groups.ts';
import { predefinedPlan, uniformRatios } from './methods.ts';

beforeAll(useCpuBackend);

const VGG: VggSpec = { family: 'vgg', name: 'vgg-fpgm', cfg: [5, 'M', 7, 6], head: 'gap', numClasses: 3, input: { height: 6, width: 6, channels: 2 }, bnGammaInit: 0.5 };
const DENSE = tinyDenseNetSpec('dense-fpgm');

/** Summed Euclidean distance of each vector to the others, loop by loop in float64. */
function summedDistances(vectors: number[][]): number[] {
  return vectors.map((a, i) =>
    vectors.reduce((sum, b, j) => {
      if (i === j) return sum;
      let d2 = 0;
      for (let k = 0; k < a.length; k++) d2 += (a[k]! - b[k]!) ** 2;
      return sum + Math.sqrt(d2);
    }, 0),
  );
}

/** Filter o of a conv weight [kh, kw, cin, cout]: every W[i, j, c, o], read from the flat values. */
function filters(model: Model, name: string): number[][] {
  const w = model.param(name);
  const [kh, kw, cin, cout] = w.shape as number[];
  const v = w.dataSync();
  return Array.from({ length: cout! }, (_, o) => Array.from({ length: kh! * kw! * cin! }, (_, k) => v[k * cout! + o]!));
}

/** Input slice c of a reader: conv W[i, j, c, o] over i, j, o; linear W[c, o] over o. */
function inputSlices(model: Model, name: string): number[][] {
  const w = model.param(name);
  const v = w.dataSync();
  if (w.rank === 2) {
    const [cin, cout] = w.shape as number[];
    return Array.from({ length: cin! }, (_, c) => Array.from({ length: cout! }, (_, o) => v[c * cout! + o]!));
  }
  const [kh, kw, cin, cout] = w.shape as number[];
  return Array.from({ length: cin! }, (_, c) => {
    const out: number[] = [];
    for (let ij = 0; ij < kh! * kw!; ij++) for (let o = 0; o < cout!; o++) out.push(v[(ij * cin! + c) * cout! + o]!);
    return out;
  });
}

function expectClose(actual: ArrayLike<number>, expected: number[]): void {
  expect(actual.length).toBe(expected.length);
  const scale = Math.max(...expected.map(Math.abs));
  expected.forEach((e, i) => expect(Math.abs(actual[i]! - e), `channel ${i}: ${actual[i]} vs ${e}`).toBeLessThan(1e-4 * scale));
}

describe('FPGM', () => {
  it('scores each conv filter by its summed distance to the layer’s other filters', () => {
    const model = Model.init(VGG, 0);
    randomizeWeights(model, 1);
    const groups = prunableGroups(model.graph);
    expect(groups.map((g) => g.id)).toEqual(['features.0.conv', 'features.1.conv', 'features.2.conv']);
    const scores = scoreChannels(model, 'fpgm');
    for (const g of groups) expectClose(scores.get(g.id)!, summedDistances(filters(model, `${g.id}.weight`)));
    model.dispose();
  });

  it('a filter at the geometric median scores lowest; a far one highest', () => {
    const model = Model.init({ ...VGG, cfg: [3] }, 0);
    // Three filters on a line: 0 at the origin, 1 at distance 1, 2 at distance 5. Sums: 6, 5, 9.
    const w = model.param('features.0.conv.weight');
    const values = new Float32Array(w.size);
    values[0 * 3 + 1] = 1; // W[0,0,0,1]
    values[0 * 3 + 2] = 5; // W[0,0,0,2]
    tf.tidy(() => w.assign(tf.tensor(values, w.shape)));
    const g = prunableGroups(model.graph)[0]!;
    expectClose(fpgmImportance(model, g), [6, 5, 9]);
    model.dispose();
  });

  it('a channel selection is scored by its readers’ input slices (conv or linear)', () => {
    const model = Model.init(DENSE, 2);
    randomizeWeights(model, 3);
    const groups = prunableGroups(model.graph);
    expect(groups.every((g) => g.producerKind === 'select')).toBe(true);
    const scores = scoreChannels(model, 'fpgm');
    for (const g of groups) {
      const reader = g.id === 'final.select' ? 'fc.weight' : `${g.id.replace('.select', '')}.conv1.weight`;
      expectClose(scores.get(g.id)!, summedDistances(inputSlices(model, reader)));
    }
    model.dispose();
  });

  it('predefinedPlan with fpgm keeps the channels the direct computation ranks highest; needs no data', () => {
    const model = Model.init(VGG, 4);
    randomizeWeights(model, 5);
    expect(criterionNeedsData('fpgm')).toBe(false);
    const { plan } = predefinedPlan(model, uniformRatios(model, 0.5), { criterion: 'fpgm' });
    for (const g of prunableGroups(model.graph)) {
      const direct = summedDistances(filters(model, `${g.id}.weight`));
      expect(plan.groups[g.id]).toEqual(topK(direct, Math.floor(g.channels * 0.5)));
    }
    model.dispose();
  });
});

