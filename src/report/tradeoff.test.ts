import { describe, expect, it } from 'vitest';
import { criteriaArms, criteriaRows, fixtureRow, granularityRows, SEED_OFFSETS } from './fixtures/tradeoff.ts';
import { welch } from './stats.ts';
import { studentTQuantile } from './tdist.ts';
import { evaluateStudyHypotheses, oneSampleMdd, STUDY_HYPOTHESES, type StudyVerdict } from './studyHypotheses.ts';
import {
  compareArms,
  holmAdjust,
  isTradeoffStudy,
  methodLabel,
  minimumDetectableDifference,
  rankTables,
  rankVerdictOf,
  seedsPerArmNeeded,
  tradeoffGroups,
  unprunedStats,
  verdictOf,
} from './tradeoff.ts';
import { EXACT_WITHIN, rankTableMarkdown, tradeoffFindings, unreachedPoints } from './tradeoffSummary.ts';
import { BUDGET_TOLERANCE } from '../pruning/budget.ts';
import type { RunRow } from '../results/columns.ts';

// Printed Student t table values (e.g. NIST/SEMATECH e-Handbook, Table of t critical values).
const T975_DF4 = 2.776445105;
const T80_DF4 = 0.940964840;
const Z975 = 1.959963985;
const Z80 = 0.841621234;

const loopMean = (x: number[]): number => {
  let s = 0;
  for (const v of x) s += v;
  return s / x.length;
};
const loopVar = (x: number[]): number => {
  const m = loopMean(x);
  let s = 0;
  for (const v of x) s += (v - m) ** 2;
  return s / (x.length - 1);
};

describe('minimum detectable difference', () => {
  it('matches (t_{0.975,4} + t_{0.8,4}) * sd * sqrt(2/3) from a printed t table for 3 seeds per arm of equal SD', () => {
    expect(minimumDetectableDifference(0.5, 0.5, 3, 3)).toBeCloseTo((T975_DF4 + T80_DF4) * 0.5 * Math.sqrt(2 / 3), 6);
  });
  it("uses Welch's df: one arm without spread leaves df = nA - 1 (t table: t_{0.975,2} = 4.302653, t_{0.8,2} = 1.060660)", () => {
    expect(minimumDetectableDifference(0.5, 0, 3, 3)).toBeCloseTo((4.302653 + 1.06066) * (0.5 / Math.sqrt(3)), 5);
    // Unequal SDs: the pooled formula (df 4) would promise a smaller MDD than Welch's interval can give.
    const pooled = (T975_DF4 + T80_DF4) * Math.sqrt((1 + 0.01) / 2) * Math.sqrt(2 / 3);
    expect(minimumDetectableDifference(1, 0.1, 3, 3)).toBeGreaterThan(1.3 * pooled);
  });
  it('tends to the normal-approximation formula (z_{0.975} + z_{0.8}) * sd * sqrt(2/n) for many seeds', () => {
    const n = 5000;
    const mdd = minimumDetectableDifference(1, 1, n, n);
    expect(mdd / ((Z975 + Z80) * Math.sqrt(2 / n))).toBeCloseTo(1, 3);
  });
  it('seedsPerArmNeeded is the first n whose MDD reaches the distance', () => {
    const n = seedsPerArmNeeded(0.2, 0.2, 0.3)!;
    expect(minimumDetectableDifference(0.2, 0.2, n, n)).toBeLessThanOrEqual(0.3);
    expect(minimumDetectableDifference(0.2, 0.2, n - 1, n - 1)).toBeGreaterThan(0.3);
    expect(seedsPerArmNeeded(1, 1, 0.001)).toBeNull(); // beyond 100 seeds
    expect(seedsPerArmNeeded(Math.sqrt(0.18), 0, 0.8)!).toBeGreaterThan(seedsPerArmNeeded(0.3, 0.3, 0.8)!); // same total variance, fewer df
  });
  it('one-sample MDD uses s / sqrt(n) and df = n - 1', () => {
    expect(oneSampleMdd(0.5, 5)).toBeCloseTo((T975_DF4 + T80_DF4) * (0.5 / Math.sqrt(5)), 6);
  });
  it('refuses fewer than 2 seeds per arm', () => {
    expect(() => minimumDetectableDifference(1, 1, 1, 3)).toThrow(/at least 2 seeds/);
  });
});

