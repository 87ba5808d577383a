import { mkdtemp, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDataset, formatDatasetCheck, writeSyntheticCifar } from './index.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pb-check-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('checkDataset', () => {
  it('reports sizes, counts per class, label range, mean/std and fingerprint', async () => {
    const dir = join(root, 'ok');
    const w = await writeSyntheticCifar(dir, { kind: 'cifar10', trainPerFile: 13, testCount: 20, seed: 9 });
    const r = await checkDataset({ name: 'cifar10', dataDir: dir });
    expect(r.ok).toBe(true);
    expect(r.errors).toEqual([]);
    expect(r.files.map((f) => [f.bytes, f.records])).toEqual([...Array(5).fill([13 * 3073, 13]), [20 * 3073, 20]]);
    const expectCounts = new Array(10).fill(0);
    for (const l of w.train.labels) expectCounts[l]++;
    expect(r.train!.perClass).toEqual(expectCounts);
    expect(r.train!.count).toBe(65);
    expect([r.test!.labelMin, r.test!.labelMax]).toEqual([0, 9]);
    // Red-channel mean straight from the written images.
    let sum = 0;
    for (let i = 0; i < w.test.images.length; i += 3) sum += w.test.images[i]!;
    expect(r.test!.mean[0]).toBeCloseTo(sum / (w.test.images.length / 3) / 255, 10);
    expect(r.officialCounts).toBe(false);
    expect(r.warnings.some((x) => x.includes('official'))).toBe(true);
    expect(r.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    const text = formatDatasetCheck(r);
    expect(text).toContain('dataset cifar10: OK');
    expect(text).toContain(`fingerprint: ${r.fingerprint}`);
    expect(text).toContain(`airplane=${expectCounts[0]}`);
    expect(text).toContain('normalisation used: mean 0.4914, 0.4822, 0.4465, std 0.2023, 0.1994, 0.2010');
  });

  it('turns a load error into ok: false with the message', async () => {
    const dir = join(root, 'bad');
    await writeSyntheticCifar(dir, { kind: 'cifar10', trainPerFile: 2, testCount: 2, seed: 9 });
    await truncate(join(dir, 'test_batch.bin'), 100);
    const r = await checkDataset({ name: 'cifar10', dataDir: dir });
    expect(r.ok).toBe(false);
    expect(r.errors[0]).toContain(join(dir, 'test_batch.bin'));
    expect(formatDatasetCheck(r)).toContain('dataset cifar10: FAILED');
    const unknown = await checkDataset({ name: 'mnist' });
    expect(unknown.ok).toBe(false);
    expect(unknown.errors[0]).toContain('expected one of');
  });

  it('checks the in-memory synthetic set', async () => {
    const r = await checkDataset({ name: 'synthetic', synthetic: { trainCount: 30, testCount: 10, seed: 1 } });
    expect(r.ok).toBe(true);
    expect(r.train!.perClass).toEqual(new Array(10).fill(3));
    expect(r.normalisation!.mean).toEqual(r.train!.mean);
  });
});
