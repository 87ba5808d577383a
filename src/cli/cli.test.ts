import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/index.ts';
import { syntheticDataset } from '../data/index.ts';
import { countSpec } from '../metrics/index.ts';
import { decodeNamedWeights, loadModel, Model, MODEL_NAMES, modelSpec, saveModel, type ModelSpec, type ResNetSpec, type VggSpec } from '../models/index.ts';
import { findProfile, prunableGroups } from '../pruning/index.ts';
import { DEFAULT_TRAIN_CONFIG, trainModel, type TrainData } from '../train/index.ts';
import { ConfigError, PrunebenchError } from '../util/errors.ts';
import { silentLogger } from '../util/log.ts';
import { BIN, REPO_ROOT } from '../run/index.ts';
import { COMMANDS, main } from './main.ts';
import { thrownError } from '../testing/errors.ts';

// ------------------------------------------------------------------------------------------------
// Helpers

async function cli(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

/** The error a command throws (it must throw one). */
const cliError = (argv: string[]): Promise<PrunebenchError> => thrownError(() => cli(argv), argv.join(' '));

async function readJson<T = Record<string, unknown>>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

function values(model: Model, name: string): { v: Float32Array; shape: number[] } {
  const p = model.param(name);
  return { v: p.dataSync() as Float32Array, shape: p.shape };
}

/** Per-output-channel norm of a conv weight stored [kh, kw, cin, cout]. */
function filterNorms(model: Model, conv: string, p: 1 | 2): number[] {
  const { v, shape } = values(model, `${conv}.weight`);
  const cout = shape[3]!;
  const n = new Array<number>(cout).fill(0);
  for (let i = 0; i < v.length; i++) n[i % cout] += p === 1 ? Math.abs(v[i]!) : v[i]! * v[i]!;
  return n;
}

/** Indices of the k largest scores, in ascending index order. */
function topIndices(scores: number[], k: number): number[] {
  return scores
    .map((s, i) => ({ s, i }))
    .sort((a, b) => b.s - a.s || a.i - b.i)
    .slice(0, k)
    .map((x) => x.i)
    .sort((a, b) => a - b);
}

function convWidths(spec: ModelSpec): number[] {
  return (spec as VggSpec).cfg.filter((c): c is number => c !== 'M');
}

// ------------------------------------------------------------------------------------------------
// Trained tiny models (one epoch on synthetic data): pruning criteria then see trained weights.

let tmp: string;
let vggDir: string;
let resnetDir: string;
let vgg: Model;
let resnet: Model;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'prunebench-cli-'));
  await initBackend({ backend: 'wasm', logger: silentLogger });
  const ds = syntheticDataset({ numClasses: 10, trainCount: 64, testCount: 20, seed: 0 });
  const data: TrainData = { train: ds.train, test: ds.test, shape: { h: ds.height, w: ds.width, c: ds.channels }, mean: ds.mean, std: ds.std };
  const cfg = { ...DEFAULT_TRAIN_CONFIG, epochs: 1, batchSize: 16, lr: 0.05, schedule: { kind: 'constant' as const }, augment: false, seed: 1 };
  vggDir = join(tmp, 'vgg16-trained');
  resnetDir = join(tmp, 'resnet20-trained');
  const v = Model.init(modelSpec('vgg16', { widthMultiplier: 1 / 16 }), 1);
  await trainModel(v, data, cfg, { logger: silentLogger, progressStream: null });
  await saveModel(vggDir, v);
  v.dispose();
  const r = Model.init(modelSpec('resnet20', { widthMultiplier: 1 / 4 }), 2);
  await trainModel(r, data, cfg, { logger: silentLogger, progressStream: null });
  await saveModel(resnetDir, r);
  r.dispose();
  vgg = await loadModel(vggDir);
  resnet = await loadModel(resnetDir);
});

