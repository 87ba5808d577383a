import { describe, expect, it } from 'vitest';
import { ConfigError } from '../util/errors.ts';
import { channelStats, classCounts, syntheticDataset, type ImageSplit } from './index.ts';

/** Nearest-class-mean classifier fitted on train, accuracy on test: a stand-in for "a tiny net can learn it". */
function nearestMeanAccuracy(train: ImageSplit, test: ImageSplit, numClasses: number): number {
  const size = train.images.length / train.count;
  const means = Array.from({ length: numClasses }, () => new Float64Array(size));
  const counts = classCounts(train.labels, numClasses);
  for (let i = 0; i < train.count; i++) {
    const m = means[train.labels[i]!]!;
    for (let p = 0; p < size; p++) m[p]! += train.images[i * size + p]! / counts[train.labels[i]!]!;
  }
  let correct = 0;
  for (let i = 0; i < test.count; i++) {
    let best = -1;
    let bestD = Infinity;
    for (let k = 0; k < numClasses; k++) {
      let d = 0;
      for (let p = 0; p < size; p++) {
        const e = test.images[i * size + p]! - means[k]![p]!;
        d += e * e;
      }
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    }
    if (best === test.labels[i]) correct++;
  }
  return correct / test.count;
}

describe('syntheticDataset', () => {
  it('is learnable: a nearest-class-mean classifier is far above chance; noise-only is at chance', () => {
    const ds = syntheticDataset({ numClasses: 10, trainCount: 200, testCount: 100, seed: 3, height: 8, width: 8 });
    expect(nearestMeanAccuracy(ds.train, ds.test, 10)).toBeGreaterThan(0.9);
    const noise = syntheticDataset({ numClasses: 10, trainCount: 200, testCount: 200, seed: 3, height: 8, width: 8, learnable: false });
    expect(nearestMeanAccuracy(noise.train, noise.test, 10)).toBeLessThan(0.25);
  });

  it('balanced labels, deterministic per seed, own normalisation statistics', () => {
    const a = syntheticDataset({ numClasses: 4, trainCount: 42, testCount: 8, seed: 1, height: 4, width: 4, channels: 2 });
    const b = syntheticDataset({ numClasses: 4, trainCount: 42, testCount: 8, seed: 1, height: 4, width: 4, channels: 2 });
    const c = syntheticDataset({ numClasses: 4, trainCount: 42, testCount: 8, seed: 2, height: 4, width: 4, channels: 2 });
    expect(classCounts(a.train.labels, 4)).toEqual([11, 11, 10, 10]);
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a.fingerprint).not.toBe(c.fingerprint);
    expect(a.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(Buffer.from(a.train.images).equals(Buffer.from(b.train.images))).toBe(true);
    expect([a.name, a.height, a.width, a.channels, a.train.images.length]).toEqual(['synthetic', 4, 4, 2, 42 * 32]);
    // mean/std computed directly over channel 1.
    const ch1 = Array.from(a.train.images).filter((_, i) => i % 2 === 1);
    const m = ch1.reduce((s, v) => s + v, 0) / ch1.length;
    const sd = Math.sqrt(ch1.reduce((s, v) => s + (v - m) ** 2, 0) / ch1.length);
    expect(a.mean[1]).toBeCloseTo(m / 255, 10);
    expect(a.std[1]).toBeCloseTo(sd / 255, 10);
    expect(channelStats(a.train, 2).mean).toEqual(a.mean);
  });

  it('rejects bad sizes with the key named', () => {
    expect(() => syntheticDataset({ numClasses: 10, trainCount: 5, testCount: 20, seed: 1 })).toThrow(ConfigError);
    expect(() => syntheticDataset({ numClasses: 10, trainCount: 5, testCount: 20, seed: 1 })).toThrow(/trainCount/);
    expect(() => syntheticDataset({ numClasses: 10, trainCount: 50, testCount: 20, seed: 1, height: 0 })).toThrow(/height/);
  });
});
