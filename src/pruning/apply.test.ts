import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countSpec } from '../metrics/index.ts';
import { Model, modelSpec, specSchemaProblems, type InputShape, type ModelSpec } from '../models/index.ts';
import { useCpuBackend } from '../testing/tf.ts';
import { ConfigError, PlanError } from '../util/errors.ts';
import { assertPruned, checkMethodApplies, methodScope, PRUNE_METHODS, pruneModel, type PruneMethod } from './apply.ts';
import { prunableGroups } from './groups.ts';
import { slimmingGammaParams, slimmingPlan } from './methods.ts';

beforeAll(useCpuBackend);

// Small inputs keep every family's forward pass (reconstruction samples activations) cheap.
const INPUT: InputShape = { height: 16, width: 16, channels: 3 };
const FAMILIES: [string, ModelSpec][] = [
  ['vgg', modelSpec('vgg-tiny', { input: INPUT })],
  ['resnet', modelSpec('resnet20', { widthMultiplier: 0.25, input: INPUT })],
  ['preresnet', modelSpec('preresnet164', { widthMultiplier: 1 / 8, input: INPUT })],
  ['densenet', modelSpec('densenet40', { widthMultiplier: 0.25, input: INPUT })],
];
const models = new Map<string, Model>();
let images: tf.Tensor4D;
beforeAll(() => {
  for (const [f, spec] of FAMILIES) models.set(f, Model.init(spec, 3));
  images = tf.randomNormal([4, INPUT.height, INPUT.width, INPUT.channels], 0, 1, 'float32', 5) as tf.Tensor4D;
});
afterAll(() => {
  for (const m of models.values()) m.dispose();
  images?.dispose();
});

/** The refusals: block removal needs residual blocks. Every other pair must prune. */
const REFUSED = new Set(['vgg/block', 'densenet/block']);

describe('every method on every family: it prunes, or it is refused; never a silent no-op', () => {
  const pairs = FAMILIES.flatMap(([f]) => PRUNE_METHODS.map((m) => [f, m] as [string, PruneMethod]));
  it.each(pairs)('%s x %s', (family, method) => {
    const model = models.get(family)!;
    if (REFUSED.has(`${family}/${method}`)) {
      expect(methodScope(model.spec, method).units).toBe(0);
      const e = (() => {
        try {
          pruneModel(model, { method, ratio: 0.5, minChannels: 1, seed: 0 });
        } catch (x) {
          return x;
        }
        return null;
      })();
      expect(e).toBeInstanceOf(ConfigError);
      const working = PRUNE_METHODS.filter((m) => !REFUSED.has(`${family}/${m}`));
      expect((e as Error).message).toBe(
        `--method ${method} cannot prune ${model.spec.name} (a ${family}): block removal needs residual blocks (a ResNet or PreResNet), and ${model.spec.name}, a ${family}, has none; methods that can: ${working.join(', ')}`,
      );
      return;
    }
    const r = pruneModel(model, { method, ratio: 0.5, minChannels: 1, seed: 0, sampleImages: images, ...(method === 'channel' ? { criterion: 'l2' as const } : {}) });
    try {
      expect(r.removedFraction).toBeGreaterThan(0);
      expect(() => assertPruned(r, { model: model.spec.name, method, ratio: 0.5 })).not.toThrow();
      // The smaller model, counted from its own spec (and masks): fewer effective parameters.
      const before = countSpec(model.spec);
      const after = countSpec(r.model.spec, r.kind === 'masks' ? { nonZero: r.nonZero } : {});
      expect(after.paramsEffective).toBeLessThan(before.paramsEffective);
      expect(specSchemaProblems(JSON.parse(JSON.stringify(r.model.spec)))).toEqual([]);
      if (r.kind === 'channels') {
        // Every prunable group was acted on (none left whole by a criterion that cannot score it).
        for (const g of prunableGroups(model.graph)) expect(r.plan.groups[g.id]!.length, g.id).toBeLessThan(g.channels);
      }
    } finally {
      r.model.dispose();
      if (r.kind === 'masks') for (const t of r.masks.values()) t.dispose();
    }
  });
});

