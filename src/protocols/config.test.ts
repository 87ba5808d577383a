import { beforeAll, describe, expect, it } from 'vitest';
import { EXPERIMENTS } from '../../experiments/index.ts';
import { countSpec } from '../metrics/index.ts';
import { modelSpec, type VggSpec } from '../models/index.ts';
import { useCpuBackend } from '../testing/tf.ts';
import { ConfigError } from '../util/errors.ts';
import { expandCells, matchesGlob, selectCells, type Cell } from './cells.ts';
import { BASELINE_PHASE, FINETUNE_PHASE, PRESETS, type ExperimentConfig } from './config.ts';
import { applyOverrides, validateConfig } from './validate.ts';
import { arm, RETHINKING_PROTOCOLS, SMOKE_PRESET } from './define.ts';
import { uniformSpecMatchingParams } from './steps.ts';

/** A config with two arms sharing vgg16, one on resnet56 and one sparsity (slimming) arm on vgg19. */
function mixedConfig(seeds: number[]): ExperimentConfig {
  return {
    experiment: 'test-mixed',
    preset: 'smoke',
    description: 'test',
    data: structuredClone(SMOKE_PRESET.data),
    widthMultiplier: 1 / 16,
    baseline: { ...BASELINE_PHASE, epochs: 1 },
    fineTune: { ...FINETUNE_PHASE, epochs: 1 },
    sparsityLambda: { vgg: 1e-4, other: 1e-5 },
    seeds,
    arms: [
      arm({ id: 'vgg16-A', model: 'vgg16', method: 'l1', profile: 'A', pruneRatio: 0, protocols: RETHINKING_PROTOCOLS }),
      arm({ id: 'vgg16-l2-50', model: 'vgg16', method: 'l2', pruneRatio: 0.5, protocols: ['fine-tune'] }),
      arm({ id: 'resnet56-B', model: 'resnet56', method: 'l1', profile: 'B', pruneRatio: 0, protocols: ['scratch-E', 'lottery-ticket'] }),
      arm({ id: 'vgg19-70', model: 'vgg19', method: 'slimming', pruneRatio: 0.7, protocols: ['fine-tune', 'uniform-scratch'] }),
    ],
  };
}

/** Cells the expansion must produce, counted from the config alone. */
function expectedCounts(c: ExperimentConfig): { baseline: number; sparsity: number; prune: number; after: number } {
  const models = new Set(c.arms.map((a) => a.model));
  const sparseModels = new Set(c.arms.filter((a) => a.sparsity).map((a) => a.model));
  return {
    baseline: models.size * c.seeds.length,
    sparsity: sparseModels.size * c.seeds.length,
    prune: c.arms.length * c.seeds.length,
    after: c.arms.reduce((n, a) => n + a.protocols.length, 0) * c.seeds.length,
  };
}

function byId(cells: Cell[]): Map<string, Cell> {
  return new Map(cells.map((c) => [c.id, c]));
}

