import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, truncate, unlink, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, DatasetError } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import { CIFAR100_SPEC, CIFAR10_CLASSES, CIFAR10_SPEC, loadDataset, writeSyntheticCifar } from './index.ts';

let root: string;
const warnings: string[] = [];
const logger: Logger = { info: () => {}, warn: (m) => warnings.push(m) };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pb-cifar-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function freshDir(name: string): Promise<string> {
  return mkdtemp(join(root, `${name}-`));
}

describe('CIFAR-10 binary reader', () => {
  it('converts a hand-made channel-planar record to NHWC', async () => {
    const dir = await freshDir('hand');
    // Record layout: label, 1024 R, 1024 G, 1024 B. Pixel p: R = p % 256, G = 255 - p % 256, B = p % 7.
    const rec = new Uint8Array(3073);
    rec[0] = 3;
    for (let p = 0; p < 1024; p++) {
      rec[1 + p] = p % 256;
      rec[1 + 1024 + p] = 255 - (p % 256);
      rec[1 + 2048 + p] = p % 7;
    }
    for (const f of [...CIFAR10_SPEC.trainFiles, ...CIFAR10_SPEC.testFiles]) await writeFile(join(dir, f), rec);
    const ds = await loadDataset({ name: 'cifar10', dataDir: dir, download: false, logger });
    expect(ds.train.count).toBe(5);
    expect(ds.test.count).toBe(1);
    expect(Array.from(ds.train.labels)).toEqual([3, 3, 3, 3, 3]);
    // Pixel (row 2, col 5) = p 69; NHWC offset (2*32+5)*3.
    const p = 2 * 32 + 5;
    expect(Array.from(ds.test.images.subarray(p * 3, p * 3 + 3))).toEqual([69, 255 - 69, 69 % 7]);
    // Last pixel of the 3rd training image.
    const last = 2 * 3072 + 1023 * 3;
    expect(Array.from(ds.train.images.subarray(last, last + 3))).toEqual([1023 % 256, 255 - (1023 % 256), 1023 % 7]);
    // No meta file: built-in names and a warning that names the missing file.
    expect(ds.classNames).toEqual(CIFAR10_CLASSES);
    expect(ds.classNamesFrom).toBe('built-in');
    expect(warnings.some((w) => w.includes(join(dir, 'batches.meta.txt')))).toBe(true);
  });

  it('reads back exactly the pixels and labels that were written (round trip)', async () => {
    const dir = await freshDir('c10');
    const written = await writeSyntheticCifar(dir, { kind: 'cifar10', trainPerFile: 12, testCount: 15, seed: 7 });
    const ds = await loadDataset({ name: 'cifar-10', dataDir: dir, download: false, logger });
    expect(ds.name).toBe('cifar10');
    expect(ds.source).toBe(dir);
    expect([ds.height, ds.width, ds.channels, ds.numClasses]).toEqual([32, 32, 3, 10]);
    expect(ds.classNamesFrom).toBe('file');
    expect(ds.train.count).toBe(60);
    expect(Buffer.from(ds.train.images).equals(Buffer.from(written.train.images))).toBe(true);
    expect(Array.from(ds.train.labels)).toEqual(Array.from(written.train.labels));
    expect(Buffer.from(ds.test.images).equals(Buffer.from(written.test.images))).toBe(true);
    expect(Array.from(ds.test.labels)).toEqual(Array.from(written.test.labels));
    expect(ds.mean).toEqual([0.4914, 0.4822, 0.4465]);
  });

  it('fingerprint = sha256 over (name, length, bytes) of the files in order, 16 hex digits', async () => {
    const dir = await freshDir('fp');
    await writeSyntheticCifar(dir, { kind: 'cifar10', trainPerFile: 3, testCount: 4, seed: 1 });
    const h = createHash('sha256');
    for (const f of [...CIFAR10_SPEC.trainFiles, ...CIFAR10_SPEC.testFiles]) {
      const b = await readFile(join(dir, f));
      h.update(`${f}\n${b.length}\n`);
      h.update(b);
    }
    const ds = await loadDataset({ name: 'cifar10', dataDir: dir, download: false, logger });
    expect(ds.fingerprint).toBe(h.digest('hex').slice(0, 16));
    // One pixel changed -> another fingerprint.
    const b = await readFile(join(dir, 'test_batch.bin'));
    b[100] = (b[100]! + 1) % 256;
    await writeFile(join(dir, 'test_batch.bin'), b);
    const ds2 = await loadDataset({ name: 'cifar10', dataDir: dir, download: false, logger });
    expect(ds2.fingerprint).not.toBe(ds.fingerprint);
  });

  it('warns, or with requireOfficialCounts fails, on non-official record counts', async () => {
    const dir = await freshDir('counts');
    await writeSyntheticCifar(dir, { kind: 'cifar10', trainPerFile: 2, testCount: 2, seed: 1 });
    warnings.length = 0;
    await loadDataset({ name: 'cifar10', dataDir: dir, download: false, logger });
    expect(warnings.some((w) => w.includes('official'))).toBe(true);
    await expect(
      loadDataset({ name: 'cifar10', dataDir: dir, download: false, logger, requireOfficialCounts: true }),
    ).rejects.toThrow(/official CIFAR-10 record counts/);
  });
});

