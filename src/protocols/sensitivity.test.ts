import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/index.ts';
import { batches, syntheticDataset } from '../data/index.ts';
import { Model, type VggSpec } from '../models/index.ts';
import { compactModel, predefinedPlan, prunableGroups } from '../pruning/index.ts';
import { DEFAULT_TRAIN_CONFIG, evaluate, trainModel, type TrainData } from '../train/index.ts';
import { ConfigError } from '../util/errors.ts';
import { silentLogger } from '../util/log.ts';
import { keptChannels, robustLayers, sensitivityScan, singleLayerPlan, type SensitivityScan } from './sensitivity.ts';

const SPEC: VggSpec = { family: 'vgg', name: 'vgg-sens-test', cfg: [8, 'M', 12, 'M', 16], head: 'gap', numClasses: 4, input: { height: 8, width: 8, channels: 3 }, bnGammaInit: 0.5 };
const ds = syntheticDataset({ numClasses: 4, trainCount: 256, testCount: 60, seed: 5, height: 8, width: 8 });
const DATA: TrainData = { train: ds.train, test: ds.test, shape: { h: 8, w: 8, c: 3 }, mean: ds.mean, std: ds.std };
const RATIOS = [0.25, 0.5, 0.75];

let model: Model;
let scan: SensitivityScan;

beforeAll(async () => {
  await initBackend({ backend: 'wasm', logger: silentLogger });
  model = Model.init(SPEC, 7);
  // A few epochs, so that accuracy is well above chance and pruning a layer changes it.
  await trainModel(model, DATA, { ...DEFAULT_TRAIN_CONFIG, epochs: 8, lr: 0.05, batchSize: 32, seed: 1, schedule: { kind: 'constant' } }, { progressStream: null, logger: silentLogger });
  scan = await sensitivityScan({ model, test: ds.test, data: DATA, criterion: 'l1', ratios: [0.75, 0.25, 0.5] });
});

afterAll(() => model?.dispose());

/** Top-1 (%) by a loop over the logits: argmax per image against its label. */
function top1ByHand(m: Model): number {
  let correct = 0;
  for (const b of batches(ds.test, DATA.shape, { batchSize: 1000, shuffle: false, augment: false, mean: DATA.mean, std: DATA.std })) {
    const logits = m.forward(b.x, false).logits;
    const v = logits.dataSync();
    const k = logits.shape[1];
    for (let i = 0; i < b.size; i++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (v[i * k + j]! > v[i * k + best]!) best = j;
      if (best === ds.test.labels[b.indices[i]!]) correct++;
    }
    tf.dispose([logits, b.x, b.y]);
  }
  return (100 * correct) / ds.test.count;
}

/** Per-filter L1 norms of a conv weight [kh, kw, cin, cout], by a loop. */
function l1ByHand(m: Model, conv: string): number[] {
  const w = m.param(`${conv}.weight`);
  const v = w.dataSync();
  const cout = w.shape[3]!;
  const n = new Array<number>(cout).fill(0);
  for (let i = 0; i < v.length; i++) n[i % cout] += Math.abs(v[i]!);
  return n;
}