describe('expandCells', () => {
  it('shares one baseline per (model, seed) between arms and makes one prune cell per (arm, seed)', () => {
    const config = mixedConfig([1, 2]);
    const cells = expandCells(config);
    const want = expectedCounts(config);
    const count = (p: string): number => cells.filter((c) => c.protocol === p).length;
    expect(count('baseline')).toBe(want.baseline);
    expect(count('sparsity-train')).toBe(want.sparsity);
    expect(count('prune')).toBe(want.prune);
    expect(cells.filter((c) => !['baseline', 'sparsity-train', 'prune'].includes(c.protocol)).length).toBe(want.after);
    expect(cells.length).toBe(want.baseline + want.sparsity + want.prune + want.after);
    // Ids are unique.
    expect(new Set(cells.map((c) => c.id)).size).toBe(cells.length);

    const m = byId(cells);
    for (const seed of [1, 2]) {
      // Both vgg16 arms prune the same trained baseline.
      expect(m.get(`prune:vgg16-A:s${seed}`)!.dependsOn).toEqual([`baseline:vgg16:s${seed}`]);
      expect(m.get(`prune:vgg16-l2-50:s${seed}`)!.dependsOn).toEqual([`baseline:vgg16:s${seed}`]);
      expect(m.get(`prune:resnet56-B:s${seed}`)!.dependsOn).toEqual([`baseline:resnet56:s${seed}`]);
      expect(m.get(`fine-tune:vgg16-A:s${seed}`)).toMatchObject({ stage: 2, dependsOn: [`prune:vgg16-A:s${seed}`, `baseline:vgg16:s${seed}`], seed, model: 'vgg16', arm: 'vgg16-A', sparsity: false });
      // A profile fixes the pruned architecture before training: Scratch-E/B wait for nothing.
      for (const p of ['scratch-E', 'scratch-B'] as const) {
        expect(m.get(`${p}:vgg16-A:s${seed}`)).toMatchObject({ stage: 0, protocol: p, dependsOn: [], seed, model: 'vgg16', arm: 'vgg16-A', sparsity: false });
      }
      expect(m.get(`scratch-E:resnet56-B:s${seed}`)!.dependsOn).toEqual([]);
      // Lottery tickets depend on the baseline (its initial weights) as well as on the prune cell.
      expect(m.get(`lottery-ticket:resnet56-B:s${seed}`)!.dependsOn).toEqual([`prune:resnet56-B:s${seed}`, `baseline:resnet56:s${seed}`]);
    }
  });

  it('a sparsity arm adds a sparsity-train cell for its prune cell and still an unpruned baseline', () => {
    const cells = expandCells(mixedConfig([3]));
    const m = byId(cells);
    expect(m.get('sparsity-train:vgg19:s3')).toMatchObject({ stage: 0, protocol: 'sparsity-train', sparsity: true, dependsOn: [] });
    expect(m.get('baseline:vgg19:s3')).toMatchObject({ stage: 0, protocol: 'baseline', sparsity: false, dependsOn: [] });
    expect(m.get('prune:vgg19-70:s3')!.dependsOn).toEqual(['sparsity-train:vgg19:s3']);
    expect(m.get('fine-tune:vgg19-70:s3')!.dependsOn).toEqual(['prune:vgg19-70:s3', 'sparsity-train:vgg19:s3']);
    // No sparsity-train cell for models whose arms train without the penalty.
    expect(cells.filter((c) => c.protocol === 'sparsity-train').map((c) => c.model)).toEqual(['vgg19']);
  });

  it('Scratch-E/B of automatic ratios and weight masks wait for the prune cell: their architecture follows the trained weights', () => {
    const config = mixedConfig([1]);
    config.arms = [
      arm({ id: 'vgg19-70', model: 'vgg19', method: 'slimming', pruneRatio: 0.7, protocols: ['scratch-E', 'scratch-B'] }),
      arm({ id: 'vgg19-w30', model: 'vgg19', method: 'magnitude', pruneRatio: 0.3, protocols: ['scratch-E', 'scratch-B'] }),
      arm({ id: 'resnet56-blocks', model: 'resnet56', method: 'block', pruneRatio: 0.2, protocols: ['scratch-B'] }),
    ];
    const m = byId(expandCells(config));
    expect(m.get('scratch-E:vgg19-70:s1')).toMatchObject({ stage: 2, dependsOn: ['prune:vgg19-70:s1', 'sparsity-train:vgg19:s1'] });
    expect(m.get('scratch-B:vgg19-w30:s1')).toMatchObject({ stage: 2, dependsOn: ['prune:vgg19-w30:s1', 'baseline:vgg19:s1'] });
    expect(m.get('scratch-B:resnet56-blocks:s1')).toMatchObject({ stage: 2, dependsOn: ['prune:resnet56-blocks:s1', 'baseline:resnet56:s1'] });
  });

  it('orders cells by stage; a stage is one more than its highest dependency; every dependency is an earlier cell', () => {
    const cells = expandCells(mixedConfig([1, 2]));
    const position = new Map(cells.map((c, i) => [c.id, i]));
    cells.forEach((c, i) => {
      expect(c.stage).toBe(c.dependsOn.length === 0 ? 0 : 1 + Math.max(...c.dependsOn.map((d) => cells[position.get(d)!]!.stage)));
      if (i > 0) expect(c.stage).toBeGreaterThanOrEqual(cells[i - 1]!.stage);
      for (const d of c.dependsOn) {
        expect(position.get(d), `${c.id} depends on ${d}`).toBeLessThan(i);
        expect(cells[position.get(d)!]!.stage).toBeLessThan(c.stage);
        expect(cells[position.get(d)!]!.seed).toBe(c.seed);
      }
    });
  });

  it('a gradual cell starts from the baseline: it depends on the baseline cell alone, not on the prune cell', () => {
    const config = mixedConfig([1]);
    config.arms = [
      arm({ id: 'vgg16-l1-50', model: 'vgg16', method: 'l1', pruneRatio: 0.5, protocols: ['fine-tune', 'gradual'] }),
      arm({ id: 'vgg19-w80', model: 'vgg19', method: 'magnitude', pruneRatio: 0.8, protocols: ['gradual'] }),
    ];
    const m = byId(expandCells(config));
    expect(m.get('gradual:vgg16-l1-50:s1')).toMatchObject({ stage: 1, protocol: 'gradual', dependsOn: ['baseline:vgg16:s1'] });
    expect(m.get('gradual:vgg19-w80:s1')).toMatchObject({ stage: 1, dependsOn: ['baseline:vgg19:s1'] });
    expect(m.get('fine-tune:vgg16-l1-50:s1')!.dependsOn).toContain('prune:vgg16-l1-50:s1');
  });

  it('gradual arms: methods outside GRADUAL_METHODS and bad schedule options are refused, naming the key', () => {
    const config = mixedConfig([1]);
    config.arms = [arm({ id: 'vgg19-70', model: 'vgg19', method: 'slimming', pruneRatio: 0.7, protocols: ['gradual'] })];
    expect(() => validateConfig(config)).toThrow(/arms\.0 \(vgg19-70\): the gradual protocol prunes by magnitude, vector, l1, l2, random; slimming/);
    config.arms = [arm({ id: 'w', model: 'vgg19', method: 'magnitude', pruneRatio: 0.5, protocols: ['gradual'], gradual: { endFraction: 1.5 } })];
    expect(() => validateConfig(config)).toThrow(/arms\.0\.gradual\.endFraction in \(0, 1\]/);
    config.arms = [arm({ id: 'w', model: 'vgg19', method: 'magnitude', pruneRatio: 0.5, protocols: ['gradual'], gradual: { initialSparsity: 0.6 } })];
    expect(() => validateConfig(config)).toThrow(/arms\.0\.gradual\.initialSparsity in \[0, 0\.5\]/);
    config.arms = [arm({ id: 'w', model: 'vgg19', method: 'magnitude', pruneRatio: 0.5, protocols: ['fine-tune'], gradual: { updates: 5 } })];
    expect(() => validateConfig(config)).toThrow(/arms\.0\.gradual applies to arms that list the gradual protocol/);
    config.arms = [arm({ id: 'w', model: 'vgg19', method: 'magnitude', pruneRatio: 0.5, protocols: ['gradual'], gradual: { updates: 5, endFraction: 0.5 } })];
    expect(() => validateConfig(config)).not.toThrow();
    // --set reaches the optional options; unknown ones and bad values are named.
    const set = applyOverrides(config, ['arms.0.gradual.updates=8', 'arms.0.gradual.initialSparsity=0.1']);
    expect(set.arms[0]!.gradual).toEqual({ updates: 8, endFraction: 0.5, initialSparsity: 0.1 });
    expect(() => applyOverrides(config, ['arms.0.gradual.speed=2'])).toThrow(/gradual options: updates, endFraction, initialSparsity/);
    expect(() => applyOverrides(config, ['arms.0.gradual.updates=1.5'])).toThrow(/arms\.0\.gradual\.updates to be a positive integer/);
    expect(() => applyOverrides(config, ['arms.3.gradual.updates=2'])).toThrow(/no arm 3/);
  });

  it('rejects two arms with one id and an arm listing a protocol that runs anyway', () => {
    const dup = mixedConfig([1]);
    dup.arms.push({ ...dup.arms[0]! });
    expect(() => expandCells(dup)).toThrow(/share the id vgg16-A/);
    const listsPrune = mixedConfig([1]);
    listsPrune.arms[1] = { ...listsPrune.arms[1]!, protocols: ['prune'] };
    expect(() => expandCells(listsPrune)).toThrow(ConfigError);
  });
});

