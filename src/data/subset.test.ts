import { describe, expect, it } from 'vitest';
import { ConfigError } from '../util/errors.ts';
import { balancedSubset, classCounts, splitValidation, takeIndices, type ImageSplit } from './index.ts';

/** 4 classes with 10, 20, 30, 40 images; image i is 2 bytes [i & 255, i >> 8] so it can be identified. */
function toySplit(): ImageSplit {
  const labels: number[] = [];
  for (let k = 0; k < 4; k++) for (let j = 0; j < 10 * (k + 1); j++) labels.push(k);
  // Interleave so classes are not contiguous.
  const order = labels.map((_, i) => i).sort((a, b) => ((a * 37) % 100) - ((b * 37) % 100));
  const l = Int32Array.from(order.map((i) => labels[i]!));
  const images = new Uint8Array(l.length * 2);
  for (let i = 0; i < l.length; i++) {
    images[2 * i] = i & 255;
    images[2 * i + 1] = i >> 8;
  }
  return { images, labels: l, count: l.length };
}

const ids = (s: ImageSplit) => Array.from({ length: s.count }, (_, i) => s.images[2 * i]! + 256 * s.images[2 * i + 1]!);

describe('balancedSubset', () => {
  it('takes total/numClasses per class, the remainder to the first classes', () => {
    const s = toySplit();
    const sub = balancedSubset(s, { total: 22, seed: 1 });
    expect(sub.count).toBe(22);
    expect(classCounts(sub.labels, 4)).toEqual([6, 6, 5, 5]);
    // Every picked image keeps its own label.
    for (const [k, id] of ids(sub).entries()) expect(sub.labels[k]).toBe(s.labels[id]);
    expect(new Set(ids(sub)).size).toBe(22);
  });

  it('perClass, deterministic per seed, different across seeds, ascending original order', () => {
    const s = toySplit();
    const a = balancedSubset(s, { perClass: 8, seed: 5 });
    const b = balancedSubset(s, { perClass: 8, seed: 5 });
    const c = balancedSubset(s, { perClass: 8, seed: 6 });
    expect(classCounts(a.labels, 4)).toEqual([8, 8, 8, 8]);
    expect(ids(a)).toEqual(ids(b));
    expect(ids(a)).not.toEqual(ids(c));
    expect(ids(a)).toEqual([...ids(a)].sort((x, y) => x - y));
  });

  it('a class with too few images is a ConfigError naming the class', () => {
    expect(() => balancedSubset(toySplit(), { perClass: 11, seed: 1 })).toThrow(ConfigError);
    expect(() => balancedSubset(toySplit(), { perClass: 11, seed: 1 })).toThrow(/class 0 has 10 images/);
  });

  it('carries coarse labels', () => {
    const s = { ...toySplit() };
    s.coarseLabels = s.labels.map((l) => 100 + l);
    const sub = balancedSubset(s, { total: 8, seed: 2 });
    expect(Array.from(sub.coarseLabels!)).toEqual(Array.from(sub.labels).map((l) => 100 + l));
  });
});

describe('splitValidation', () => {
  it('train and val are disjoint, cover the split, val is class-balanced', () => {
    const s = toySplit();
    const { train, val } = splitValidation(s, { valCount: 20, seed: 3 });
    expect(val.count).toBe(20);
    expect(train.count).toBe(80);
    const all = [...ids(train), ...ids(val)].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(classCounts(val.labels, 4)).toEqual([5, 5, 5, 5]);
    expect(classCounts(train.labels, 4)).toEqual([5, 15, 25, 35]);
  });

  it('unstratified split is a seeded random draw, disjoint', () => {
    const s = toySplit();
    const r1 = splitValidation(s, { valCount: 30, seed: 9, stratified: false });
    const r2 = splitValidation(s, { valCount: 30, seed: 9, stratified: false });
    expect(ids(r1.val)).toEqual(ids(r2.val));
    const v = new Set(ids(r1.val));
    expect(ids(r1.train).some((i) => v.has(i))).toBe(false);
    expect(r1.train.count + r1.val.count).toBe(100);
  });

  it('rejects a valCount that leaves no training images', () => {
    expect(() => splitValidation(toySplit(), { valCount: 100, seed: 1 })).toThrow(/valCount/);
  });
});

describe('takeIndices', () => {
  it('copies the chosen images in the given order', () => {
    const s = toySplit();
    const t = takeIndices(s, [5, 2, 99]);
    expect(ids(t)).toEqual([5, 2, 99]);
    expect(Array.from(t.labels)).toEqual([s.labels[5], s.labels[2], s.labels[99]]);
  });
});