describe('CIFAR-10 validation errors name the file', () => {
  async function expectDatasetError(p: Promise<unknown>, file: string, pattern: RegExp) {
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as DatasetError).file).toBe(file);
    expect((err as DatasetError).message).toMatch(pattern);
  }

  it('missing file', async () => {
    const dir = await freshDir('missing');
    await writeSyntheticCifar(dir, { kind: 'cifar10', trainPerFile: 2, testCount: 2, seed: 1 });
    await unlink(join(dir, 'data_batch_4.bin'));
    await expectDatasetError(
      loadDataset({ name: 'cifar10', dataDir: dir, download: false, logger }),
      join(dir, 'data_batch_4.bin'),
      /Missing file .*data_batch_4\.bin/,
    );
  });

  it('truncated file (size not a multiple of 3073)', async () => {
    const dir = await freshDir('trunc');
    await writeSyntheticCifar(dir, { kind: 'cifar10', trainPerFile: 3, testCount: 2, seed: 1 });
    await truncate(join(dir, 'data_batch_2.bin'), 3 * 3073 - 10);
    await expectDatasetError(
      loadDataset({ name: 'cifar10', dataDir: dir, download: false, logger }),
      join(dir, 'data_batch_2.bin'),
      /9209 bytes, not a positive multiple of the 3073-byte/,
    );
  });

  it('oversized file', async () => {
    const dir = await freshDir('over');
    await writeSyntheticCifar(dir, { kind: 'cifar10', trainPerFile: 3, testCount: 2, seed: 1 });
    await appendFile(join(dir, 'test_batch.bin'), new Uint8Array(5));
    await expectDatasetError(
      loadDataset({ name: 'cifar10', dataDir: dir, download: false, logger }),
      join(dir, 'test_batch.bin'),
      /2 records \+ 5 bytes/,
    );
  });

  it('a training batch short by whole records (wrong record count)', async () => {
    const dir = await freshDir('short');
    await writeSyntheticCifar(dir, { kind: 'cifar10', trainPerFile: 4, testCount: 2, seed: 1 });
    await truncate(join(dir, 'data_batch_3.bin'), 3 * 3073);
    await expectDatasetError(
      loadDataset({ name: 'cifar10', dataDir: dir, download: false, logger }),
      join(dir, 'data_batch_3.bin'),
      /holds 3 records but the other training batches hold 4/,
    );
  });

  it('label out of range', async () => {
    const dir = await freshDir('label');
    await writeSyntheticCifar(dir, { kind: 'cifar10', trainPerFile: 2, testCount: 3, seed: 1 });
    const b = await readFile(join(dir, 'test_batch.bin'));
    b[2 * 3073] = 10; // label byte of record 2
    await writeFile(join(dir, 'test_batch.bin'), b);
    await expectDatasetError(
      loadDataset({ name: 'cifar10', dataDir: dir, download: false, logger }),
      join(dir, 'test_batch.bin'),
      /record 2 has label 10; expected 0\.\.9/,
    );
  });

  it('a class-name file with the wrong number of names', async () => {
    const dir = await freshDir('meta');
    await writeSyntheticCifar(dir, { kind: 'cifar10', trainPerFile: 2, testCount: 2, seed: 1 });
    await writeFile(join(dir, 'batches.meta.txt'), 'cat\ndog\n');
    await expectDatasetError(
      loadDataset({ name: 'cifar10', dataDir: dir, download: false, logger }),
      join(dir, 'batches.meta.txt'),
      /2 non-empty lines; expected 10/,
    );
  });

  it('unknown data set name: ConfigError listing the valid names', async () => {
    const err = await loadDataset({ name: 'imagenet', logger }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('cifar10, cifar100, fashion-mnist, synthetic');
    expect((err as Error).message).toContain("'imagenet'");
  });
});