describe('selectCells (--only)', () => {
  const cells = expandCells(mixedConfig([1, 2]));

  it('no filter keeps every cell', () => {
    expect(selectCells(cells, undefined)).toEqual(cells);
    expect(selectCells(cells, [])).toEqual(cells);
  });

  it('pulls in the dependencies of the chosen cells, and nothing else', () => {
    const picked = selectCells(cells, ['fine-tune:vgg16-A:s2']).map((c) => c.id);
    expect(picked.sort()).toEqual(['baseline:vgg16:s2', 'prune:vgg16-A:s2', 'fine-tune:vgg16-A:s2'].sort());
    expect(selectCells(cells, ['scratch-B:vgg16-A:s2']).map((c) => c.id)).toEqual(['scratch-B:vgg16-A:s2']);

    const fine = selectCells(cells, ['fine-tune:*']);
    const want = new Set<string>();
    for (const c of cells.filter((x) => x.protocol === 'fine-tune')) {
      want.add(c.id);
      for (const d of c.dependsOn) {
        want.add(d);
        for (const dd of cells.find((x) => x.id === d)!.dependsOn) want.add(dd);
      }
    }
    expect(new Set(fine.map((c) => c.id))).toEqual(want);
    // The result keeps the stage order of the full list.
    expect(fine.map((c) => c.id)).toEqual(cells.filter((c) => want.has(c.id)).map((c) => c.id));
  });

  it('several globs are a union', () => {
    const a = selectCells(cells, ['baseline:resnet56:*']).map((c) => c.id);
    expect(a).toEqual(['baseline:resnet56:s1', 'baseline:resnet56:s2']);
    const b = selectCells(cells, ['baseline:resnet56:s1', 'prune:vgg19-70:s2']).map((c) => c.id);
    expect(b).toEqual(['baseline:resnet56:s1', 'sparsity-train:vgg19:s2', 'prune:vgg19-70:s2']);
  });

  it('a glob that matches nothing is a ConfigError naming --only', () => {
    let err: unknown;
    try {
      selectCells(cells, ['fine-tune:nope:*']);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).key).toBe('only');
    expect((err as Error).message).toMatch(/--only fine-tune:nope:\* matches no cell/);
  });

  it('matchesGlob treats only * as a wildcard', () => {
    expect(matchesGlob('prune:vgg16-A:s1', 'prune:*:s1')).toBe(true);
    expect(matchesGlob('prune:vgg16-A:s1', 'prune:vgg16-A:s')).toBe(false);
    expect(matchesGlob('prune:vgg16-A:s1', 'prune.vgg16-A.s1')).toBe(false);
    expect(matchesGlob('a.b', 'a.b')).toBe(true);
    expect(matchesGlob('a(b)+', 'a(b)+')).toBe(true);
  });
});