describe('verdict modes with a margin', () => {
  it('decides each mode from the interval and margin as documented', () => {
    // interval [-0.65, 0.25] (diff -0.2), margin 0.3 / 1 / 0
    expect(verdictOf('at-least', -0.65, 0.25, 0.3)).toBe('inconclusive');
    expect(verdictOf('at-least', -0.65, 0.25, 1)).toBe('supported');
    expect(verdictOf('at-least', -0.65, 0.25, 0)).toBe('inconclusive');
    expect(verdictOf('at-least', -1.2, -0.4, 0.3)).toBe('contradicted');
    expect(verdictOf('at-least', -1.2, -0.4, 0)).toBe('contradicted');
    expect(verdictOf('better', 0.1, 0.8, 0.3)).toBe('supported');
    expect(verdictOf('better', -0.4, 0.2, 0.3)).toBe('contradicted');
    expect(verdictOf('better', -0.4, 0.2, 0)).toBe('inconclusive');
    expect(verdictOf('not-better', -0.65, 0.25, 0.3)).toBe('supported');
    expect(verdictOf('not-better', 0.05, 0.9, 0.3)).toBe('contradicted');
    expect(verdictOf('equivalent', -0.2, 0.25, 0.3)).toBe('supported');
    expect(verdictOf('equivalent', 0.4, 0.9, 0.3)).toBe('contradicted');
    expect(verdictOf('equivalent', -0.2, 0.5, 0.3)).toBe('inconclusive');
    expect(verdictOf('equivalent', -0.2, 0.25, 0)).toBe('inconclusive');
  });
  it('rank verdicts: a tie within the margin first, then better / worse, and no ties with margin 0', () => {
    expect(rankVerdictOf(0.05, 0.25, 0.3)).toBe('tied within margin');
    expect(rankVerdictOf(0.05, 0.25, 0)).toBe('better');
    expect(rankVerdictOf(-0.9, -0.1, 0.3)).toBe('worse');
    expect(rankVerdictOf(-0.2, 0.5, 0.3)).toBe('inconclusive');
  });
  it('compareArms gives the Welch interval, the MDD of its seeds and the seeds that would decide it', () => {
    const a = [90, 90.2, 90.4];
    const b = [90.2, 90.4, 90.6];
    const c = compareArms(a, b, 'at-least', 0.3);
    const w = welch(a, b);
    expect(c.diff).toBeCloseTo(-0.2, 12);
    expect(c.welch!.ciLow).toBeCloseTo(w.ciLow, 12);
    expect(c.verdict).toBe(verdictOf('at-least', w.ciLow, w.ciHigh, 0.3));
    expect(c.mdd).toBeCloseTo((T975_DF4 + T80_DF4) * 0.2 * Math.sqrt(2 / 3), 6);
    // distance to the boundary -0.3 is 0.1: the seeds at which the MDD (sd 0.2) reaches 0.1
    expect(c.seedsNeeded).toBe(seedsPerArmNeeded(0.2, 0.2, 0.1));
    expect(compareArms([90], b, 'at-least', 0.3)).toMatchObject({ verdict: 'inconclusive', welch: null, mdd: null });
    expect(() => compareArms(a, b, 'at-least', -1)).toThrow(/margin/);
  });
});

describe('tradeoff arms', () => {
  const rows = criteriaRows();
  const groups = tradeoffGroups(rows);
  it('one arm per (method, operating point): 2 models x 3 targets x (10 fine-tuned + 1 Scratch-B)', () => {
    expect(groups.length).toBe(2 * 3 * 11);
    for (const arm of criteriaArms()) {
      const g = groups.find((x) => x.point.model === arm.model && x.point.target === arm.target && x.key.criterion === arm.criterion && x.key.scope === arm.scope && x.key.protocol === arm.protocol)!;
      expect(g.top1.n).toBe(3);
      expect(g.top1.mean).toBeCloseTo(arm.mean, 2);
      expect(g.top1.std!).toBeCloseTo(0.2 * arm.spread, 2);
    }
  });
  it('compression, MAC speedup, latency speedup and criterion seconds are per-row ratios averaged over seeds', () => {
    const g = groups.find((x) => x.point.model === 'resnet56' && x.point.target === 4 && x.key.criterion === 'taylor' && x.key.scope === 'global' && x.key.protocol === 'fine-tune')!;
    const mine = rows.filter((r) => r.model === 'resnet56' && r.target === 4 && r.criterion === 'taylor' && r.scope === 'global' && r.protocol === 'fine-tune');
    expect(mine.length).toBe(3);
    expect(g.compression!).toBeCloseTo(loopMean(mine.map((r) => Number(r.params_base) / Number(r.params_effective))), 9);
    expect(g.macSpeedup!).toBeCloseTo(loopMean(mine.map((r) => Number(r.macs_base) / Number(r.macs_effective))), 9);
    const base = rows.find((r) => r.model === 'resnet56' && r.protocol === 'baseline' && r.seed === 1)!;
    expect(g.latencySpeedup!).toBeCloseTo(loopMean(mine.map((r) => Number(base.latency_ms_b1) / Number(r.latency_ms_b1))), 9);
    expect(g.criterionSeconds!).toBeCloseTo(loopMean(mine.map((r) => Number(r.criterion_seconds))), 9);
    expect(g.label).toBe('taylor global');
  });
  it('rows of one seed on two backends are one sample (3 seeds, not 6), and labels lead with the granularity', () => {
    const g = tradeoffGroups(granularityRows());
    const lamp = g.find((x) => x.key.criterion === 'lamp' && x.point.target === 2)!;
    expect(lamp.seeds).toEqual([1, 2, 3]);
    expect(lamp.top1.n).toBe(3);
    expect(lamp.label).toBe('weight lamp global');
    expect(g.find((x) => x.key.granularity === 'layer')!.label).toBe('layer blocks by l1');
    expect(unprunedStats(granularityRows()).get('resnet56')!.n).toBe(3);
  });
  it('labels: criterion and scope, Scratch-B and AGP suffixes', () => {
    expect(methodLabel({ granularity: 'channel', method: 'l1', criterion: 'l1', scope: 'layerwise', protocol: 'scratch-B' }, false)).toBe('l1 layerwise, Scratch-B');
    expect(methodLabel({ granularity: 'weight', method: 'magnitude', criterion: 'magnitude', scope: 'global', protocol: 'gradual' }, true)).toBe('weight magnitude global, AGP');
    // as the granularity study's rows name them: block removal by BN scale has no scope
    expect(methodLabel({ granularity: 'layer', method: 'block', criterion: 'bn-gamma', scope: 'none', protocol: 'fine-tune' }, true)).toBe('layer blocks by bn-gamma');
    expect(methodLabel({ granularity: 'channel', method: 'l1', criterion: 'l1', scope: 'global', protocol: 'prune' }, true)).toBe('channel l1 global, right after pruning');
  });
  it('a study is detected by target_kind or scope values; rows without the columns are not one', () => {
    expect(isTradeoffStudy(rows)).toBe(true);
    const plain = fixtureRow({ protocol: 'fine-tune' }) as Record<string, unknown>;
    delete plain.scope;
    delete plain.target_kind;
    expect(isTradeoffStudy([plain as never])).toBe(false);
  });
});

