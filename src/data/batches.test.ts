import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../util/rng.ts';
import { batches, numBatches, type ImageSplit } from './index.ts';
import { drawAugment } from './batches.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** count images of h x w x c; pixel value = (i*7 + y*13 + x*3 + ch*50) % 256, never 0 except by chance. */
function split(count: number, h: number, w: number, c: number): ImageSplit {
  const images = new Uint8Array(count * h * w * c);
  for (let i = 0; i < count; i++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let ch = 0; ch < c; ch++) images[((i * h + y) * w + x) * c + ch] = (i * 7 + y * 13 + x * 3 + ch * 50 + 1) % 256;
  return { images, labels: Int32Array.from({ length: count }, (_, i) => i % 3), count };
}

const pix = (s: ImageSplit, shape: { h: number; w: number; c: number }, i: number, y: number, x: number, ch: number) =>
  s.images[((i * shape.h + y) * shape.w + x) * shape.c + ch]!;

describe('batches', () => {
  it('normalises a known pixel: (v/255 - mean)/std', async () => {
    const shape = { h: 2, w: 2, c: 3 };
    const s = split(1, 2, 2, 3);
    s.images.set([0, 128, 255], 0); // pixel (0,0)
    const mean = [0.4914, 0.4822, 0.4465];
    const std = [0.2023, 0.1994, 0.201];
    const [b] = [...batches(s, shape, { batchSize: 4, shuffle: false, augment: false, mean, std })];
    const x = (await b!.x.data()) as Float32Array;
    expect(x[0]).toBeCloseTo((0 - 0.4914) / 0.2023, 5);
    expect(x[1]).toBeCloseTo((128 / 255 - 0.4822) / 0.1994, 5);
    expect(x[2]).toBeCloseTo((1 - 0.4465) / 0.201, 5);
    expect(b!.x.dtype).toBe('float32');
    expect(b!.y.dtype).toBe('int32');
    tf.dispose([b!.x, b!.y]);
  });

  it('shapes, labels and the last partial batch (kept, or dropped with dropLast)', async () => {
    const shape = { h: 3, w: 4, c: 2 };
    const s = split(10, 3, 4, 2);
    const opts = { batchSize: 4, shuffle: false, augment: false, mean: [0, 0], std: [1, 1] };
    const all = [...batches(s, shape, opts)];
    expect(all.map((b) => b.x.shape)).toEqual([
      [4, 3, 4, 2],
      [4, 3, 4, 2],
      [2, 3, 4, 2],
    ]);
    expect(all.map((b) => b.size)).toEqual([4, 4, 2]);
    expect(Array.from(await all[2]!.y.data())).toEqual([8 % 3, 9 % 3]);
    // Unshuffled, unaugmented: x equals the uint8 image / 255.
    const x1 = (await all[1]!.x.data()) as Float32Array;
    expect(x1[0]).toBeCloseTo(pix(s, shape, 4, 0, 0, 0) / 255, 6);
    for (const b of all) tf.dispose([b.x, b.y]);
    const dropped = [...batches(s, shape, { ...opts, dropLast: true })];
    expect(dropped.map((b) => b.size)).toEqual([4, 4]);
    expect(numBatches(10, 4)).toBe(3);
    expect(numBatches(10, 4, true)).toBe(2);
    for (const b of dropped) tf.dispose([b.x, b.y]);
  });

  it('shuffle is a seeded permutation: each image once, same order for the same seed', async () => {
    const shape = { h: 1, w: 1, c: 1 };
    const s: ImageSplit = { images: Uint8Array.from({ length: 50 }, (_, i) => i), labels: Int32Array.from({ length: 50 }, (_, i) => i), count: 50 };
    const run = async (seed: number) => {
      const out: number[] = [];
      for (const b of batches(s, shape, { batchSize: 16, shuffle: true, augment: false, rng: new Rng(seed), mean: [0], std: [1 / 255] })) {
        const x = Array.from(await b.x.data()).map(Math.round);
        expect(Array.from(await b.y.data())).toEqual(x); // labels travel with their images
        expect(Array.from(b.indices)).toEqual(x);
        out.push(...x);
        tf.dispose([b.x, b.y]);
      }
      return out;
    };
    const a = await run(1);
    expect([...a].sort((p, q) => p - q)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(await run(1)).toEqual(a);
    expect(await run(2)).not.toEqual(a);
    expect(a).toEqual(Array.from(new Rng(1).permutation(50)));
  });

  it('augmentation = crop of the zero-padded uint8 image (+ flip), then normalisation', async () => {
    const shape = { h: 8, w: 8, c: 3 };
    const s = split(6, 8, 8, 3);
    const mean = [0.5, 0.4, 0.3];
    const std = [0.2, 0.25, 0.3];
    const pad = 4;
    const rng = new Rng(11);
    // The same draws, replayed from a copy of the rng state: top, left, flip per image in batch order.
    const replay = new Rng(rng.getState());
    const got = [...batches(s, shape, { batchSize: 6, shuffle: false, augment: true, rng, mean, std, pad })];
    const x = (await got[0]!.x.data()) as Float32Array;
    let sawFlip = false;
    let sawNoFlip = false;
    let sawPad = false;
    for (let i = 0; i < 6; i++) {
      const a = drawAugment(replay, pad);
      sawFlip ||= a.flip;
      sawNoFlip ||= !a.flip;
      for (let y = 0; y < 8; y++)
        for (let xo = 0; xo < 8; xo++)
          for (let ch = 0; ch < 3; ch++) {
            // Build the padded 16x16 image explicitly, crop at (top, left), then flip.
            const cx = a.flip ? 7 - xo : xo;
            const py = y + a.top;
            const px = cx + a.left;
            const inside = py >= pad && py < pad + 8 && px >= pad && px < pad + 8;
            const v = inside ? pix(s, shape, i, py - pad, px - pad, ch) : 0;
            sawPad ||= !inside;
            const expected = (v / 255 - mean[ch]!) / std[ch]!;
            expect(x[((i * 8 + y) * 8 + xo) * 3 + ch]).toBeCloseTo(expected, 5);
          }
    }
    expect(sawPad).toBe(true);
    tf.dispose([got[0]!.x, got[0]!.y]);
    // Over many draws both flips and all 9 offsets occur.
    const r = new Rng(3);
    const tops = new Set<number>();
    let flips = 0;
    for (let k = 0; k < 500; k++) {
      const a = drawAugment(r, 4);
      tops.add(a.top);
      flips += a.flip ? 1 : 0;
    }
    expect([...tops].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(flips).toBeGreaterThan(200);
    expect(flips).toBeLessThan(300);
    expect([sawFlip, sawNoFlip]).toEqual([true, true]);
  });

  it('a flip with a centred crop mirrors each row exactly', async () => {
    const shape = { h: 2, w: 3, c: 1 };
    const s: ImageSplit = { images: Uint8Array.from([1, 2, 3, 4, 5, 6]), labels: Int32Array.from([0]), count: 1 };
    // Find a seed whose first draw is (top 4, left 4, flip): a centred crop, mirrored.
    let seed = 0;
    for (; seed < 10000; seed++) {
      const a = drawAugment(new Rng(seed), 4);
      if (a.top === 4 && a.left === 4 && a.flip) break;
    }
    const [b] = [...batches(s, shape, { batchSize: 1, shuffle: false, augment: true, rng: new Rng(seed), mean: [0], std: [1 / 255] })];
    expect(Array.from(await b!.x.data()).map(Math.round)).toEqual([3, 2, 1, 6, 5, 4]);
    tf.dispose([b!.x, b!.y]);
  });

  it('leaks no tensors when the caller disposes each batch', () => {
    const shape = { h: 4, w: 4, c: 3 };
    const s = split(37, 4, 4, 3);
    const before = tf.memory().numTensors;
    for (let epoch = 0; epoch < 3; epoch++) {
      for (const b of batches(s, shape, { batchSize: 8, shuffle: true, augment: true, rng: new Rng(epoch), mean: [0, 0, 0], std: [1, 1, 1] })) {
        expect(tf.memory().numTensors).toBe(before + 2);
        tf.dispose([b.x, b.y]);
      }
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it('rejects a shape that does not match the split, and shuffle without an rng', () => {
    const s = split(2, 4, 4, 3);
    expect(() => [...batches(s, { h: 4, w: 4, c: 1 }, { batchSize: 2, shuffle: false, augment: false, mean: [0], std: [1] })]).toThrow(
      /not 2 images of 4x4x1/,
    );
    expect(() => [...batches(s, { h: 4, w: 4, c: 3 }, { batchSize: 2, shuffle: true, augment: false, mean: [0, 0, 0], std: [1, 1, 1] })]).toThrow(
      /need an rng/,
    );
  });
});
