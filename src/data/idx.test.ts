import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError } from '../util/errors.ts';
import { silentLogger } from '../util/log.ts';
import { FASHION_MNIST_CLASSES, loadDataset, writeSyntheticFashionMnist } from './index.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pb-idx-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('Fashion-MNIST IDX reader', () => {
  it('round trip from gzip files, 28x28x1, fingerprint over the decompressed bytes', async () => {
    const dir = await mkdtemp(join(root, 'gz-'));
    const w = await writeSyntheticFashionMnist(dir, { trainCount: 30, testCount: 20, seed: 5 });
    const ds = await loadDataset({ name: 'fashion-mnist', dataDir: dir, download: false, logger: silentLogger });
    expect([ds.height, ds.width, ds.channels]).toEqual([28, 28, 1]);
    expect(ds.train.count).toBe(30);
    expect(Buffer.from(ds.train.images).equals(Buffer.from(w.train.images))).toBe(true);
    expect(Array.from(ds.test.labels)).toEqual(Array.from(w.test.labels));
    expect(ds.classNames).toEqual(FASHION_MNIST_CLASSES);
    const h = createHash('sha256');
    for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
      const raw = gunzipSync(await readFile(join(dir, `${f}.gz`)));
      h.update(`${f}\n${raw.length}\n`);
      h.update(raw);
    }
    expect(ds.fingerprint).toBe(h.digest('hex').slice(0, 16));

    // The same content uncompressed gives the same fingerprint.
    const plain = await mkdtemp(join(root, 'plain-'));
    await writeSyntheticFashionMnist(plain, { trainCount: 30, testCount: 20, seed: 5, gzip: false });
    const ds2 = await loadDataset({ name: 'fashion-mnist', dataDir: plain, download: false, logger: silentLogger });
    expect(ds2.fingerprint).toBe(ds.fingerprint);
  });

  it('reads a hand-made IDX header and pixel', async () => {
    const dir = await mkdtemp(join(root, 'hand-'));
    const img = new Uint8Array(16 + 2 * 784);
    const v = new DataView(img.buffer);
    v.setUint32(0, 0x803);
    v.setUint32(4, 2);
    v.setUint32(8, 28);
    v.setUint32(12, 28);
    img[16 + 784 + 28 * 3 + 4] = 201; // image 1, row 3, col 4
    const lbl = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 9, 4]);
    for (const p of ['train', 't10k']) {
      await writeFile(join(dir, `${p}-images-idx3-ubyte.gz`), gzipSync(img));
      await writeFile(join(dir, `${p}-labels-idx1-ubyte.gz`), gzipSync(lbl));
    }
    const ds = await loadDataset({ name: 'fashion-mnist', dataDir: dir, download: false, logger: silentLogger });
    expect(Array.from(ds.train.labels)).toEqual([9, 4]);
    expect(ds.train.images[784 + 28 * 3 + 4]).toBe(201);
  });

  it('errors: wrong magic, truncated data, label count mismatch, label out of range, bad gzip', async () => {
    const cases: [string, (dir: string) => Promise<void>, RegExp][] = [
      [
        't10k-images-idx3-ubyte.gz',
        async (dir) => {
          const raw = gunzipSync(await readFile(join(dir, 't10k-images-idx3-ubyte.gz')));
          raw[3] = 0x01;
          await writeFile(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(raw));
        },
        /magic 0x00000801; expected 0x00000803/,
      ],
      [
        'train-images-idx3-ubyte.gz',
        async (dir) => {
          const raw = gunzipSync(await readFile(join(dir, 'train-images-idx3-ubyte.gz')));
          await writeFile(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(raw.subarray(0, raw.length - 100)));
        },
        /truncated or oversized/,
      ],
      [
        'train-labels-idx1-ubyte.gz',
        async (dir) => {
          const raw = gunzipSync(await readFile(join(dir, 'train-labels-idx1-ubyte.gz')));
          raw[8] = 10;
          await writeFile(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(raw));
        },
        /record 0 has label 10; expected 0\.\.9/,
      ],
      [
        'train-images-idx3-ubyte.gz',
        async (dir) => {
          const gz = await readFile(join(dir, 'train-images-idx3-ubyte.gz'));
          await writeFile(join(dir, 'train-images-idx3-ubyte.gz'), gz.subarray(0, gz.length >> 1));
        },
        /not a valid gzip file/,
      ],
    ];
    for (const [file, corrupt, pattern] of cases) {
      const dir = await mkdtemp(join(root, 'err-'));
      await writeSyntheticFashionMnist(dir, { trainCount: 10, testCount: 10, seed: 1 });
      await corrupt(dir);
      const err = await loadDataset({ name: 'fashion-mnist', dataDir: dir, download: false, logger: silentLogger }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DatasetError);
      expect((err as DatasetError).file).toBe(join(dir, file));
      expect((err as Error).message).toMatch(pattern);
    }
  });
});