describe('rank tables', () => {
  const groups = tradeoffGroups(criteriaRows());
  const tables = rankTables(groups, 0.3);
  const at = (model: string, target: number) => tables.find((t) => t.point.model === model && t.point.target === target)!;
  it('one table per operating point, fine-tuned arms ranked by mean, every pair once', () => {
    expect(tables.length).toBe(6);
    const t = at('resnet56', 2);
    expect(t.ranked.length).toBe(10);
    expect(t.pairs.length).toBe((10 * 9) / 2);
    expect(t.ranked[0]!.label).toBe('taylor layerwise');
    for (let i = 1; i < t.ranked.length; i++) expect(t.ranked[i - 1]!.top1.mean).toBeGreaterThanOrEqual(t.ranked[i]!.top1.mean);
    expect(t.ranked.some((g) => g.key.protocol === 'scratch-B')).toBe(false);
  });
  it('a pair verdict follows its Welch interval computed directly', () => {
    const t = at('resnet56', 2);
    const p = t.pairs.find((x) => x.a.label === 'taylor layerwise' && x.b.label === 'fpgm layerwise')!;
    const w = welch(p.a.top1Values, p.b.top1Values);
    expect(p.comparison.diff).toBeCloseTo(1.05, 2);
    expect(p.comparison.welch!.p).toBeCloseTo(w.p, 12);
    expect(p.verdict).toBe('better');
    // l1 vs fpgm layerwise at vgg16 2x differ by 0.05 with SD 0.2: neither better nor inside +-0.3
    const q = at('vgg16', 2).pairs.find((x) => x.a.label === 'fpgm layerwise' && x.b.label === 'l1 layerwise')!;
    expect(q.verdict).toBe('inconclusive');
    // with a 1-point margin the same pair is a tie; with margin 0 there are no ties anywhere
    expect(rankTables(groups, 1).find((t2) => t2.point.model === 'vgg16' && t2.point.target === 2)!.pairs.find((x) => x.a.label === 'fpgm layerwise' && x.b.label === 'l1 layerwise')!.verdict).toBe('tied within margin');
    expect(rankTables(groups, 0).flatMap((t2) => t2.pairs).some((x) => x.verdict === 'tied within margin')).toBe(false);
  });
  it("Holm's step-down: hand-computed adjusted p-values, in input order and monotone", () => {
    // Sorted 0.01, 0.02, 0.03, 0.5 -> x4, x3, x2, x1: 0.04, 0.06, 0.06 (monotone, not 0.06 -> 0.06), 0.5.
    expect(holmAdjust([0.03, 0.5, 0.01, 0.02]).map((q) => +q.toFixed(12))).toEqual([0.06, 0.5, 0.04, 0.06]);
    expect(holmAdjust([0.4, 0.3])).toEqual([0.6, 0.6]); // min(1, 2 x 0.3) = 0.6, then max(0.6, 0.4)
    expect(holmAdjust([0.9, 0.8])).toEqual([1, 1]);
    expect(holmAdjust([])).toEqual([]);
  });
  it("every tested pair of a table carries its Holm-adjusted p over that table's tested pairs", () => {
    for (const t of tables) {
      const tested = t.pairs.filter((p) => p.comparison.welch);
      const expected = holmAdjust(tested.map((p) => p.comparison.welch!.p));
      tested.forEach((p, i) => {
        expect(p.pHolm).toBeCloseTo(expected[i]!, 12);
        expect(p.pHolm!).toBeGreaterThanOrEqual(p.comparison.welch!.p);
      });
      expect(t.pairs.filter((p) => !p.comparison.welch).every((p) => p.pHolm === null)).toBe(true);
    }
    // The findings say how many of the leader's wins survive the correction.
    const found = tradeoffFindings({ verdicts: [], tables, unpruned: new Map(), margin: 0.3, alpha: 0.05 });
    const t = at('resnet56', 2);
    const wins = t.pairs.filter((p) => p.a === t.ranked[0] && p.verdict === 'better');
    const kept = wins.filter((p) => p.pHolm! < 0.05).length;
    expect(found).toContain(`significantly ahead of ${wins.length} of 9; ${kept} after Holm's correction over the table's 45 pairs`);
  });
});