describe('applyOverrides and validateConfig', () => {
  const base = (): ExperimentConfig => mixedConfig([1]);

  it('sets numbers, number lists, booleans and nested array entries; leaves the input alone', () => {
    const c = base();
    const next = applyOverrides(c, ['baseline.epochs=7', 'seeds=4, 5', 'data.trainSubset=100', 'baseline.augment=false', 'arms.1.pruneRatio=0.25', 'widthMultiplier=0.5']);
    expect(next.baseline.epochs).toBe(7);
    expect(next.seeds).toEqual([4, 5]);
    expect(next.data.trainSubset).toBe(100);
    expect(next.baseline.augment).toBe(false);
    expect(next.arms[1]!.pruneRatio).toBe(0.25);
    expect(next.widthMultiplier).toBe(0.5);
    expect(c.baseline.epochs).toBe(1);
    expect(c.seeds).toEqual([1]);
    expect(c.arms[1]!.pruneRatio).toBe(0.5);
  });

  const keyOf = (f: () => unknown): { key: string | undefined; message: string } => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return { key: (e as ConfigError).key, message: (e as Error).message };
    }
    throw new Error('expected a ConfigError');
  };

  it('bad overrides are ConfigErrors naming the key', () => {
    expect(keyOf(() => applyOverrides(base(), ['nope=1']))).toMatchObject({ key: 'nope', message: expect.stringMatching(/Unknown config key "nope"/) });
    expect(keyOf(() => applyOverrides(base(), ['baseline.nope=1']))).toMatchObject({ key: 'baseline.nope' });
    expect(keyOf(() => applyOverrides(base(), ['nope.deeper=1']))).toMatchObject({ key: 'nope.deeper' });
    expect(keyOf(() => applyOverrides(base(), ['baseline.epochs=abc']))).toMatchObject({ key: 'baseline.epochs', message: expect.stringMatching(/expected a number, got "abc"/) });
    expect(keyOf(() => applyOverrides(base(), ['seeds=x']))).toMatchObject({ key: 'seeds' });
    expect(keyOf(() => applyOverrides(base(), ['baseline.augment=yes']))).toMatchObject({ key: 'baseline.augment' });
    expect(keyOf(() => applyOverrides(base(), ['baseline=1']))).toMatchObject({ key: 'baseline' });
    expect(keyOf(() => applyOverrides(base(), ['noequals']))).toMatchObject({ key: 'noequals' });
    // Parses, but validation refuses it, naming the key.
    expect(keyOf(() => applyOverrides(base(), ['arms.0.pruneRatio=1.5']))).toMatchObject({ key: 'arms.0.pruneRatio' });
    expect(keyOf(() => applyOverrides(base(), ['baseline.epochs=2.5']))).toMatchObject({ key: 'baseline.epochs' });
    expect(keyOf(() => applyOverrides(base(), ['seeds=-1']))).toMatchObject({ key: 'seeds' });
  });

  it('validateConfig names the offending key', () => {
    const cases: [(c: ExperimentConfig) => void, string][] = [
      [(c) => (c.baseline.epochs = -1), 'baseline.epochs'],
      [(c) => (c.fineTune.batchSize = 0), 'fineTune.batchSize'],
      [(c) => (c.baseline.lr = 0), 'baseline.lr'],
      [(c) => (c.data.testSubset = 1.5), 'data.testSubset'],
      [(c) => ((c.data as { dataset: string }).dataset = 'mnist'), 'data.dataset'],
      [(c) => (c.widthMultiplier = 0), 'widthMultiplier'],
      [(c) => (c.seeds = []), 'seeds'],
      [(c) => (c.arms[2]!.pruneRatio = 1), 'arms.2.pruneRatio'],
    ];
    for (const [mutate, key] of cases) {
      const c = base();
      mutate(c);
      expect(keyOf(() => validateConfig(c)).key).toBe(key);
    }
    expect(() => validateConfig(base())).not.toThrow();
  });

  it('--set arms.N.thresholdRule: optional, set on a slimming arm only, to floor or reference', () => {
    const slim = base().arms.findIndex((a) => a.method === 'slimming');
    expect(base().arms[slim]!.thresholdRule).toBeUndefined();
    const c = applyOverrides(base(), [`arms.${slim}.thresholdRule=reference`]);
    expect(c.arms[slim]!.thresholdRule).toBe('reference');
    expect(keyOf(() => applyOverrides(base(), [`arms.${slim}.thresholdRule=median`]))).toMatchObject({ key: `arms.${slim}.thresholdRule`, message: `--set arms.${slim}.thresholdRule: expected one of floor, reference, got "median"` });
    expect(keyOf(() => applyOverrides(base(), ['arms.0.thresholdRule=reference']))).toMatchObject({ key: 'arms.0.thresholdRule', message: 'arms.0.thresholdRule applies to slimming arms; arm vgg16-A uses l1' });
    // Other absent arm fields stay unknown keys.
    expect(keyOf(() => applyOverrides(base(), ['arms.0.bogus=1']))).toMatchObject({ key: 'arms.0.bogus' });
  });

  it('an arm whose method cannot act on its model is refused when the config is resolved, before anything runs', () => {
    const e = keyOf(() => applyOverrides(base(), ['arms.0.method=block']));
    expect(e.key).toBe('arms.0.method');
    expect(e.message).toMatch(/^arms\.0 \(vgg16-A\): --method block cannot prune vgg16 \(a vgg\): block removal needs residual blocks/);
    expect(keyOf(() => applyOverrides(base(), ['arms.0.model=vgg17']))).toMatchObject({ key: 'arms.0.model' });
    // vgg16-A's profile on another model.
    expect(keyOf(() => applyOverrides(base(), ['arms.0.model=vgg19']))).toMatchObject({ key: 'arms.0.profile', message: 'arms.0 (vgg16-A): No profile "A" for model vgg19; profiles exist for vgg16, resnet56, resnet110' });
  });
});