describe('l1 and l2 where a channel selection chooses the channels (DenseNet-40, PreResNet-164)', () => {
  /** Per input channel: the norm of the consumer conv's (or linear layer's) weights that read it, by loops. */
  function readerNorms(model: Model, weight: string, p: 1 | 2): number[] {
    const w = model.param(weight);
    const v = w.dataSync();
    const [cin, cout] = w.rank === 4 ? [w.shape[2]!, w.shape[3]!] : [w.shape[0]!, w.shape[1]!];
    const out = new Array<number>(cin).fill(0);
    for (let i = 0; i < v.length; i++) {
      const c = Math.floor(i / cout) % cin;
      out[c] += p === 1 ? Math.abs(v[i]!) : v[i]! * v[i]!;
    }
    return p === 1 ? out : out.map(Math.sqrt);
  }
  const topIndices = (s: number[], k: number): number[] =>
    s.map((x, i) => ({ x, i })).sort((a, b) => b.x - a.x || a.i - b.i).slice(0, k).map((o) => o.i).sort((a, b) => a - b);

  it.each([['densenet', 1], ['densenet', 2], ['preresnet', 1]] as const)('%s l%s keeps each selection\'s channels with the largest reader-weight norms', (family, p) => {
    const model = models.get(family)!;
    const r = pruneModel(model, { method: p === 1 ? 'l1' : 'l2', ratio: 0.5, minChannels: 1, seed: 0 });
    try {
      if (r.kind !== 'channels') throw new Error('expected a channel plan');
      const selects = prunableGroups(model.graph).filter((g) => g.producerKind === 'select');
      expect(selects.length).toBeGreaterThan(0);
      for (const g of selects) {
        // The one conv (dense layers, transitions, PreResNet conv1) or linear (the final selection) reading it.
        const reader = model.graph.nodes.find((n) => (n.kind === 'conv' || n.kind === 'linear') && g.consumers.length > 0 && g.weightAxes.some(([name]) => name === `${n.name}.weight`))!;
        const keep = Math.floor(g.channels * 0.5);
        expect(r.plan.groups[g.id], g.id).toEqual(topIndices(readerNorms(model, `${reader.name}.weight`, p), keep));
      }
    } finally {
      r.model.dispose();
    }
  });

  it('the issue\'s case: densenet40 l1 at 0.5 prunes every selection by half (it used to keep every channel)', () => {
    const model = models.get('densenet')!;
    const r = pruneModel(model, { method: 'l1', ratio: 0.5, minChannels: 1, seed: 0 });
    try {
      if (r.kind !== 'channels') throw new Error('expected a channel plan');
      for (const [id, before] of Object.entries(r.widthsBefore)) expect(r.plan.groups[id]).toHaveLength(Math.floor(before * 0.5));
    } finally {
      r.model.dispose();
    }
  });
});

describe('a pruning that removes nothing is refused', () => {
  const tryAssert = (family: string, method: PruneMethod, ratio: number, minChannels = 1): Error | null => {
    const model = models.get(family)!;
    const r = pruneModel(model, { method, ratio, minChannels, seed: 0, sampleImages: images });
    try {
      assertPruned(r, { model: model.spec.name, method, ratio });
      return null;
    } catch (e) {
      return e as Error;
    } finally {
      r.model.dispose();
      if (r.kind === 'masks') for (const t of r.masks.values()) t.dispose();
    }
  };

  it('block: a ratio below one block in resnet20 (9 blocks)', () => {
    const e = tryAssert('resnet', 'block', 0.1);
    expect(e).toBeInstanceOf(PlanError);
    expect(e!.message).toBe('--method block --prune-ratio 0.1 removes nothing from resnet20: floor(0.1 x 9 blocks) = 0 blocks go; raise the ratio to at least 0.111');
    expect(tryAssert('resnet', 'block', 1 / 9 + 1e-9)).toBeNull();
  });

  it('slimming: floor(ratio x channels) = 0', () => {
    const total = prunableGroups(models.get('vgg')!.graph).reduce((n, g) => n + g.channels, 0);
    const e = tryAssert('vgg', 'slimming', 0.5 / total);
    expect(e!.message).toMatch(new RegExp(`floor\\(${0.5 / total} x ${total} channels\\) = 0 fall under the global threshold`));
  });

  it('channel ratios: the minimum-channels guard keeping every channel', () => {
    const e = tryAssert('vgg', 'l1', 0.5, 1000);
    expect(e!.message).toMatch(/removes nothing from vgg-tiny: the minimum-channels guard kept every channel of features\.0\.conv/);
  });

  it('magnitude: a ratio that rounds to no weight', () => {
    const convWeights = models.get('vgg')!.graph.nodes.reduce((n, x) => n + (x.kind === 'conv' ? x.kernel * x.kernel * x.inChannels * x.outChannels : 0), 0);
    expect(tryAssert('vgg', 'magnitude', 0.5 / convWeights)!.message).toMatch(/rounds to zero units/);
  });

  it('ratio 0 asks for nothing and is not refused', () => {
    expect(tryAssert('vgg', 'l1', 0)).toBeNull();
  });
});

