import { describe, expect, it } from 'vitest';
import { Rng } from './rng.ts';

describe('Rng', () => {
  it('is reproducible from a seed and from a saved state', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    const state = a.getState();
    const after = Array.from({ length: 5 }, () => a.next());
    const resumed = new Rng(state);
    expect(Array.from({ length: 5 }, () => resumed.next())).toEqual(after);
  });

  it('gives different streams for different seeds', () => {
    expect(new Rng(1).next()).not.toEqual(new Rng(2).next());
  });

  it('draws uniform floats with the right mean and normals with unit variance', () => {
    const r = new Rng(7);
    let s = 0;
    let s2 = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) s += r.next();
    expect(s / n).toBeCloseTo(0.5, 1);
    s = 0;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.05);
    expect(s2 / n).toBeGreaterThan(0.95);
    expect(s2 / n).toBeLessThan(1.05);
  });

  it('permutation contains every index once', () => {
    const p = Array.from(new Rng(3).permutation(100)).sort((x, y) => x - y);
    expect(p).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});
