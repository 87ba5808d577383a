import { describe, expect, it } from 'vitest';
import { Rng } from './rng.ts';
import { kthSmallestInPlace } from './select.ts';

describe('kthSmallestInPlace', () => {
  it('equals the sorted array at every k, with ties, negatives and runs of equal values', () => {
    const rng = new Rng(7);
    for (const n of [1, 2, 3, 10, 257]) {
      for (const levels of [2, 5, 1000]) {
        const values = Float64Array.from({ length: n }, () => rng.int(levels) - 1);
        const sorted = Float64Array.from(values).sort();
        for (let k = 0; k < n; k++) expect(kthSmallestInPlace(Float64Array.from(values), k)).toBe(sorted[k]);
      }
    }
  });

  it('handles sorted, reversed and constant inputs', () => {
    const n = 1000;
    const up = Float64Array.from({ length: n }, (_, i) => i);
    const down = Float64Array.from({ length: n }, (_, i) => n - i);
    const same = new Float64Array(n).fill(3);
    expect(kthSmallestInPlace(up, 123)).toBe(123);
    expect(kthSmallestInPlace(down, 0)).toBe(1);
    expect(kthSmallestInPlace(same, 999)).toBe(3);
  });

  it('refuses a k outside the array', () => {
    expect(() => kthSmallestInPlace(new Float64Array(3), 3)).toThrow(RangeError);
    expect(() => kthSmallestInPlace(new Float64Array(0), 0)).toThrow(RangeError);
  });
});