describe('declared experiments', () => {
  it('has unique names', () => {
    expect(new Set(EXPERIMENTS.map((e) => e.name)).size).toBe(EXPERIMENTS.length);
  });

  for (const e of EXPERIMENTS) {
    it(`${e.name}: every preset validates and expands to the cells its arms imply`, () => {
      for (const p of PRESETS) {
        const c = e.presets[p];
        expect(c.experiment).toBe(e.name);
        expect(c.preset).toBe(p);
        expect(c.arms.length).toBeGreaterThan(0);
        expect(() => validateConfig(c)).not.toThrow();
        for (const a of c.arms) expect(() => modelSpec(a.model)).not.toThrow();
        const cells = expandCells(c);
        const want = expectedCounts(c);
        expect(cells.length, `${e.name}/${p}`).toBe(want.baseline + want.sparsity + want.prune + want.after);
        // Every dependency is part of the expansion.
        const ids = new Set(cells.map((x) => x.id));
        for (const x of cells) for (const d of x.dependsOn) expect(ids.has(d)).toBe(true);
      }
      // Smoke runs in seconds: synthetic data, one epoch.
      expect(e.presets.smoke.data.dataset).toBe('synthetic');
      expect(e.presets.smoke.baseline.epochs).toBe(1);
      expect(e.presets.paper.widthMultiplier).toBe(1);
    });
  }
});