afterAll(async () => {
  vgg?.dispose();
  resnet?.dispose();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

// ------------------------------------------------------------------------------------------------

describe('inspect', () => {
  it('inspect vgg16 --json prints one JSON object with the published counts', async () => {
    const r = await cli(['inspect', 'vgg16', '--json']);
    expect(r.code).toBe(0);
    expect(r.out).toHaveLength(1);
    const j = JSON.parse(r.out[0]!) as { model: string; params: number; paramsWithoutBn: number; macs: number; flops: number; layers: { macs: number; params: number }[] };
    const c = countSpec(modelSpec('vgg16'));
    expect(j).toMatchObject({ model: 'vgg16', params: c.params, paramsWithoutBn: c.paramsWithoutBn, macs: c.macs, flops: c.flops });
    // Li et al. Table 1: 3.13e8 FLOPs (their "FLOPs" are MACs), 1.5e7 parameters.
    expect(j.macs / 1e8).toBeCloseTo(3.13, 2);
    expect(j.params / 1e7).toBeCloseTo(1.5, 1);
    expect(j.flops).toBe(2 * j.macs);
    // The totals are the sums of the per-layer rows.
    expect(j.layers.reduce((n, l) => n + l.macs, 0)).toBe(j.macs);
    expect(j.layers.reduce((n, l) => n + l.params, 0)).toBe(j.params);
  });

  it('--cfg with the VGG-16-A widths gives 2.06e8 MACs and 5.4e6 params', async () => {
    const cfgA = [32, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 256, 256, 256, 'M', 256, 256, 256];
    const r = await cli(['inspect', 'vgg16', '--cfg', JSON.stringify(cfgA), '--json']);
    const j = JSON.parse(r.out[0]!) as { macs: number; params: number };
    expect(j.macs / 1e8).toBeCloseTo(2.06, 2);
    expect(j.params / 1e6).toBeCloseTo(5.4, 1);
    expect(j.macs).toBe(countSpec({ ...(modelSpec('vgg16') as VggSpec), cfg: cfgA as VggSpec['cfg'] }).macs);
  });

  it('inspect resnet56 --json: 1.25e8 MACs; a --cfg of block widths changes only those convs', async () => {
    const j = JSON.parse((await cli(['inspect', 'resnet56', '--json'])).out[0]!) as { macs: number; params: number };
    expect(j.macs / 1e8).toBeCloseTo(1.25, 2);
    expect(j.params / 1e6).toBeCloseTo(0.85, 2);
    // Halving the first conv of every block halves the MACs of both its convs (conv1 produces,
    // conv2 consumes those channels); stem, shortcuts (option A: no MACs) and linear stay.
    const widths = [...Array(9).fill(8), ...Array(9).fill(16), ...Array(9).fill(32)];
    const h = JSON.parse((await cli(['inspect', 'resnet56', '--cfg', JSON.stringify(widths), '--json'])).out[0]!) as { macs: number };
    const conv3x3 = (cin: number, cout: number, hw: number): number => 9 * cin * cout * hw;
    let blockMacs = 0;
    for (const [cin, w, hw] of [[16, 16, 32 * 32], [16, 32, 16 * 16], [32, 64, 8 * 8]] as const) {
      for (let b = 0; b < 9; b++) blockMacs += conv3x3(b === 0 ? cin : w, w, hw) + conv3x3(w, w, hw);
    }
    expect(j.macs - h.macs).toBe(blockMacs / 2);
  });

  it('--dataset cifar100 adds 90 classes to the last linear layer (90 x 513 params for vgg16)', async () => {
    const a = JSON.parse((await cli(['inspect', 'vgg16', '--json'])).out[0]!) as { params: number };
    const b = JSON.parse((await cli(['inspect', 'vgg16', '--dataset', 'cifar100', '--json'])).out[0]!) as { params: number };
    expect(b.params - a.params).toBe(90 * 513);
  });

  it('the table ends with the totals', async () => {
    const r = await cli(['inspect', 'vgg-tiny']);
    const c = countSpec(modelSpec('vgg-tiny'));
    expect(r.out.some((l) => l.startsWith(`vgg-tiny: params ${c.params} `))).toBe(true);
    expect(r.out.some((l) => l.startsWith(`MACs ${c.macs} `))).toBe(true);
    // One row per counted layer, plus header, blank line and two totals.
    expect(r.out).toHaveLength(c.layers.length + 4);
  });

  it('bad --cfg, unknown or missing model: ConfigErrors naming the flag or the model', async () => {
    const bad = await cliError(['inspect', 'vgg16', '--cfg', '[1,2']);
    expect(bad).toBeInstanceOf(ConfigError);
    expect((bad as ConfigError).key).toBe('cfg');
    expect(bad.message).toBe('--cfg is not valid JSON: [1,2');
    const notList = await cliError(['inspect', 'vgg16', '--cfg', '{"a":1}']);
    expect(notList).toMatchObject({ key: 'cfg', message: '--cfg expects a JSON list' });
    const short = await cliError(['inspect', 'resnet56', '--cfg', '[1,2,3]']);
    expect(short).toMatchObject({ key: 'cfg' });
    expect(short.message).toMatch(/needs 27 block widths, got 3/);
    expect(await cliError(['inspect', 'densenet40', '--cfg', '[1]'])).toMatchObject({ key: 'cfg' });
    const unknown = await cliError(['inspect', 'vgg17']);
    expect(unknown).toBeInstanceOf(ConfigError);
    expect((unknown as ConfigError).key).toBe('model');
    expect(unknown.message).toMatch(/Unknown model "vgg17"; expected one of vgg16, vgg19/);
    expect(await cliError(['inspect'])).toMatchObject({ key: 'model' });
    const width = await cliError(['inspect', 'vgg16', '--width', 'abc']);
    expect(width).toMatchObject({ key: 'width', message: '--width expects a number, got "abc"' });
  });

  it('the real CLI prints one error line and exits 2, without a stack trace', async () => {
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [BIN, 'inspect', 'vgg16', '--cfg', '[1,2'], { cwd: REPO_ROOT }, (e, stdout, stderr) => {
        resolve({ code: e ? ((e as { code?: number }).code ?? null) : 0, stdout, stderr });
      });
    });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe('error: --cfg is not valid JSON: [1,2');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('models, help', () => {
  it('models lists every architecture with its parameter and MAC count', async () => {
    const r = await cli(['models']);
    expect(r.code).toBe(0);
    expect(r.out).toHaveLength(MODEL_NAMES.length);
    MODEL_NAMES.forEach((name, i) => {
      const c = countSpec(modelSpec(name));
      const line = r.out[i]!;
      expect(line.split(/\s+/)[0]).toBe(name);
      expect(line).toContain(`${(c.params / 1e6).toFixed(2)}M params`);
      expect(line).toContain(`${(c.macs / 1e6).toFixed(1)}M MACs`);
    });
  });

  it('list: every preset with its cells and epochs; an estimate only for the presets benched; bad names are refused', async () => {
    const r = await cli(['list', 'rethinking-l1', '--no-estimate', '--backend', 'cpu']);
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(/^rethinking-l1: /);
    const cpu = r.out.find((l) => l.trim().startsWith('cpu'))!;
    // 2 arms x 3 seeds: 2 baselines, 2 prunes, 6 fine-tune/scratch cells per seed.
    expect(cpu).toMatch(/ 30 cells, \d+ epochs \(vgg16-A, resnet56-B; seeds 1,2,3; 50000 train images; vgg16 x0.25, resnet56 x0.5\)/);
    expect(r.out.join('\n')).not.toMatch(/1 job/);
    const timed = await cli(['list', 'quickstart', '--preset', 'smoke', '--backend', 'cpu']);
    expect(timed.out[0]).toMatch(/^wall-time estimates on cpu/);
    const jobs = cpus().length > 1 ? `, ${cpus().length} jobs \\d+ s` : '';
    expect(timed.out.find((l) => l.trim().startsWith('smoke'))).toMatch(new RegExp(`1 job \\d+ s${jobs}, critical path \\d+ s, longest cell \\S+ \\d+ s`));
    expect(timed.out.some((l) => l.trim().startsWith('small'))).toBe(false);
    expect((await cliError(['list', 'nope', '--no-estimate'])).message).toMatch(/Unknown experiment "nope"/);
    expect((await cliError(['list', '--preset', 'huge', '--no-estimate'])).message).toMatch(/--preset expects one of smoke, small, cpu, paper/);
  });

  it('every command answers --help and -h with its usage, exit 0', async () => {
    expect(COMMANDS.length).toBeGreaterThanOrEqual(11);
    for (const cmd of COMMANDS) {
      for (const flag of ['--help', '-h']) {
        const r = await cli([cmd.name, flag]);
        expect(r.code, `${cmd.name} ${flag}`).toBe(0);
        expect(r.out).toEqual([cmd.usage]);
        expect(cmd.usage.startsWith(`usage: prunebench ${cmd.name}`)).toBe(true);
      }
    }
  });

  it('top-level help lists the commands; no command is exit 1, an unknown one exit 2', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const cmd of COMMANDS) expect(help.out.some((l) => l.trim().startsWith(`${cmd.name} `))).toBe(true);
    expect((await cli([])).code).toBe(1);
    const unknown = await cliError(['frobnicate']);
    expect(unknown).toMatchObject({ key: 'command', message: 'unknown command "frobnicate"; see prunebench --help' });
  });

  it('an unknown option is a ConfigError that names it and points to the usage', async () => {
    const e = await cliError(['inspect', 'vgg16', '--bogus']);
    expect(e).toMatchObject({ key: 'inspect' });
    expect(e.message).toMatch(/--bogus/);
    expect(e.message).toMatch(/see prunebench inspect --help$/);
  });
});

// ------------------------------------------------------------------------------------------------

describe('prune on trained models', () => {
  const prune = (args: string[]): Promise<{ code: number; out: string[]; err: string[] }> => cli(['prune', '--backend', 'wasm', ...args]);

  it('the fixtures are trained: weights differ from their initialisation', () => {
    const init = Model.init(vgg.spec, 1);
    try {
      const a = values(vgg, 'features.3.bn.gamma').v;
      const b = values(init, 'features.3.bn.gamma').v;
      expect(Array.from(a)).not.toEqual(Array.from(b));
    } finally {
      init.dispose();
    }
  });

  it('l1 --profile A on vgg16: the VGG-16-A widths, the largest-L1 filters kept, counts in summary.json', async () => {
    const out = join(tmp, 'l1-A');
    const r = await prune(['--model', 'vgg16', '--weights', vggDir, '--method', 'l1', '--profile', 'A', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.out.at(-1)).toBe(`wrote ${out} (spec.json, weights, summary.json)`);
    const pruned = await loadModel(out);
    try {
      // The reference VGG-16-A cfg, at the fixture's 1/16 width.
      const refA = [32, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 256, 256, 256, 'M', 256, 256, 256];
      expect((pruned.spec as VggSpec).cfg).toEqual(refA.map((c) => (c === 'M' ? c : (c as number) / 16)));
      // ... which is floor(C x (1 - ratio)) of the profile's ratios.
      const ratios = (findProfile('vgg16', 'A') as { ratios: number[] }).ratios;
      expect(convWidths(pruned.spec)).toEqual(convWidths(vgg.spec).map((c, i) => Math.floor(c * (1 - ratios[i]!))));
      const before = countSpec(vgg.spec);
      const after = countSpec(pruned.spec);
      expect(after.params).toBeLessThan(before.params);
      // Every pruned conv keeps its largest-L1 filters (of the trained, unpruned model).
      const plan = await readJson<{ groups: Record<string, number[]> }>(join(out, 'plan.json'));
      prunableGroups(vgg.graph).forEach((g, i) => {
        const k = Math.floor(g.channels * (1 - ratios[i]!));
        expect(plan.groups[g.id], g.id).toEqual(topIndices(filterNorms(vgg, g.id, 1), k));
      });
      // The first conv's kept filters are copied unchanged.
      const keep = topIndices(filterNorms(vgg, 'features.0.conv', 1), 2);
      const w0 = values(vgg, 'features.0.conv.weight');
      const p0 = values(pruned, 'features.0.conv.weight');
      const expected = Array.from(w0.v).filter((_, i) => keep.includes(i % 4));
      expect(Array.from(p0.v)).toEqual(expected);
      const s = await readJson<Record<string, unknown>>(join(out, 'summary.json'));
      expect(s).toMatchObject({ method: 'l1', granularity: 'channel', profile: 'A', paramsBefore: before.params, paramsAfter: after.params, macsBefore: before.macs, macsAfter: after.macs });
      expect(s.paramsReductionPct).toBeCloseTo(100 * (1 - after.params / before.params), 9);
    } finally {
      pruned.dispose();
    }
  });

  it('l2 and random --prune-ratio 0.5 halve every conv; l2 keeps the largest-L2 filters; random follows --seed', async () => {
    const half = convWidths(vgg.spec).map((c) => Math.floor(c * 0.5));
    const l2 = join(tmp, 'l2');
    await prune(['--model', 'vgg16', '--weights', vggDir, '--method', 'l2', '--prune-ratio', '0.5', '--out', l2]);
    const s2 = (await loadModel(l2)).spec;
    expect(convWidths(s2)).toEqual(half);
    const plan2 = await readJson<{ groups: Record<string, number[]> }>(join(l2, 'plan.json'));
    for (const conv of ['features.0.conv', 'features.12.conv']) {
      const c = prunableGroups(vgg.graph).find((g) => g.id === conv)!.channels;
      expect(plan2.groups[conv]).toEqual(topIndices(filterNorms(vgg, conv, 2), Math.floor(c / 2)));
    }
    expect((await readJson(join(l2, 'summary.json'))).paramsAfter).toBe(countSpec(s2).params);

    const plans: Record<string, unknown>[] = [];
    for (const [name, seed] of [['r3', '3'], ['r3b', '3'], ['r4', '4']] as const) {
      const dir = join(tmp, name);
      await prune(['--model', 'vgg16', '--weights', vggDir, '--method', 'random', '--prune-ratio', '0.5', '--seed', seed, '--out', dir]);
      const m = await loadModel(dir);
      expect(convWidths(m.spec)).toEqual(half);
      expect((await readJson(join(dir, 'summary.json'))).paramsAfter).toBe(countSpec(m.spec).params);
      m.dispose();
      plans.push(await readJson(join(dir, 'plan.json')));
    }
    expect(plans[1]).toEqual(plans[0]);
    expect(plans[2]).not.toEqual(plans[0]);
  });

  it('slimming --prune-ratio 0.5: one global |gamma| threshold, computed here from the trained gammas', async () => {
    const out = join(tmp, 'slim');
    await prune(['--model', 'vgg16', '--weights', vggDir, '--method', 'slimming', '--prune-ratio', '0.5', '--out', out]);
    const groups = prunableGroups(vgg.graph);
    const gammas = new Map(groups.map((g) => [g.id, Array.from(values(vgg, `${g.bns[0]}.gamma`).v).map(Math.abs)]));
    const all = [...gammas.values()].flat().sort((a, b) => a - b);
    const threshold = all[Math.floor(all.length * 0.5) - 1]!;
    const plan = await readJson<{ groups: Record<string, number[]> }>(join(out, 'plan.json'));
    const summary = await readJson<{ guardedLayers: string[]; paramsAfter: number; macsAfter: number }>(join(out, 'summary.json'));
    for (const g of groups) {
      const s = gammas.get(g.id)!;
      const above = s.map((v, i) => ({ v, i })).filter((x) => x.v > threshold).map((x) => x.i);
      if (above.length === 0) {
        expect(summary.guardedLayers).toContain(g.id);
        expect(plan.groups[g.id]).toEqual(topIndices(s, 1));
      } else {
        expect(plan.groups[g.id]).toEqual(above);
      }
    }
    const pruned = await loadModel(out);
    const widths = convWidths(pruned.spec);
    expect(widths).toEqual(groups.map((g) => plan.groups[g.id]!.length));
    // About half of the channels go (ties and the guard may move it by a few).
    const kept = widths.reduce((a, b) => a + b, 0);
    expect(kept).toBeLessThanOrEqual(all.length - Math.floor(all.length * 0.5) + summary.guardedLayers.length);
    expect(summary.paramsAfter).toBe(countSpec(pruned.spec).params);
    expect(summary.macsAfter).toBe(countSpec(pruned.spec).macs);
    expect(summary.paramsAfter).toBeLessThan(countSpec(vgg.spec).params);
    pruned.dispose();
  });

  it('reconstruction --prune-ratio 0.3 keeps floor(0.7 C) channels in every scored group', async () => {
    const out = join(tmp, 'recon');
    await prune(['--model', 'vgg16', '--weights', vggDir, '--method', 'reconstruction', '--prune-ratio', '0.3', '--out', out]);
    const errors = await readJson<{ group: string; channels: number; kept: number }[]>(join(out, 'reconstruction.json'));
    expect(errors.length).toBeGreaterThan(0);
    const plan = await readJson<{ groups: Record<string, number[]> }>(join(out, 'plan.json'));
    const scored = new Map(errors.map((e) => [e.group, e]));
    for (const g of prunableGroups(vgg.graph)) {
      const want = scored.has(g.id) ? Math.max(1, Math.floor(g.channels * 0.7)) : g.channels;
      expect(plan.groups[g.id], g.id).toHaveLength(want);
    }
    const pruned = await loadModel(out);
    expect(convWidths(pruned.spec)).toEqual(prunableGroups(vgg.graph).map((g) => plan.groups[g.id]!.length));
    expect(countSpec(pruned.spec).params).toBeLessThan(countSpec(vgg.spec).params);
    expect((await readJson(join(out, 'summary.json'))).paramsAfter).toBe(countSpec(pruned.spec).params);
    pruned.dispose();
  });

  it('block --prune-ratio 0.34 on resnet20 removes floor(0.34 x 9) = 3 lowest-|gamma| blocks and renames the rest', async () => {
    const out = join(tmp, 'block');
    const r = await prune(['--model', 'resnet20', '--weights', resnetDir, '--method', 'block', '--prune-ratio', '0.34', '--out', out]);
    expect(r.code).toBe(0);
    const s = await readJson<{ removedBlocks: string[]; scores: { block: string; score: number; removable: boolean }[]; params: number; paramsAfter: number; macsAfter: number }>(join(out, 'summary.json'));
    expect(s.removedBlocks).toHaveLength(3);
    // Scores are the L1 norms of each block's last BN gamma.
    for (const b of s.scores) {
      const g = Array.from(values(resnet, `${b.block}.bn2.gamma`).v).reduce((a, x) => a + Math.abs(x), 0);
      expect(b.score).toBeCloseTo(g, 4);
    }
    // Stride-2 / widening blocks stay; so does the last block of each stage.
    for (const b of s.removedBlocks) expect(s.scores.find((x) => x.block === b)!.removable).toBe(true);
    expect(s.removedBlocks).not.toContain('layer2.0');
    expect(s.removedBlocks).not.toContain('layer3.0');
    const pruned = await loadModel(out);
    try {
      const stages = (pruned.spec as ResNetSpec).stages.map((st) => st.blocks.length);
      expect(stages.reduce((a, b) => a + b, 0)).toBe(6);
      for (const st of stages) expect(st).toBeGreaterThanOrEqual(1);
      expect(s.paramsAfter).toBe(countSpec(pruned.spec).params);
      expect(s.macsAfter).toBe(countSpec(pruned.spec).macs);
      expect(s.params).toBe(countSpec(resnet.spec).params);
      // Remaining blocks keep their weights under their new positional names.
      for (let st = 1; st <= 3; st++) {
        const kept = [0, 1, 2].filter((b) => !s.removedBlocks.includes(`layer${st}.${b}`));
        kept.forEach((oldIndex, newIndex) => {
          const a = values(resnet, `layer${st}.${oldIndex}.conv1.weight`).v;
          const b = values(pruned, `layer${st}.${newIndex}.conv1.weight`).v;
          expect(Array.from(b)).toEqual(Array.from(a));
        });
      }
    } finally {
      pruned.dispose();
    }
  });

  /** Non-zero entries per conv weight of a saved model, and masks from masks.json. */
  async function maskedFacts(dir: string): Promise<{ model: Model; nonZero: Map<string, number>; masks: Map<string, Float32Array> }> {
    const model = await loadModel(dir);
    const decoded = decodeNamedWeights(await readFile(join(dir, 'masks.json'), 'utf8'), await readFile(join(dir, 'masks.bin')), 'masks.json');
    const masks = new Map([...decoded].map(([n, t]) => [n, t.dataSync() as Float32Array]));
    for (const t of decoded.values()) t.dispose();
    const nonZero = new Map<string, number>();
    for (const n of masks.keys()) nonZero.set(n, Array.from(values(model, n).v).filter((x) => x !== 0).length);
    return { model, nonZero, masks };
  }

  it('magnitude --prune-ratio 0.6 zeroes exactly floor(0.6 N) conv weights, the smallest by |w|', async () => {
    const out = join(tmp, 'magnitude');
    await prune(['--model', 'vgg16', '--weights', vggDir, '--method', 'magnitude', '--prune-ratio', '0.6', '--out', out]);
    expect(existsSync(join(out, 'masks.json'))).toBe(true);
    const { model, nonZero, masks } = await maskedFacts(out);
    try {
      const convs = vgg.graph.nodes.filter((n) => n.kind === 'conv').map((n) => `${n.name}.weight`);
      expect([...masks.keys()].sort()).toEqual([...convs].sort());
      const total = convs.reduce((n, c) => n + values(vgg, c).v.length, 0);
      const zeros = total - [...nonZero.values()].reduce((a, b) => a + b, 0);
      expect(zeros).toBe(Math.floor(0.6 * total));
      // One global threshold: every removed |w| is at most every kept |w| (of the trained model).
      let maxRemoved = 0;
      let minKept = Infinity;
      for (const c of convs) {
        const orig = values(vgg, c).v;
        const saved = values(model, c).v;
        const mask = masks.get(c)!;
        for (let i = 0; i < orig.length; i++) {
          if (mask[i] === 0) {
            expect(saved[i] === 0, `${c}[${i}] is masked but ${saved[i]}`).toBe(true);
            maxRemoved = Math.max(maxRemoved, Math.abs(orig[i]!));
          } else {
            expect(saved[i]).toBe(orig[i]);
            minKept = Math.min(minKept, Math.abs(orig[i]!));
          }
        }
      }
      expect(maxRemoved).toBeLessThanOrEqual(minKept);
      const s = await readJson<{ prunedFraction: number; params: number; paramsEffective: number; macsEffective: number }>(join(out, 'summary.json'));
      const eff = countSpec(model.spec, { nonZero });
      expect(s.prunedFraction).toBeCloseTo(Math.floor(0.6 * total) / total, 12);
      expect(s.params).toBe(countSpec(vgg.spec).params);
      expect(s.paramsEffective).toBe(eff.paramsEffective);
      expect(s.macsEffective).toBe(eff.macsEffective);
      expect(countSpec(model.spec).params).toBe(countSpec(vgg.spec).params);
    } finally {
      model.dispose();
    }
  });

  it('vector --prune-ratio 0.5 zeroes whole 1x1xCin kernel fibres, floor(0.5 F) of them', async () => {
    const out = join(tmp, 'vector');
    await prune(['--model', 'vgg16', '--weights', vggDir, '--method', 'vector', '--prune-ratio', '0.5', '--out', out]);
    const { model, nonZero } = await maskedFacts(out);
    try {
      let fibres = 0;
      let zeroFibres = 0;
      for (const c of nonZero.keys()) {
        const { v, shape } = values(model, c);
        const [kh, kw, cin, cout] = shape as [number, number, number, number];
        for (let i = 0; i < kh * kw; i++) {
          for (let o = 0; o < cout; o++) {
            fibres++;
            let zero = 0;
            for (let k = 0; k < cin; k++) if (v[(i * cin + k) * cout + o] === 0) zero++;
            // A fibre is all zero or untouched.
            expect(zero === 0 || zero === cin).toBe(true);
            if (zero === cin) zeroFibres++;
          }
        }
      }
      expect(zeroFibres).toBe(Math.floor(0.5 * fibres));
      const s = await readJson<{ granularity: string; prunedFraction: number; paramsEffective: number }>(join(out, 'summary.json'));
      expect(s.granularity).toBe('vector');
      expect(s.prunedFraction).toBeCloseTo(zeroFibres / fibres, 12);
      expect(s.paramsEffective).toBe(countSpec(model.spec, { nonZero }).paramsEffective);
    } finally {
      model.dispose();
    }
  });

  it('bad requests are ConfigErrors naming the flag', async () => {
    const base = ['prune', '--backend', 'wasm', '--model', 'vgg16', '--weights', vggDir];
    for (const ratio of ['1', '1.5']) {
      const e = await cliError([...base, '--method', 'l1', '--prune-ratio', ratio, '--out', join(tmp, 'bad')]);
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).key).toMatch(/prune-ratio/);
      expect(e.message).toContain(`--prune-ratio to be a fraction in [0, 1) (the fraction removed), but got ${Number(ratio)}`);
    }
    const neg = await cliError([...base, '--method', 'magnitude', '--prune-ratio=-0.1', '--out', join(tmp, 'bad')]);
    expect((neg as ConfigError).key).toMatch(/prune-ratio/);
    expect(neg.message).toMatch(/--prune-ratio.*but got -0\.1/);
    // Without '=' the value looks like an option: the parser's error names the flag.
    const ambiguous = await cliError([...base, '--method', 'l1', '--prune-ratio', '-0.1', '--out', join(tmp, 'bad')]);
    expect(ambiguous.message).toMatch(/--prune-ratio/);
    expect(await cliError([...base, '--method', 'block', '--prune-ratio', '1.5', '--out', join(tmp, 'bad')])).toMatchObject({ message: expect.stringMatching(/--prune-ratio/) });

    const profile = await cliError([...base, '--method', 'l1', '--profile', 'C', '--out', join(tmp, 'bad')]);
    expect(profile).toMatchObject({ key: 'profile', message: 'No profile "C" for model vgg16; known: A' });
    const noProfiles = await cliError(['prune', '--model', 'resnet20', '--weights', resnetDir, '--method', 'l1', '--profile', 'A', '--out', join(tmp, 'bad')]);
    expect(noProfiles).toMatchObject({ key: 'profile' });
    expect(noProfiles.message).toMatch(/No profile "A" for model resnet20/);
    expect(await cliError([...base, '--method', 'slimming', '--profile', 'A', '--out', join(tmp, 'bad')])).toMatchObject({ key: 'profile' });

    const gran = await cliError([...base, '--method', 'l1', '--granularity', 'weight', '--prune-ratio', '0.5', '--out', join(tmp, 'bad')]);
    expect(gran).toMatchObject({ key: 'granularity', message: '--method l1 prunes at channel granularity, not weight' });
    expect(await cliError([...base, '--method', 'magnitude', '--granularity', 'bogus', '--prune-ratio', '0.5', '--out', join(tmp, 'bad')])).toMatchObject({ key: 'granularity' });
    // The matching granularity is accepted.
    expect((await prune(['--model', 'vgg16', '--weights', vggDir, '--method', 'magnitude', '--granularity', 'weight', '--prune-ratio', '0.1', '--out', join(tmp, 'ok-gran')])).code).toBe(0);

    expect(await cliError([...base, '--method', 'l1', '--prune-ratio', '0.5'])).toMatchObject({ key: 'out' });
    expect(await cliError(['prune', '--method', 'l1', '--prune-ratio', '0.5', '--out', join(tmp, 'bad')])).toMatchObject({ key: 'model' });
    expect(await cliError([...base, '--prune-ratio', '0.5', '--out', join(tmp, 'bad')])).toMatchObject({ key: 'method' });
    expect(await cliError([...base, '--method', 'l3', '--prune-ratio', '0.5', '--out', join(tmp, 'bad')])).toMatchObject({ key: 'method' });
    expect(await cliError([...base, '--method', 'l1', '--out', join(tmp, 'bad')])).toMatchObject({ key: 'prune-ratio' });
    expect(await cliError([...base, '--method', 'l1', '--prune-ratio', 'half', '--out', join(tmp, 'bad')])).toMatchObject({ key: 'prune-ratio' });
    const missing = await cliError(['prune', '--model', 'vgg16', '--weights', join(tmp, 'nothing-here'), '--method', 'l1', '--prune-ratio', '0.5', '--out', join(tmp, 'bad')]);
    expect(missing.message).toContain(join(tmp, 'nothing-here'));
    const blockOnVgg = await cliError([...base, '--method', 'block', '--prune-ratio', '0.2', '--out', join(tmp, 'bad')]);
    expect(blockOnVgg.message).toMatch(/ResNet or PreResNet.*vgg16/);
  });

  it('without --weights prunes a fresh model of --width, enough to see a profile', async () => {
    const out = join(tmp, 'fresh');
    const r = await prune(['--model', 'resnet56', '--method', 'l1', '--profile', 'B', '--width', '0.25', '--out', out]);
    expect(r.code).toBe(0);
    const m = await loadModel(out);
    try {
      // ResNet-56-B: stage ratios 0.6/0.3/0.1 on the first conv of each block, except the skip list.
      const widths = (m.spec as ResNetSpec).stages.flatMap((s) => s.blocks);
      const skip = [16, 18, 20, 34, 38, 54];
      const expected = [4, 8, 16].flatMap((w, s) =>
        Array.from({ length: 9 }, (_, b) => {
          const layerId = 2 + 2 * (s * 9 + b);
          return skip.includes(layerId) ? w : Math.floor(w * (1 - [0.6, 0.3, 0.1][s]!));
        }),
      );
      expect(widths).toEqual(expected);
    } finally {
      m.dispose();
    }
  });
});

