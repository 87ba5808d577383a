/**
 * The test set a run measures on: a data set shorter than the preset's subset is refused, and the
 * number of test images used reaches the row (issue #32 item 3).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticCifar } from '../data/index.ts';
import { expandCells, identityRow } from '../protocols/index.ts';
import { RUN_COLUMNS } from '../results/index.ts';
import { ConfigError } from '../util/errors.ts';
import { silentLogger } from '../util/log.ts';
import { loadExperimentData } from './experiment-data.ts';
import { resolveConfig } from './plan.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pb-testset-'));
  // 5 x 20 training records and a test_batch.bin of 100 records (the official one holds 10000).
  await writeSyntheticCifar(dir, { kind: 'cifar10', trainPerFile: 20, testCount: 100, seed: 4 });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const config = (...set: string[]) => resolveConfig({ experiment: 'quickstart', preset: 'small', set: ['data.trainSubset=50', ...set] });
const load = (...set: string[]) => loadExperimentData(config(...set), { dataDir: dir, logger: silentLogger, download: false });

describe('test set size', () => {
  it('a test subset larger than the test set is refused, naming both counts', async () => {
    const err = await load('data.testSubset=1000').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).key).toBe('data.testSubset');
    expect((err as Error).message).toMatch(/data\.testSubset asks for 1000 test images/);
    expect((err as Error).message).toMatch(/100 /);
  });

  it('a training subset larger than the training set is refused too', async () => {
    const err = await load('data.trainSubset=500', 'data.testSubset=50').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).key).toBe('data.trainSubset');
  });

  it('the test images used: the subset, or the whole (short) set; and the row carries them', async () => {
    const sub = await load('data.testSubset=40');
    expect([sub.data.test.count, sub.dataset.testCount]).toEqual([40, 40]);
    const all = await load('data.testSubset=0');
    expect([all.data.test.count, all.dataset.testCount]).toEqual([100, 100]);
    const c = config('data.testSubset=0');
    const env = { backend: 'cpu', tfjsVersion: 'x', nodeVersion: 'x', gitCommit: 'x', gitDirty: false };
    const row = identityRow({ config: c, configHash: 'h', env, cell: expandCells(c)[0]!, startedAt: 't', dataset: all.dataset });
    expect(row.test_images).toBe(100);
    expect(RUN_COLUMNS.indexOf('test_images')).toBe(RUN_COLUMNS.indexOf('train_subset') + 1);
  });
});