describe('checkMethodApplies', () => {
  it('an unknown method names the known ones', () => {
    expect(() => checkMethodApplies(modelSpec('vgg16'), 'l3')).toThrow(`Unknown --method "l3"; expected one of ${PRUNE_METHODS.join(', ')}`);
  });
});

describe("Network Slimming's threshold rules", () => {
  /** Distinct |gamma|s, no layer emptied (each layer's channel 0 is the largest). */
  function distinctGammas(model: Model): number[] {
    const names = slimmingGammaParams(model);
    const all: number[] = [];
    names.forEach((name, l) => {
      const n = model.param(name).shape[0]!;
      const v = Array.from({ length: n }, (_, i) => (i === 0 ? 10_000 + l : 1 + all.length + i * 0.001 + l * 0.1));
      model.param(name).assign(tf.tensor1d(v));
      all.push(...v);
    });
    return all.sort((a, b) => a - b);
  }

  it('floor prunes floor(r x total) channels; reference keeps those above sorted[int(total x r)], one more; even r = 0 prunes one', () => {
    const model = Model.init(modelSpec('vgg19', { widthMultiplier: 1 / 16 }), 1);
    try {
      const sorted = distinctGammas(model);
      const total = sorted.length;
      for (const r of [0, 0.3, 0.5, 0.7]) {
        const floor = slimmingPlan(model, r);
        const reference = slimmingPlan(model, r, { thresholdRule: 'reference' });
        const kept = (p: typeof floor): number => Object.values(p.plan.groups).reduce((n, k) => n + k.length, 0);
        expect(floor.guardedLayers).toEqual([]);
        expect(reference.guardedLayers).toEqual([]);
        expect(total - kept(floor)).toBe(Math.floor(total * r));
        expect(total - kept(reference)).toBe(Math.floor(total * r) + 1);
        // The reference threshold is the value at 0-based index int(total x r), as vggprune.py takes it.
        expect(reference.threshold).toBe(Math.fround(sorted[Math.floor(total * r)]!));
        expect(reference.thresholdRule).toBe('reference');
        expect(floor.thresholdRule).toBe('floor');
      }
    } finally {
      model.dispose();
    }
  });

  it('an unknown rule is a ConfigError; a rule on another method is refused', () => {
    const model = models.get('vgg')!;
    expect(() => slimmingPlan(model, 0.5, { thresholdRule: 'median' as never })).toThrow(ConfigError);
    expect(() => pruneModel(model, { method: 'l1', ratio: 0.5, minChannels: 1, seed: 0, thresholdRule: 'reference' })).toThrow(/--threshold-rule applies to --method slimming, not l1/);
  });
});

describe('L1 ties', () => {
  it('equal filter norms keep the lower channel index (the reference code keeps the higher one)', () => {
    const model = Model.init(modelSpec('vgg-tiny', { input: INPUT }), 0);
    try {
      // features.0.conv: 16 filters; give filters 3 and 9 the same largest norm, the rest smaller.
      const w = model.param('features.0.conv.weight');
      const [kh, kw, cin, cout] = w.shape as [number, number, number, number];
      const v = new Float32Array(kh * kw * cin * cout);
      for (let i = 0; i < v.length; i++) {
        const o = i % cout;
        v[i] = o === 3 || o === 9 ? -2 : 0.01 * (o + 1);
      }
      w.assign(tf.tensor4d(v, w.shape as [number, number, number, number]));
      const r = pruneModel(model, { method: 'l1', ratio: 1 - 1 / 16 - 1e-9, minChannels: 1, seed: 0 });
      try {
        if (r.kind !== 'channels') throw new Error('expected a channel plan');
        expect(r.plan.groups['features.0.conv']).toEqual([3]);
      } finally {
        r.model.dispose();
      }
    } finally {
      model.dispose();
    }
  });
});