// ------------------------------------------------------------------------------------------------

describe('issue 12: inspect --spec, DenseNet l1, threshold rules', () => {
  const prune = (args: string[]): Promise<{ code: number; out: string[]; err: string[] }> => cli(['prune', '--backend', 'wasm', ...args]);

  it('inspect --spec DIR (or DIR/spec.json) counts the saved architecture, as countSpec of that spec does', async () => {
    const out = join(tmp, 'for-inspect');
    expect((await prune(['--model', 'vgg16', '--weights', vggDir, '--method', 'l1', '--profile', 'A', '--out', out])).code).toBe(0);
    const saved = (await loadModel(out)).spec;
    const c = countSpec(saved);
    for (const path of [out, join(out, 'spec.json')]) {
      const r = await cli(['inspect', '--spec', path, '--json']);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out[0]!)).toMatchObject({ model: 'vgg16', params: c.params, paramsWithoutBn: c.paramsWithoutBn, macs: c.macs, flops: c.flops });
    }
    // The pruned model is smaller than the unpruned vgg16 of the same width.
    expect(c.params).toBeLessThan(countSpec(vgg.spec).params);
    const table = await cli(['inspect', '--spec', out]);
    expect(table.out.at(-2)).toBe(`vgg16: params ${c.params} (${(c.params / 1e6).toFixed(2)}M, BN included), without BN ${c.paramsWithoutBn}`);
    const both = await cliError(['inspect', 'vgg16', '--spec', out, '--width', '0.5']);
    expect(both).toMatchObject({ key: 'spec', message: '--spec gives the whole architecture; leave out the model name (vgg16), --width' });
  });

  it('prune --model densenet40 --method l1 --prune-ratio 0.5 prunes every channel selection (it used to write the model unpruned)', async () => {
    const out = join(tmp, 'densenet-l1');
    const r = await prune(['--model', 'densenet40', '--width', '0.25', '--method', 'l1', '--prune-ratio', '0.5', '--out', out]);
    expect(r.code).toBe(0);
    const s = await readJson<{ layers: { layer: string; before: number; after: number }[]; paramsBefore: number; paramsAfter: number }>(join(out, 'summary.json'));
    const groups = prunableGroups(Model.init(modelSpec('densenet40', { widthMultiplier: 0.25 }), 0).graph);
    expect(s.layers.map((l) => l.layer)).toEqual(groups.map((g) => g.id));
    for (const l of s.layers) expect(l.after, l.layer).toBe(Math.floor(l.before * 0.5));
    const pruned = await loadModel(out);
    expect(s.paramsAfter).toBe(countSpec(pruned.spec).params);
    expect(s.paramsAfter).toBeLessThan(s.paramsBefore);
    pruned.dispose();
  });

  it('a method that cannot act on the model is refused before anything is written', async () => {
    const out = join(tmp, 'densenet-block');
    const e = await cliError(['prune', '--model', 'densenet40', '--width', '0.25', '--method', 'block', '--prune-ratio', '0.5', '--out', out]);
    expect(e).toMatchObject({ key: 'method' });
    expect(e.message).toBe('--method block cannot prune densenet40 (a densenet): block removal needs residual blocks (a ResNet or PreResNet), and densenet40, a densenet, has none; methods that can: l1, l2, random, channel, slimming, reconstruction, vector, magnitude');
    expect(existsSync(out)).toBe(false);
  });

  it('slimming --threshold-rule reference prunes one channel more than floor(ratio x channels), at the sorted value of index int(channels x ratio)', async () => {
    const counts: Record<string, number> = {};
    const groups = prunableGroups(vgg.graph);
    const gammas = groups.flatMap((g) => Array.from(values(vgg, `${g.bns[0]}.gamma`).v).map(Math.abs));
    const sorted = Float32Array.from(gammas).sort();
    for (const rule of ['floor', 'reference']) {
      const out = join(tmp, `slim-${rule}`);
      const r = await prune(['--model', 'vgg16', '--weights', vggDir, '--method', 'slimming', '--prune-ratio', '0.5', '--threshold-rule', rule, '--out', out]);
      expect(r.code).toBe(0);
      const s = await readJson<{ thresholdRule: string; threshold: number; guardedLayers: string[]; layers: { before: number; after: number }[] }>(join(out, 'summary.json'));
      expect(s.thresholdRule).toBe(rule);
      const index = Math.floor(sorted.length * 0.5);
      expect(s.threshold).toBe(rule === 'reference' ? sorted[index] : sorted[index - 1]);
      // Pruned: everything at or below the threshold, less what the guard gave back (one per guarded layer).
      const atOrBelow = gammas.filter((g) => Math.fround(g) <= s.threshold).length;
      counts[rule] = s.layers.reduce((n, l) => n + l.before - l.after, 0);
      expect(counts[rule]).toBe(atOrBelow - s.guardedLayers.length);
    }
    expect(await cliError(['prune', '--model', 'vgg16', '--method', 'l1', '--prune-ratio', '0.5', '--threshold-rule', 'reference', '--out', join(tmp, 'bad')])).toMatchObject({ key: 'threshold-rule' });
    expect(await cliError(['prune', '--model', 'vgg16', '--method', 'slimming', '--prune-ratio', '0.5', '--threshold-rule', 'median', '--out', join(tmp, 'bad')])).toMatchObject({ key: '--threshold-rule' });
  });
});