describe('study hypotheses', () => {
  const rows = criteriaRows();
  const verdicts = evaluateStudyHypotheses(rows, tradeoffGroups(rows), [], { margin: 0.3 });
  const of = (id: string): StudyVerdict[] => verdicts.filter((v) => v.hypothesisId === id);
  it('every hypothesis is data with a source; secondary sources are marked', () => {
    expect(STUDY_HYPOTHESES.map((h) => h.id)).toEqual(['H-global-compression', 'H-global-speedup', 'H-rankflip', 'H-similar', 'H-random', 'H-unstructured', 'H-speedup', 'H-speedup-b64', 'H-rethinking']);
    for (const h of STUDY_HYPOTHESES) expect(h.source.length).toBeGreaterThan(10);
    expect(STUDY_HYPOTHESES.find((h) => h.id === 'H-rankflip')!.secondary).toBe(true);
    expect(STUDY_HYPOTHESES.find((h) => h.id === 'H-rethinking')!.secondary).toBe(false);
  });
  it('Rethinking at every operating point: +0.5 supported, 0 inconclusive, -1 contradicted (margin 0.3)', () => {
    const r = of('H-rethinking');
    expect(r.length).toBe(6);
    const get = (model: string, target: number) => r.find((v) => v.point!.model === model && v.point!.target === target)!;
    expect(get('vgg16', 2).diff).toBeCloseTo(0.5, 2);
    expect(get('vgg16', 2).verdict).toBe('supported');
    expect(get('vgg16', 4).verdict).toBe('inconclusive');
    expect(get('vgg16', 4).seedsNeeded).toBe(seedsPerArmNeeded(0.2, 0.2, 0.3));
    expect(get('vgg16', 8).verdict).toBe('contradicted');
    expect(get('vgg16', 8).labelA).toBe('l1 layerwise, Scratch-B');
    // margin 0: the 4x point stays inconclusive, and the margin is recorded on the verdict
    const zero = evaluateStudyHypotheses(rows, tradeoffGroups(rows), [], { margin: 0 }).filter((v) => v.hypothesisId === 'H-rethinking');
    expect(zero.every((v) => v.margin === 0)).toBe(true);
  });
  it('H-rankflip: the planted flip (taylor leads at 2x, fpgm at 8x, resnet56 layerwise) survives; the others do not', () => {
    const flips = of('H-rankflip');
    const planted = flips.find((v) => v.where.startsWith('resnet56 channel layerwise'))!;
    expect(planted.verdict).toBe('supported');
    expect(planted.reason).toMatch(/taylor layerwise beats fpgm layerwise at 2x.*fpgm layerwise beats taylor layerwise at 8x/);
    expect(flips.filter((v) => v.verdict === 'supported').length).toBe(1);
  });
  it('H-rankflip tests the winners by mean at alpha / the pairs at their point: a flip significant only at plain alpha stays inconclusive', () => {
    // Shrink the planted flip to 0.6 points at both ends (the same seed offsets, so p is Welch's for d = 0.6, sd 0.2, 3 seeds).
    const layerwise = (r: (typeof rows)[number], target: number, criterion: string): boolean =>
      r.model === 'resnet56' && r.scope === 'layerwise' && r.protocol === 'fine-tune' && r.target === target && r.criterion === criterion;
    const top1 = (target: number, criterion: string): number[] => rows.filter((r) => layerwise(r, target, criterion)).map((r) => Number(r.top1_final));
    const fpgm2 = top1(2, 'fpgm');
    const taylor8 = top1(8, 'taylor');
    let k2 = 0;
    let k8 = 0;
    const shrunk = rows.map((r) => {
      if (layerwise(r, 2, 'taylor')) return { ...r, top1_final: fpgm2[k2++]! + 0.6 };
      if (layerwise(r, 8, 'fpgm')) return { ...r, top1_final: taylor8[k8++]! + 0.6 };
      return r;
    });
    const p = welch(fpgm2.map((x) => x + 0.6), fpgm2).p;
    const pairsAtPoint = (5 * 4) / 2;
    expect(p).toBeLessThan(0.05); // a flip at plain alpha ...
    expect(p).toBeGreaterThan(0.05 / pairsAtPoint); // ... but not once the pick by mean is paid for
    const v = evaluateStudyHypotheses(shrunk, tradeoffGroups(shrunk), [], { margin: 0.3 }).find((x) => x.hypothesisId === 'H-rankflip' && x.where.startsWith('resnet56 channel layerwise'))!;
    expect(v.regime).toMatch(/best by mean: 2x taylor, 4x taylor, 8x fpgm/);
    expect(v.verdict).toBe('inconclusive');
    expect(v.alpha).toBeCloseTo(0.05 / pairsAtPoint, 12);
    expect(welch(taylor8.map((x) => x + 0.6), taylor8).p).toBeCloseTo(p, 6); // the 8x end is the same test
  });
  it('H-random tests random against each criterion of its scope (not the best by mean), with its own 1-point margin', () => {
    const r = of('H-random');
    expect(r.length).toBe(2 * 2 * 4); // 2 models x 2 scopes x 4 criteria at 2x
    for (const v of r) {
      expect(v.margin).toBe(1);
      expect(v.labelA).toMatch(/^random (layerwise|global)$/);
      expect(v.labelB.split(' ')[1]).toBe(v.labelA.split(' ')[1]); // same scope
    }
    expect(new Set(r.map((v) => v.labelB.split(' ')[0]))).toEqual(new Set(['l1', 'fpgm', 'taylor', 'bn-gamma']));
  });
  it('H-random fails at a point only where a pair is contradicted at alpha / its pairs (Bonferroni); it holds where every pair is supported', () => {
    const at2 = (r: (typeof rows)[number]): boolean => r.model === 'vgg16' && r.target === 2 && r.protocol === 'fine-tune';
    // vgg16's random layerwise arm 5 points worse: contradicted against every layerwise criterion
    const worse = rows.map((r) => (at2(r) && r.criterion === 'random' && r.scope === 'layerwise' ? { ...r, top1_final: Number(r.top1_final) - 5 } : r));
    const vs = evaluateStudyHypotheses(worse, tradeoffGroups(worse), [], { margin: 0.3 }).filter((v) => v.hypothesisId === 'H-random' && v.point!.model === 'vgg16');
    expect(vs.length).toBe(8);
    const top1 = (criterion: string, scope: string): number[] => worse.filter((r) => at2(r) && r.criterion === criterion && r.scope === scope).map((r) => Number(r.top1_final));
    for (const v of vs) {
      const [crit, scope] = v.labelB.split(' ') as [string, string];
      expect(v.familyContradicted).toBe(compareArms(top1('random', scope), top1(crit, scope), 'at-least', 1, 0.05 / 8).verdict === 'contradicted');
    }
    expect(vs.some((v) => v.familyContradicted)).toBe(true);
    expect(vs.filter((v) => v.labelA === 'random global').every((v) => !v.familyContradicted)).toBe(true);
    const found = tradeoffFindings({ verdicts: vs, tables: [], unpruned: new Map(), margin: 0.3 });
    expect(found).toContain('it holds at 0 of 1, fails at 1 (vgg16, MAC speedup 2x)');
    // random as good as the others everywhere (its rows replaced by l1's, +0.5): every pair supported
    const equal = worse.filter((r) => !(at2(r) && r.criterion === 'random')).concat(worse.filter((r) => at2(r) && r.criterion === 'l1').map((r) => ({ ...r, criterion: 'random', method: 'random', run_id: `${String(r.run_id)}-r`, top1_final: Number(r.top1_final) + 0.5 })));
    const ok = evaluateStudyHypotheses(equal, tradeoffGroups(equal), [], { margin: 0.3 }).filter((v) => v.hypothesisId === 'H-random' && v.point!.model === 'vgg16');
    expect(ok.every((v) => v.verdict === 'supported')).toBe(true);
    expect(tradeoffFindings({ verdicts: ok, tables: [], unpruned: new Map(), margin: 0.3 })).toContain('it holds at 1 of 1 (vgg16, MAC speedup 2x), fails at 0');
  });
  it('H-global-speedup compares global with layerwise of the same criterion', () => {
    const v = of('H-global-speedup').find((x) => x.where === 'resnet56, MAC speedup 8x: l1 global vs l1 layerwise')!;
    // global is 0.1 * log2(8) = 0.3 points worse by construction
    expect(v.diff).toBeCloseTo(-0.3, 2);
    expect(v.verdict).toBe('supported');
  });
  it('granularity: H-unstructured compares each weight arm with each channel arm (no best-by-mean pick); H-speedup per granularity and backend', () => {
    const g = granularityRows();
    const vs = evaluateStudyHypotheses(g, tradeoffGroups(g), [], { margin: 0.3 });
    const u = vs.filter((v) => v.hypothesisId === 'H-unstructured');
    // 3 points x (2 weight arms x 2 channel arms)
    expect(u.length).toBe(3 * 4);
    expect(new Set(u.map((v) => `${v.labelA} vs ${v.labelB}`))).toEqual(
      new Set(['weight magnitude global vs channel l1 global', 'weight magnitude global vs channel l1 layerwise', 'weight lamp global vs channel l1 global', 'weight lamp global vs channel l1 layerwise']),
    );
    expect(u.every((v) => v.verdict === 'supported')).toBe(true);
    const s = vs.filter((v) => v.hypothesisId === 'H-speedup');
    expect(s.length).toBe(4 * 2 * 3);
    const ch = s.find((v) => v.where === 'resnet56, compression 4x: channel on wasm')!;
    const mine = g.filter((r) => r.granularity === 'channel' && r.target === 4 && r.backend === 'wasm');
    const speedups = mine.map((r) => 15 / Number(r.latency_ms_b1));
    expect(ch.meanA!).toBeCloseTo(Math.exp(loopMean(speedups.map(Math.log))), 9); // geometric mean
    expect(ch.nA).toBe(6); // two channel methods x 3 seeds
    expect(ch.verdict).toBe('supported');
    expect(s.every((v) => v.verdict === 'supported')).toBe(true);
    // a weight-pruned model that did get 2x faster contradicts "no real reduction"
    const faster = g.map((r) => (r.granularity === 'weight' ? { ...r, latency_ms_b1: Number(r.latency_ms_b1) / 2 } : r));
    const w = evaluateStudyHypotheses(faster, tradeoffGroups(faster), [], { margin: 0.3 }).filter((v) => v.hypothesisId === 'H-speedup' && v.where.includes('weight'));
    expect(w.every((v) => v.verdict === 'contradicted')).toBe(true);
  });
  it('H-speedup counts a pruned model once: its prune and fine-tune cells time one architecture', () => {
    const ft = granularityRows().map((r) => ({ ...r, cell: `fine-tune:${String(r.run_id)}` }));
    // the prune cell of each fine-tuned model: same architecture, a second (slower) timing of it
    const pr = ft.filter((r) => r.protocol === 'fine-tune').map((r) => ({ ...r, run_id: `${String(r.run_id)}-prune`, protocol: 'prune', cell: `prune:${String(r.run_id)}`, latency_ms_b1: Number(r.latency_ms_b1) * 1.5 }));
    const both = [...ft, ...pr];
    const at = (rows: typeof both) => evaluateStudyHypotheses(rows, tradeoffGroups(rows), [], { margin: 0.3 }).find((v) => v.hypothesisId === 'H-speedup' && v.where === 'resnet56, compression 4x: channel on wasm')!;
    const v = at(both);
    expect(v.nA).toBe(6); // two channel methods x 3 seeds, not 12 timings
    const mine = ft.filter((r) => r.granularity === 'channel' && r.target === 4 && r.backend === 'wasm');
    const perModel = mine.map((r) => (15 / Number(r.latency_ms_b1) + 15 / (Number(r.latency_ms_b1) * 1.5)) / 2);
    expect(v.meanA!).toBeCloseTo(Math.exp(loopMean(perModel.map(Math.log))), 9);
    expect(v.regime).toContain('6 pruned models');
  });
  it('an open H-speedup verdict says how many pruned models would decide it (one-sample MDD against the threshold)', () => {
    // weight-pruned models ~1.09x faster with some spread: the interval straddles 1.1x
    const g = granularityRows().map((r) => (r.granularity === 'weight' && r.backend === 'wasm' ? { ...r, latency_ms_b1: (15 / 1.09) * (1 + (Number(r.seed) - 2) * 0.02 + (r.criterion === 'lamp' ? 0.01 : 0)) } : r));
    const v = evaluateStudyHypotheses(g, tradeoffGroups(g), [], { margin: 0.3 }).find((x) => x.hypothesisId === 'H-speedup' && x.where === 'resnet56, compression 4x: weight on wasm')!;
    expect(v.verdict).toBe('inconclusive');
    expect(v.nA).toBe(6);
    const values = g.filter((r) => r.granularity === 'weight' && r.backend === 'wasm' && r.target === 4).map((r) => 15 / Number(r.latency_ms_b1));
    // on the log scale, as the verdict tests
    const logs = values.map(Math.log);
    const sd = Math.sqrt(loopVar(logs));
    const distance = Math.abs(loopMean(logs) - Math.log(1.1));
    const n = v.seedsNeeded!;
    expect(n).toBeGreaterThan(6);
    expect(oneSampleMdd(sd, n)).toBeLessThanOrEqual(distance);
    expect(oneSampleMdd(sd, n - 1)).toBeGreaterThan(distance);
    expect(v.reason).toContain(`~${n} pruned models would decide it`);
    const found = tradeoffFindings({ verdicts: [v], tables: [], unpruned: new Map(), margin: 0.3 });
    expect(found).toContain(`1 would be decided by ${n} pruned models if their means held`);
    expect(found).not.toContain('beyond 100');
  });
  it('H-unstructured is judged per operating point as well: it holds where all its pairs are supported and fails where one is contradicted', () => {
    const g = granularityRows();
    const u = evaluateStudyHypotheses(g, tradeoffGroups(g), [], { margin: 0.3 }).filter((v) => v.hypothesisId === 'H-unstructured');
    const all = tradeoffFindings({ verdicts: u, tables: [], unpruned: new Map(), margin: 0.3 });
    expect(all).toContain('it holds at 3 of 3 (resnet56, compression 2x; resnet56, compression 4x; resnet56, compression 8x), fails at 0 (a pair contradicted at alpha / its point\'s pairs), open at 0');
    // one open pair at 4x leaves that point open; one pair contradicted family-wise at 8x fails it
    const at4 = u.findIndex((v) => v.point?.target === 4);
    const at8 = u.findIndex((v) => v.point?.target === 8);
    const mixed = u.map((v, i) => (i === at4 ? { ...v, verdict: 'inconclusive' as const } : i === at8 ? { ...v, verdict: 'contradicted' as const, familyContradicted: true } : v));
    const found = tradeoffFindings({ verdicts: mixed, tables: [], unpruned: new Map(), margin: 0.3 });
    expect(found).toContain('it holds at 1 of 3 (resnet56, compression 2x), fails at 1 (resnet56, compression 8x) (a pair contradicted at alpha / its point\'s pairs), open at 1');
    // contradicted at alpha but not at alpha / 4: the point stays open
    const weak = mixed.map((v, i) => (i === at8 ? { ...v, familyContradicted: false } : v));
    expect(tradeoffFindings({ verdicts: weak, tables: [], unpruned: new Map(), margin: 0.3 })).toContain('fails at 0 (a pair contradicted at alpha / its point\'s pairs), open at 2');
  });
  it('the H-speedup interval is taken on log speedups: it stays above 0 where a linear t interval would not', () => {
    // two channel-pruned models on wasm at 4x, one 0.4x and one 2.5x as fast: the linear 95% interval
    // of 2 values (t = 12.7) is about [-11.9, 14.8]x
    const g = granularityRows().filter((r) => !(r.granularity === 'channel' && r.target === 4 && r.backend === 'wasm' && (Number(r.seed) === 3 || r.scope === 'global')));
    const two = g.map((r) => (r.granularity === 'channel' && r.target === 4 && r.backend === 'wasm' ? { ...r, latency_ms_b1: Number(r.seed) === 1 ? 15 / 0.4 : 15 / 2.5 } : r));
    const v = evaluateStudyHypotheses(two, tradeoffGroups(two), [], { margin: 0.3 }).find((x) => x.hypothesisId === 'H-speedup' && x.where === 'resnet56, compression 4x: channel on wasm')!;
    expect(v.nA).toBe(2);
    const logs = [Math.log(0.4), Math.log(2.5)];
    const half = studentTQuantile(0.975, 1) * Math.sqrt(loopVar(logs) / 2);
    expect(v.meanA!).toBeCloseTo(1, 9); // sqrt(0.4 * 2.5)
    expect(v.ciLow!).toBeGreaterThan(0);
    expect(v.ciLow!).toBeCloseTo(Math.exp(loopMean(logs) - half), 9);
    expect(v.ciHigh!).toBeCloseTo(Math.exp(loopMean(logs) + half), 9);
    expect(v.diff!).toBeCloseTo(v.meanA! / v.meanB!, 9); // measured over MAC speedup
    expect(v.verdict).toBe('inconclusive');
    expect(v.mdd!).toBeGreaterThan(1); // a factor
  });
  it('the findings count an H-speedup cell with one pruned model as untested, not as stuck at the threshold', () => {
    const one = granularityRows().filter((r) => Number(r.seed) === 1 && r.criterion !== 'lamp' && !(r.granularity === 'channel' && r.scope === 'global'));
    const vs = evaluateStudyHypotheses(one, tradeoffGroups(one), [], { margin: 0.3 }).filter((x) => x.hypothesisId === 'H-speedup');
    expect(vs.length).toBe(4 * 2 * 3);
    expect(vs.every((x) => x.nA === 1 && x.verdict === 'inconclusive' && x.seedsNeeded === null)).toBe(true);
    const found = tradeoffFindings({ verdicts: vs, tables: [], unpruned: new Map(), margin: 0.3 });
    expect(found).toContain(`${vs.length} inconclusive (of the open ones, ${vs.length} had fewer than 2 pruned models)`);
    // ... and per granularity, so a reader sees which half of the claim nothing has tested yet.
    expect(found).toMatch(/verdicts per granularity: .*layer [\d.]+x of [\d.]+x \(0 supported, 0 contradicted of 6, 6 with one pruned model\)/);
  });
  it('the H-speedup finding counts verdicts per granularity', () => {
    const g = granularityRows();
    const vs = evaluateStudyHypotheses(g, tradeoffGroups(g), [], { margin: 0.3 }).filter((x) => x.hypothesisId === 'H-speedup');
    const found = tradeoffFindings({ verdicts: vs, tables: [], unpruned: new Map(), margin: 0.3 });
    for (const gran of ['layer', 'channel', 'vector', 'weight']) expect(found).toMatch(new RegExp(`${gran} [\\d.]+x of [\\d.]+x \\(6 supported, 0 contradicted of 6\\)`));
  });
  it("an arm's achieved budget and criterion time come from its prune rows when its fine-tune rows (older CSVs) leave them empty", () => {
    const ft = criteriaRows()
      .filter((r) => r.protocol === 'fine-tune')
      .map((r) => ({ ...r, cell: `fine-tune:${String(r.run_id)}`, achieved: '', criterion_seconds: '' }));
    const prunes = ft.map((r) => ({ ...r, run_id: `${String(r.run_id)}-p`, protocol: 'prune', cell: `prune:${String(r.run_id)}`, achieved: 2.0 + Number(r.seed) / 100, criterion_seconds: 0.5 }));
    const groups = tradeoffGroups([...ft, ...prunes]).filter((g) => g.key.protocol === 'fine-tune');
    expect(groups.length).toBeGreaterThan(0);
    for (const g of groups) {
      expect(g.criterionSeconds).toBeCloseTo(0.5, 12);
      expect(g.achieved).toBeCloseTo(2 + loopMean(g.rows.map((r) => Number(r.seed))) / 100, 12);
    }
  });
  it('a criterion time that only some runs recorded is averaged over those and says how many', () => {
    // Seed 1 of the layer arm at 2x recorded no time, neither on its fine-tune nor on its prune row.
    const isGap = (r: RunRow): boolean => r.granularity === 'layer' && r.target === 2 && Number(r.seed) === 1;
    const g = granularityRows().map((r) => (isGap(r) ? { ...r, criterion_seconds: '' } : r));
    const layer = tradeoffGroups(g).find((x) => x.key.granularity === 'layer' && x.point.target === 2 && x.key.protocol === 'fine-tune')!;
    const timed = layer.rows.filter((r) => !isGap(r));
    expect(timed.length).toBeGreaterThan(0);
    expect(layer.criterionSecondsRuns).toBe(timed.length);
    expect(layer.criterionSeconds!).toBeCloseTo(loopMean(timed.map((r) => Number(r.criterion_seconds))), 12);
    const table = rankTables(tradeoffGroups(g), 0.3).find((t) => t.point.target === 2)!;
    const md = rankTableMarkdown(table, '95%');
    expect(md).toContain(`(${timed.length} of ${layer.rows.length} runs)`);
    // the other arms recorded every time: no count beside theirs
    expect(md.match(/ of \d+ runs\)/g)!.length).toBe(1);
  });
  it('a leader of one seed is reported as not tested, not as "ahead of 0 of k"', () => {
    // Keep seed 1 only: every arm has one seed, so no pair of any table can be tested.
    const one = granularityRows().filter((r) => Number(r.seed) === 1);
    const tables = rankTables(tradeoffGroups(one), 0.3);
    expect(tables.length).toBeGreaterThan(0);
    const found = tradeoffFindings({ verdicts: [], tables, unpruned: unprunedStats(one), margin: 0.3 });
    expect(found).toContain('(1 seed: not tested against the others)');
    expect(found).not.toContain('significantly ahead of 0');
  });
  it('the findings name the operating points an arm did not reach (block removal stops at whole blocks)', () => {
    const g = granularityRows().map((r) => (r.granularity === 'layer' && r.target === 8 ? { ...r, achieved: 5.68 } : r));
    const tables = rankTables(tradeoffGroups(g), 0.3);
    expect(unreachedPoints(tables)).toEqual(['layer blocks by l1 at resnet56, compression 8x: 5.68x achieved']);
    expect(tradeoffFindings({ verdicts: [], tables, unpruned: unprunedStats(g), margin: 0.3 })).toContain('Not reached (achieved more than 1% from the target');
    expect(EXACT_WITHIN).toBe(BUDGET_TOLERANCE);
  });
  it('seed offsets of the fixture have mean 0 (the arms mean what criteriaArms says)', () => {
    expect(loopMean([...SEED_OFFSETS])).toBeCloseTo(0, 12);
  });
});
