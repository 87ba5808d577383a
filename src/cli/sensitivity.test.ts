import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/index.ts';
import { balancedSubset, loadDataset, writeSyntheticCifar, type ImageDataset } from '../data/index.ts';
import { loadModel, Model, modelSpec, saveModel } from '../models/index.ts';
import { CRITERIA, criterionNeedsData, prunableGroups } from '../pruning/index.ts';
import { DEFAULT_TRAIN_CONFIG, evaluate, trainModel } from '../train/index.ts';
import { ConfigError } from '../util/errors.ts';
import { silentLogger } from '../util/log.ts';
import { SENSITIVITY_COLUMNS } from '../run/sensitivity.ts';
import { main } from './main.ts';

async function cli(argv: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const code = await main(argv, { out: (l) => out.push(...l.split('\n')), err: () => {} });
  return { code, out };
}

/** The ConfigError a command throws (it must throw one). */
async function configError(argv: string[]): Promise<ConfigError> {
  try {
    await cli(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`expected ${argv.join(' ')} to fail`);
}

let tmp: string;
let dataDir: string;
let weights: string;
let resnetDir: string;
let ds: ImageDataset;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'prunebench-sens-'));
  await initBackend({ backend: 'wasm', logger: silentLogger });
  dataDir = join(tmp, 'cifar');
  await writeSyntheticCifar(dataDir, { kind: 'cifar10', trainPerFile: 40, testCount: 60, seed: 1, learnable: true });
  ds = await loadDataset({ name: 'cifar10', dataDir, logger: silentLogger });
  const m = Model.init(modelSpec('vgg-tiny', { widthMultiplier: 0.5 }), 3);
  const data = { train: ds.train, test: ds.test, shape: { h: 32, w: 32, c: 3 }, mean: ds.mean, std: ds.std };
  await trainModel(m, data, { ...DEFAULT_TRAIN_CONFIG, epochs: 2, batchSize: 20, lr: 0.05, schedule: { kind: 'constant' }, augment: false, seed: 1 }, { logger: silentLogger, progressStream: null });
  weights = join(tmp, 'vgg-tiny-trained');
  await saveModel(weights, m);
  m.dispose();
  resnetDir = join(tmp, 'resnet20');
  const r = Model.init(modelSpec('resnet20', { widthMultiplier: 0.25 }), 1);
  await saveModel(resnetDir, r);
  r.dispose();
});

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const base = (out: string): string[] => ['sensitivity', '--backend', 'wasm', '--model', 'vgg-tiny', '--width', '0.5', '--weights', weights, '--data-dir', dataDir, '--test-subset', '40', '--ratios', '0.5,0.25', '--out', out];