describe('sensitivityScan', () => {
  it('the unpruned reference is the top-1 of the input model (counted by hand from its logits)', async () => {
    expect(scan.unprunedTop1).toBe((await evaluate(model, ds.test, DATA)).acc);
    expect(scan.unprunedTop1).toBeCloseTo(top1ByHand(model), 9);
    // The model learned something, so the drops below mean something.
    expect(scan.unprunedTop1).toBeGreaterThan(50);
  });

  it('has one point per layer and ratio, layer-major, ratios ascending, with the kept widths of floor(C (1 - r))', () => {
    const groups = prunableGroups(model.graph);
    expect(groups.map((g) => g.channels)).toEqual([8, 12, 16]);
    expect(scan.points).toHaveLength(groups.length * RATIOS.length);
    expect(scan.points.map((p) => [p.layer, p.layerIndex, p.ratio])).toEqual(groups.flatMap((g, i) => RATIOS.map((r) => [g.id, i + 1, r])));
    expect(scan.points.map((p) => p.keptChannels)).toEqual([6, 4, 2, 9, 6, 3, 12, 8, 4]);
    for (const p of scan.points) expect(p.drop).toBeCloseTo(scan.unprunedTop1 - p.top1, 9);
    expect(scan.testImages).toBe(60);
    expect(scan.calibrationImages).toBe(0);
  });

  it('a point equals a direct evaluation of the model pruned by hand at that layer only (hand L1 norms, hand plan)', async () => {
    const groups = prunableGroups(model.graph);
    let differs = 0;
    for (const [gi, g] of groups.entries()) {
      const norms = l1ByHand(model, g.id);
      for (const ratio of RATIOS) {
        const keep = Math.floor(g.channels * (1 - ratio));
        const kept = norms
          .map((s, i) => ({ s, i }))
          .sort((a, b) => b.s - a.s || a.i - b.i)
          .slice(0, keep)
          .map((x) => x.i)
          .sort((a, b) => a - b);
        const plan = { model: SPEC.name, groups: Object.fromEntries(groups.map((h) => [h.id, h.id === g.id ? kept : Array.from({ length: h.channels }, (_, i) => i)])) };
        const pruned = compactModel(model, plan);
        const direct = top1ByHand(pruned);
        pruned.dispose();
        const point = scan.points.find((p) => p.layerIndex === gi + 1 && p.ratio === ratio)!;
        expect(point.top1, `${g.id} @ ${ratio}`).toBeCloseTo(direct, 9);
        if (direct !== scan.unprunedTop1) differs++;
      }
    }
    // Pruning changes accuracy somewhere (otherwise the comparison above could not fail).
    expect(differs).toBeGreaterThan(0);
  });

  it('a single-layer plan is the one predefinedPlan makes with that layer alone at the ratio', () => {
    const scores = new Map(prunableGroups(model.graph).map((g) => [g.id, l1ByHand(model, g.id)]));
    for (const g of prunableGroups(model.graph)) {
      for (const ratio of RATIOS) {
        const ours = singleLayerPlan(model, g.id, scores.get(g.id)!, keptChannels(g.channels, ratio));
        const theirs = predefinedPlan(model, new Map([[g.id, ratio]]), { criterion: 'l1' }).plan;
        expect(ours).toEqual(theirs);
      }
    }
  });

  it('robustLayers lists the layers whose drop at the ratio is under the bound, in layer order', () => {
    for (const maxDrop of [-100, 0, 1, 5, 100]) {
      const byHand = scan.points.filter((p) => p.ratio === 0.5 && p.drop < maxDrop).map((p) => p.layer);
      expect(robustLayers(scan, 0.5, maxDrop).map((p) => p.layer)).toEqual(byHand);
    }
    expect(robustLayers(scan, 0.5, 1000)).toHaveLength(3);
    expect(() => robustLayers(scan, 0.4, 1)).toThrow(/--at-ratio 0.4 is not one of the scanned ratios \(0.25, 0.5, 0.75\)/);
  });

  it('keptChannels keeps at least minChannels', () => {
    expect(keptChannels(4, 0.9)).toBe(1);
    expect(keptChannels(1, 0.5)).toBe(1);
    expect(keptChannels(10, 0.9, 3)).toBe(3);
    expect(keptChannels(2, 0.9, 3)).toBe(2);
  });

  it('refuses ratios outside (0, 1) and duplicates, naming the key', async () => {
    for (const ratios of [[0], [1], [0.5, 1.5], [-0.1], [Number.NaN], [], [0.5, 0.5]]) {
      await expect(sensitivityScan({ model, test: ds.test, data: DATA, criterion: 'l1', ratios })).rejects.toThrow(ConfigError);
    }
  });
});
