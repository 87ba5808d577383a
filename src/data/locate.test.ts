import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError } from '../util/errors.ts';
import { silentLogger } from '../util/log.ts';
import { loadDataset, writeSyntheticCifar } from './index.ts';

let root: string;
let dirA: string; // --data-dir
let dirEnv: string; // PRUNEBENCH_DATA_DIR root, holding the official folder name
let cache: string; // datasets/

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pb-locate-'));
  dirA = join(root, 'a');
  dirEnv = join(root, 'envroot');
  cache = join(root, 'datasets');
  await writeSyntheticCifar(dirA, { kind: 'cifar10', trainPerFile: 1, testCount: 1, seed: 1 });
  await writeSyntheticCifar(join(dirEnv, 'cifar-10-batches-bin'), { kind: 'cifar10', trainPerFile: 2, testCount: 1, seed: 2 });
  await writeSyntheticCifar(join(cache, 'cifar10'), { kind: 'cifar10', trainPerFile: 3, testCount: 1, seed: 3 });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const base = { name: 'cifar10', download: false, logger: silentLogger } as const;

describe('source order', () => {
  it('--data-dir first, then PRUNEBENCH_DATA_DIR (root with the official folder), then datasets/<name>', async () => {
    const env = { PRUNEBENCH_DATA_DIR: dirEnv };
    const a = await loadDataset({ ...base, dataDir: dirA, env, cacheDir: cache });
    expect([a.source, a.origin, a.train.count]).toEqual([dirA, 'data-dir', 5]);
    const e = await loadDataset({ ...base, env, cacheDir: cache });
    expect([e.source, e.origin, e.train.count]).toEqual([join(dirEnv, 'cifar-10-batches-bin'), 'env', 10]);
    const c = await loadDataset({ ...base, env: {}, cacheDir: cache });
    expect([c.source, c.origin, c.train.count]).toEqual([join(cache, 'cifar10'), 'datasets', 15]);
  });

  it('--data-dir may be a root holding cifar-10-batches-bin', async () => {
    const ds = await loadDataset({ ...base, dataDir: dirEnv, env: {}, cacheDir: cache });
    expect(ds.source).toBe(join(dirEnv, 'cifar-10-batches-bin'));
  });

  it('--data-dir without the files is an error (no silent fallback)', async () => {
    const empty = join(root, 'empty');
    await mkdir(empty, { recursive: true });
    const err = await loadDataset({ ...base, dataDir: empty, env: {}, cacheDir: cache }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as DatasetError).file).toBe(empty);
    expect((err as Error).message).toContain('--data-dir');
  });

  it('PRUNEBENCH_DATA_DIR naming a missing or an empty folder is an error, like --data-dir (no fallback to datasets/)', async () => {
    const empty = join(root, 'env-empty');
    await mkdir(empty, { recursive: true });
    for (const dir of [join(root, 'env-missing'), empty]) {
      // datasets/ (cache) holds the files: a fallback would load them quietly.
      const err = await loadDataset({ ...base, env: { PRUNEBENCH_DATA_DIR: dir }, cacheDir: cache }).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(DatasetError);
      expect((err as DatasetError).file).toBe(dir);
      expect((err as Error).message).toContain(`PRUNEBENCH_DATA_DIR=${dir}`);
    }
    expect((await loadDataset({ ...base, env: { PRUNEBENCH_DATA_DIR: '' }, cacheDir: cache })).origin).toBe('datasets');
  });

  it('not found with download off: says which files go where and the official URL and md5', async () => {
    const nowhere = join(root, 'nowhere');
    const err = await loadDataset({ ...base, env: {}, cacheDir: nowhere }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(DatasetError);
    const msg = (err as Error).message;
    expect((err as DatasetError).file).toBe(join(nowhere, 'cifar-10-batches-bin'));
    expect(msg).toContain('data_batch_1.bin, data_batch_2.bin, data_batch_3.bin, data_batch_4.bin, data_batch_5.bin, test_batch.bin');
    expect(msg).toContain(join(nowhere, 'cifar-10-batches-bin'));
    expect(msg).toContain('https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz (md5 c32a1d4ab5d03f1284b67883e8d87530)');
    expect(msg).toContain('PRUNEBENCH_DATA_DIR');
  });

  it("'synthetic' needs no files", async () => {
    const ds = await loadDataset({ name: 'synthetic', synthetic: { trainCount: 40, testCount: 20, seed: 1 }, logger: silentLogger });
    expect([ds.name, ds.origin, ds.train.count, ds.test.count]).toEqual(['synthetic', 'memory', 40, 20]);
  });
});