describe('prunebench sensitivity', () => {
  let out: string;
  let printed: string[];

  beforeAll(async () => {
    out = join(tmp, 'scan');
    const r = await cli([...base(out), '--max-drop', '2']);
    expect(r.code).toBe(0);
    printed = r.out;
  });

  it('writes sensitivity.csv with layers x ratios rows, the columns and the provenance', async () => {
    const rows = parse(await readFile(join(out, 'sensitivity.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    const model = await loadModel(weights);
    const groups = prunableGroups(model.graph);
    expect(Object.keys(rows[0]!)).toEqual([...SENSITIVITY_COLUMNS]);
    expect(rows).toHaveLength(groups.length * 2);
    expect(rows.map((r) => `${r.layer}@${r.ratio}`)).toEqual(groups.flatMap((g) => [`${g.id}@0.25`, `${g.id}@0.5`]));
    expect(rows.map((r) => Number(r.kept_channels))).toEqual(groups.flatMap((g) => [Math.floor(g.channels * 0.75), Math.floor(g.channels * 0.5)]));
    // The unpruned top-1 is that of the model on the 40-image class-balanced test subset (seed 0).
    const test = balancedSubset(ds.test, { total: 40, seed: 0 });
    const unpruned = (await evaluate(model, test, { shape: { h: 32, w: 32, c: 3 }, mean: ds.mean, std: ds.std })).acc;
    model.dispose();
    for (const r of rows) {
      expect(Number(r.top1_unpruned)).toBeCloseTo(unpruned, 3);
      expect(Number(r.drop)).toBeCloseTo(Number(r.top1_unpruned) - Number(r.top1), 3);
      expect(r).toMatchObject({ criterion: 'l1', model: 'vgg-tiny', width: '0.5', weights: resolve(weights), dataset: 'cifar10', data_fingerprint: ds.fingerprint, test_images: '40', calibration_images: '0', backend: 'wasm' });
    }
  });

  it('prints the layers whose drop at 0.5 stays under --max-drop (as the CSV says) and the run time', async () => {
    const rows = parse(await readFile(join(out, 'sensitivity.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    const robust = rows.filter((r) => r.ratio === '0.5' && Number(r.drop) < 2).map((r) => `${r.layer_index} (${r.layer})`);
    const line = printed.find((l) => l.startsWith('layers whose drop at ratio 0.5 stays under 2 points: '))!;
    expect(line).toBe(`layers whose drop at ratio 0.5 stays under 2 points: ${robust.length ? robust.join(', ') : 'none'}`);
    expect(printed.some((l) => /^run time \d+\.\d s, of which the scan \d+\.\d s \(scoring, 12 pruned evaluations \+ 1 unpruned of 40 images each\)$/.test(l))).toBe(true);
  });

  it('writes the figure: a PNG, an SVG naming the layers, the Vega-Lite spec, index.html', async () => {
    const png = await readFile(join(out, 'sensitivity.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    const svg = await readFile(join(out, 'sensitivity.svg'), 'utf8');
    expect(svg).toContain('1 features.0.conv');
    const spec = JSON.parse(await readFile(join(out, 'sensitivity.vl.json'), 'utf8')) as { layer: { data: { values: unknown[] } }[] };
    expect(spec.layer[0]!.data.values).toHaveLength(12);
    expect(await readFile(join(out, 'index.html'), 'utf8')).toContain('sensitivity vgg-tiny x0.5 (l1)');
  });

  it('refuses an --out that already holds a scan unless --force', async () => {
    const e = await configError(base(out));
    expect(e.key).toBe('out');
    expect(e.message).toMatch(/already holds a scan \(sensitivity\.csv\).*--force/);
    // base() with --ratios 0.5 in place of its 0.5,0.25 (a flag given twice is refused).
    const args = base(out);
    args[args.indexOf('--ratios') + 1] = '0.5';
    expect((await cli([...args, '--force'])).code).toBe(0);
    const rows = parse(await readFile(join(out, 'sensitivity.csv'), 'utf8'), { columns: true }) as unknown[];
    expect(rows).toHaveLength(6);
  });
});

/** A criterion that scores from data (taylor, once it exists): this branch may have none. */
const dataCriterion = CRITERIA.find((c) => criterionNeedsData(c));

describe.skipIf(dataCriterion === undefined)(`prunebench sensitivity with a data-needing criterion (${dataCriterion ?? 'none yet'})`, () => {
  it('scores from --calibration-batches x 64 class-balanced training images and records how many', async () => {
    const out = join(tmp, 'scan-data');
    expect((await cli([...base(out), '--criterion', dataCriterion!, '--calibration-batches', '1'])).code).toBe(0);
    const rows = parse(await readFile(join(out, 'sensitivity.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(12);
    for (const r of rows) expect(r).toMatchObject({ criterion: dataCriterion, calibration_images: '64' });
  });
});

describe('prunebench sensitivity: bad input, one clear error each', () => {
  const fresh = (): string => join(tmp, `err-${Math.random().toString(36).slice(2)}`);
  const replace = (argv: string[], flag: string, value: string): string[] => argv.map((v, i) => (argv[i - 1] === flag ? value : v));

  it('a missing --weights folder, or one holding another model or width', async () => {
    let e = await configError(replace(base(fresh()), '--weights', join(tmp, 'nope')));
    expect([e.key, e.message]).toEqual(['weights', `--weights ${join(tmp, 'nope')}: no such folder`]);
    e = await configError(replace(base(fresh()), '--weights', resnetDir));
    expect([e.key, e.message]).toEqual(['weights', `--weights ${resnetDir} holds a resnet20, not a vgg-tiny (--model)`]);
    e = await configError(replace(base(fresh()), '--width', '1'));
    expect(e.key).toBe('width');
    expect(e.message).toContain('prunable widths [8,8,16,16,32,32] are not those of vgg-tiny at --width 1 [16,16,32,32,64,64]');
  });

  it('ratios outside (0, 1), unparsable or listed twice', async () => {
    for (const [ratios, message] of [
      ['0.5,1', '--ratios expects fractions removed in (0, 1), got 1'],
      ['0,0.5', '--ratios expects fractions removed in (0, 1), got 0'],
      ['0.5,abc', '--ratios expects comma-separated numbers, got "0.5,abc"'],
      ['0.5,,0.6', '--ratios expects comma-separated numbers, got "0.5,,0.6"'],
      ['0.5,0.5', '--ratios lists 0.5 twice'],
    ] as const) {
      const e = await configError(replace(base(fresh()), '--ratios', ratios));
      expect([e.key, e.message]).toEqual(['ratios', message]);
    }
  });

  it('an unknown criterion, an --at-ratio not scanned, --out equal to --weights', async () => {
    let e = await configError([...base(fresh()), '--criterion', 'l3']);
    expect(e.key).toBe('criterion');
    expect(e.message).toBe(`Unknown --criterion "l3"; expected one of ${CRITERIA.join(', ')}`);
    e = await configError([...base(fresh()), '--at-ratio', '0.3']);
    expect([e.key, e.message]).toEqual(['at-ratio', '--at-ratio 0.3 is not one of --ratios (0.25, 0.5)']);
    e = await configError(replace(base(fresh()), '--out', `${weights}/`));
    expect(e.key).toBe('out');
    expect(e.message).toContain('is the --weights folder');
  });

  it('missing required flags and a --test-subset larger than the test set', async () => {
    expect((await configError(['sensitivity', '--model', 'vgg-tiny', '--out', fresh()])).key).toBe('weights');
    expect((await configError(['sensitivity', '--weights', weights, '--out', fresh()])).key).toBe('model');
    const e = await configError(replace(base(fresh()), '--test-subset', '61'));
    expect([e.key, e.message]).toEqual(['test-subset', '--test-subset 61 is more than the 60 test images of cifar10']);
  });
});
