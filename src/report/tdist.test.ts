import { describe, expect, it } from 'vitest';
import {
  lnGamma,
  normalCdf,
  regularizedIncompleteBeta,
  studentTCdf,
  studentTQuantile,
  studentTTwoSidedP,
} from './tdist.ts';

/** t density, for an independent check by numerical integration. */
function tDensity(x: number, df: number): number {
  return Math.exp(
    lnGamma((df + 1) / 2) - lnGamma(df / 2) - 0.5 * Math.log(df * Math.PI) - ((df + 1) / 2) * Math.log1p((x * x) / df),
  );
}

/** P(T <= t) = 1/2 + ∫_0^t f by composite Simpson with many panels. */
function cdfBySimpson(t: number, df: number): number {
  const n = 20000;
  const h = t / n;
  let s = tDensity(0, df) + tDensity(t, df);
  for (let i = 1; i < n; i++) s += (i % 2 === 1 ? 4 : 2) * tDensity(i * h, df);
  return 0.5 + (s * h) / 3;
}

describe('lnGamma', () => {
  it('matches factorials and Γ(1/2) = √π', () => {
    expect(lnGamma(1)).toBeCloseTo(0, 13);
    expect(lnGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(lnGamma(11)).toBeCloseTo(Math.log(3628800), 11);
    expect(lnGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
    expect(lnGamma(0.1)).toBeCloseTo(Math.log(9.513507698668732), 12);
  });
});

describe('regularised incomplete beta', () => {
  it('equals closed forms: I_x(1,1) = x, I_x(a,1) = x^a, I_x(1,b) = 1-(1-x)^b', () => {
    for (const x of [0.01, 0.3, 0.5, 0.77, 0.99]) {
      expect(regularizedIncompleteBeta(x, 1, 1)).toBeCloseTo(x, 13);
      expect(regularizedIncompleteBeta(x, 3.5, 1)).toBeCloseTo(x ** 3.5, 13);
      expect(regularizedIncompleteBeta(x, 1, 2.25)).toBeCloseTo(1 - (1 - x) ** 2.25, 13);
    }
  });
  it('satisfies the symmetry I_x(a,b) = 1 - I_{1-x}(b,a)', () => {
    expect(regularizedIncompleteBeta(0.3, 2.5, 7.1)).toBeCloseTo(1 - regularizedIncompleteBeta(0.7, 7.1, 2.5), 13);
  });
});

describe('Student t CDF', () => {
  it('equals the Cauchy CDF for df = 1 and the closed form for df = 2', () => {
    for (const t of [-30, -2.5, -0.3, 0, 0.7, 1, 4.2, 50]) {
      expect(studentTCdf(t, 1)).toBeCloseTo(0.5 + Math.atan(t) / Math.PI, 13);
      expect(studentTCdf(t, 2)).toBeCloseTo(0.5 + t / (2 * Math.sqrt(2 + t * t)), 13);
    }
  });
  it('matches a numerical integration of the density for integer and fractional df', () => {
    for (const df of [3, 7.3, 12.6, 41.9]) {
      for (const t of [0.4, 1.3, 2.9]) {
        expect(studentTCdf(t, df)).toBeCloseTo(cdfBySimpson(t, df), 9);
        expect(studentTCdf(-t, df)).toBeCloseTo(1 - cdfBySimpson(t, df), 9);
      }
    }
  });
  it('tends to the normal CDF, whose table values it reproduces at df = Infinity', () => {
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 12);
    expect(normalCdf(-1)).toBeCloseTo(0.15865525393145707, 12);
    expect(studentTCdf(1.5, Infinity)).toBeCloseTo(0.9331927987311419, 12);
    expect(Math.abs(studentTCdf(1.5, 1e6) - normalCdf(1.5))).toBeLessThan(1e-6);
  });
  it('two-sided p equals 2 * (1 - CDF)', () => {
    for (const [t, df] of [[2.1, 5], [0.3, 9.4], [-3.3, 17], [4.4, Infinity]] as const) {
      expect(studentTTwoSidedP(t, df)).toBeCloseTo(2 * (1 - studentTCdf(Math.abs(t), df)), 12);
    }
  });
});

describe('Student t quantile', () => {
  it('reproduces the printed t table, t_{0.975, df}', () => {
    const table: [number, number][] = [
      [1, 12.706],
      [2, 4.303],
      [5, 2.571],
      [10, 2.228],
      [30, 2.042],
      [Infinity, 1.96],
    ];
    for (const [df, value] of table) expect(studentTQuantile(0.975, df)).toBeCloseTo(value, 3);
    // more table columns: t_{0.95, 4} = 2.132, t_{0.995, 20} = 2.845
    expect(studentTQuantile(0.95, 4)).toBeCloseTo(2.132, 3);
    expect(studentTQuantile(0.995, 20)).toBeCloseTo(2.845, 3);
  });
  it('inverts the CDF, including fractional (Welch) df and lower tails', () => {
    for (const df of [1.5, 3.7, 8.25, 23.9]) {
      for (const p of [0.001, 0.05, 0.3, 0.8, 0.975]) {
        expect(studentTCdf(studentTQuantile(p, df), df)).toBeCloseTo(p, 10);
      }
    }
    // df = 1: the quantile is the Cauchy one, tan(π(p - 1/2))
    expect(studentTQuantile(0.9, 1)).toBeCloseTo(Math.tan(Math.PI * 0.4), 9);
  });
  it('rejects invalid arguments with a message naming the value', () => {
    expect(() => studentTQuantile(1.2, 3)).toThrow(/1\.2/);
    expect(() => studentTCdf(1, 0)).toThrow(/degrees of freedom/);
  });
});