describe('CIFAR-100 binary reader', () => {
  it('round trip with fine and coarse labels and both name files', async () => {
    const dir = await freshDir('c100');
    const written = await writeSyntheticCifar(dir, { kind: 'cifar100', trainPerFile: 40, testCount: 20, seed: 3 });
    const ds = await loadDataset({ name: 'cifar100', dataDir: dir, download: false, logger });
    expect(ds.numClasses).toBe(100);
    expect(ds.train.count).toBe(40);
    expect(Buffer.from(ds.train.images).equals(Buffer.from(written.train.images))).toBe(true);
    expect(Array.from(ds.train.labels)).toEqual(Array.from(written.train.labels));
    expect(Array.from(ds.train.coarseLabels!)).toEqual(Array.from(written.train.labels).map((l) => Math.floor(l / 5)));
    expect(ds.classNames[99]).toBe('worm');
    expect(ds.classNames).toHaveLength(100);
    expect(ds.coarseClassNames).toHaveLength(20);
    expect(ds.classNamesFrom).toBe('file');
  });

  it('uses byte 1 as the fine label and byte 0 as the coarse label of a hand-made record', async () => {
    const dir = await freshDir('c100hand');
    const rec = new Uint8Array(3074);
    rec[0] = 17;
    rec[1] = 88;
    rec[2] = 42; // first R pixel
    rec[2 + 1024] = 43; // first G pixel
    rec[2 + 2048] = 44; // first B pixel
    await writeFile(join(dir, 'train.bin'), rec);
    await writeFile(join(dir, 'test.bin'), rec);
    const ds = await loadDataset({ name: 'cifar100', dataDir: dir, download: false, logger });
    expect(ds.train.labels[0]).toBe(88);
    expect(ds.train.coarseLabels![0]).toBe(17);
    expect(Array.from(ds.train.images.subarray(0, 3))).toEqual([42, 43, 44]);
    expect(ds.classNamesFrom).toBe('built-in');
  });

  it('errors: record size 3074, coarse label out of range', async () => {
    const dir = await freshDir('c100err');
    await writeSyntheticCifar(dir, { kind: 'cifar100', trainPerFile: 3, testCount: 2, seed: 3 });
    await truncate(join(dir, 'train.bin'), 3 * 3073);
    await expect(loadDataset({ name: 'cifar100', dataDir: dir, download: false, logger })).rejects.toThrow(
      /not a positive multiple of the 3074-byte CIFAR-100 record/,
    );
    await writeSyntheticCifar(dir, { kind: 'cifar100', trainPerFile: 3, testCount: 2, seed: 3 });
    const b = await readFile(join(dir, 'test.bin'));
    b[3074] = 20;
    await writeFile(join(dir, 'test.bin'), b);
    await expect(loadDataset({ name: 'cifar100', dataDir: dir, download: false, logger })).rejects.toThrow(
      /record 1 has coarse label 20; expected 0\.\.19/,
    );
    expect(CIFAR100_SPEC.recordBytes).toBe(3074);
  });
});