describe('uniformSpecMatchingParams', () => {
  beforeAll(useCpuBackend);

  it('finds a uniform vgg19 within 2% of a target parameter count, every layer at floor(C x (1 - ratio))', () => {
    const full = modelSpec('vgg19') as VggSpec;
    // A non-uniform target: the later, wider layers cut harder, as Network Slimming does on VGG-19.
    const target: VggSpec = { ...full, cfg: full.cfg.map((c, i) => (c === 'M' ? c : i > 8 ? Math.round(c * 0.3) : c)) };
    const targetParams = countSpec(target).params;
    const { spec, ratio } = uniformSpecMatchingParams(full, targetParams);
    const got = countSpec(spec).params;
    expect(Math.abs(got - targetParams) / targetParams).toBeLessThan(0.02);
    expect(ratio).toBeGreaterThan(0);
    expect(ratio).toBeLessThan(1);
    const cfg = (spec as VggSpec).cfg;
    expect(cfg.length).toBe(full.cfg.length);
    cfg.forEach((c, i) => {
      const orig = full.cfg[i]!;
      expect(c).toBe(orig === 'M' ? 'M' : Math.max(1, Math.floor(orig * (1 - ratio))));
    });
    // The spec differs from the target, whose widths are not uniform.
    expect(cfg).not.toEqual(target.cfg);
  });
});

describe('arms with a scope and an exact budget', () => {
  const keyOf = (f: () => unknown): string | undefined => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as ConfigError).key;
    }
    throw new Error('expected a ConfigError');
  };

  it('--set arms.N.scope / target / maxLayerRatio / globalNorm, and arm() takes the same fields', () => {
    const next = applyOverrides(mixedConfig([1]), ['arms.1.pruneRatio=0', 'arms.1.scope=global', 'arms.1.target=speedup:2', 'arms.1.maxLayerRatio=0.8', 'arms.1.globalNorm=max']);
    expect(next.arms[1]).toMatchObject({ scope: 'global', target: { kind: 'speedup', value: 2 }, maxLayerRatio: 0.8, globalNorm: 'max' });
    const a = arm({ id: 'bn-global-2x', model: 'vgg16', method: 'channel', criterion: 'bn-gamma', scope: 'global', target: { kind: 'compression', value: 4 }, pruneRatio: 0, protocols: ['fine-tune'] });
    expect(a).toMatchObject({ method: 'channel', criterion: 'bn-gamma', granularity: 'channel', scope: 'global', target: { kind: 'compression', value: 4 } });
    expect(() => validateConfig({ ...mixedConfig([1]), arms: [a] })).not.toThrow();
  });

  it('bad values are ConfigErrors naming the arm key', () => {
    expect(keyOf(() => applyOverrides(mixedConfig([1]), ['arms.1.target=speedup:2']))).toBe('arms.1.target'); // pruneRatio still 0.5
    expect(keyOf(() => applyOverrides(mixedConfig([1]), ['arms.1.pruneRatio=0', 'arms.1.target=fast:2']))).toBe('arms.1.target');
    expect(keyOf(() => applyOverrides(mixedConfig([1]), ['arms.1.pruneRatio=0', 'arms.1.target=speedup:0.5']))).toBe('arms.1.target');
    expect(keyOf(() => applyOverrides(mixedConfig([1]), ['arms.1.scope=local']))).toBe('arms.1.scope');
    expect(keyOf(() => applyOverrides(mixedConfig([1]), ['arms.1.maxLayerRatio=0']))).toBe('arms.1.maxLayerRatio');
    const noCriterion = arm({ id: 'c', model: 'vgg16', method: 'channel', pruneRatio: 0.5, protocols: ['fine-tune'] });
    expect(keyOf(() => validateConfig({ ...mixedConfig([1]), arms: [noCriterion] }))).toBe('arms.0.criterion');
  });
});

describe('latencyRuntimes', () => {
  it('granularity lists onednn, wasm and ONNX Runtime in every preset; an unknown runtime is refused naming the key; it leaves baseline hashes alone', async () => {
    const { baselineHash } = await import('./baseline-key.ts');
    const granularity = EXPERIMENTS.find((e) => e.name === 'granularity')!;
    for (const p of PRESETS) expect(granularity.presets[p].latencyRuntimes).toEqual(['onednn', 'wasm', 'ort']);
    const config = mixedConfig([1]);
    const listed = applyOverrides({ ...config, latencyRuntimes: ['ort'] }, ['latencyRuntimes=wasm,ort']);
    expect(listed.latencyRuntimes).toEqual(['wasm', 'ort']);
    validateConfig(listed);
    expect(baselineHash(listed, 'vgg16', false, 1)).toBe(baselineHash(config, 'vgg16', false, 1));
    expect(() => validateConfig(applyOverrides(listed, ['latencyRuntimes=wasm,tensorrt']))).toThrow(/Unknown latencyRuntimes entry "tensorrt"; expected some of onednn, wasm, ort/);
  });
});
