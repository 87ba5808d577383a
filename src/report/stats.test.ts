import { describe, expect, it } from 'vitest';
import { RUN_COLUMNS, type RunRow } from '../results/columns.ts';
import { lnGamma } from './tdist.ts';
import { HYPOTHESES, cellLabel, decide, evaluateHypotheses, formatEpochs, groupKeyOf, groupRows, groupStats, summarize, welch } from './stats.ts';

/** Independent two-sided p: 2 * ∫_{|t|}^{∞} f(x) dx via Simpson on x = |t| + u/(1-u). */
function twoSidedPByIntegration(t: number, df: number): number {
  const f = (x: number): number =>
    Math.exp(lnGamma((df + 1) / 2) - lnGamma(df / 2) - 0.5 * Math.log(df * Math.PI) - ((df + 1) / 2) * Math.log1p((x * x) / df));
  const g = (u: number): number => (u >= 1 ? 0 : f(Math.abs(t) + u / (1 - u)) / (1 - u) ** 2);
  const n = 20000;
  const h = 1 / n;
  let s = g(0) + g(1 - 1e-12);
  for (let i = 1; i < n; i++) s += (i % 2 === 1 ? 4 : 2) * g(i * h);
  return (2 * s * h) / 3;
}

describe('summarize', () => {
  it('gives n, mean, sample std, range and the t interval', () => {
    const v = [90, 91, 93];
    const s = summarize(v);
    const m = (90 + 91 + 93) / 3;
    const sd = Math.sqrt(((90 - m) ** 2 + (91 - m) ** 2 + (93 - m) ** 2) / 2);
    expect(s.n).toBe(3);
    expect(s.mean).toBeCloseTo(m, 12);
    expect(s.std!).toBeCloseTo(sd, 12);
    expect([s.min, s.max]).toEqual([90, 93]);
    // t_{0.975, 2} = 4.303 (printed table)
    expect(s.ciHigh! - s.mean).toBeCloseTo((4.302652729911275 * sd) / Math.sqrt(3), 9);
  });
  it('leaves std and interval undefined for a single value', () => {
    const s = summarize([88.2]);
    expect(s).toMatchObject({ n: 1, mean: 88.2, std: null, ciLow: null, ciHigh: null });
  });
});

describe('welch', () => {
  const a = [93.1, 93.4, 92.9, 93.6];
  const b = [92.5, 92.8, 92.2];
  it('matches a hand computation of t and the Welch-Satterthwaite df', () => {
    const mean = (x: number[]): number => x.reduce((s, v) => s + v, 0) / x.length;
    const variance = (x: number[]): number => x.reduce((s, v) => s + (v - mean(x)) ** 2, 0) / (x.length - 1);
    const va = variance(a) / a.length;
    const vb = variance(b) / b.length;
    const t = (mean(a) - mean(b)) / Math.sqrt(va + vb);
    const df = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
    const w = welch(a, b);
    expect(w.diff).toBeCloseTo(mean(a) - mean(b), 12);
    expect(w.t).toBeCloseTo(t, 12);
    expect(w.df).toBeCloseTo(df, 12);
    expect(w.p).toBeCloseTo(twoSidedPByIntegration(t, df), 7);
  });
  it('agrees with scipy.stats.ttest_ind(equal_var=False) on the same data', () => {
    // Reference printed by scipy 1.17.1: statistic, pvalue, df, confidence_interval(0.95)
    const w = welch(a, b);
    expect(w.t).toBeCloseTo(3.2225169331774763, 10);
    expect(w.p).toBeCloseTo(0.026765710991268076, 10);
    expect(w.df).toBeCloseTo(4.551166965888693, 10);
    expect(w.ciLow).toBeCloseTo(0.1335402998174281, 8);
    expect(w.ciHigh).toBeCloseTo(1.3664597001825718, 8);
  });
  it('refuses fewer than 2 values on a side', () => {
    expect(() => welch([1], [1, 2])).toThrow(/at least 2/);
  });
});

function row(over: Partial<Record<(typeof RUN_COLUMNS)[number], string | number | boolean>>): RunRow {
  const r = Object.fromEntries(RUN_COLUMNS.map((c) => [c, ''])) as RunRow;
  Object.assign(r, {
    experiment: 'x', model: 'm', method: 'l1', profile: 'A', prune_ratio: 0.5, status: 'ok', ratio_style: 'predefined',
    granularity: 'channel', dataset: 'cifar10', preset: 'small', train_subset: 0, epochs_configured: 10, epochs_derived: 10,
  });
  return Object.assign(r, over);
}

describe('verdicts', () => {
  const h = HYPOTHESES.find((x) => x.id === 'scratchB-vs-fineTune')!;
  const cell = { experiment: 'x', model: 'm', method: 'l1', profile: 'A', pruneRatio: 0.5 };
  it('supported when the interval of A - B lies above 0, contradicted when below', () => {
    const up = decide(h, cell, { values: [93.1, 93.4, 92.9, 93.6], seeds: [1, 2, 3, 4] }, { values: [92.5, 92.8, 92.2], seeds: [1, 2, 3] });
    expect(up.verdict).toBe('supported');
    expect(up.ciLow!).toBeGreaterThan(0);
    const down = decide(h, cell, { values: [92.5, 92.8, 92.2], seeds: [1, 2, 3] }, { values: [93.1, 93.4, 92.9, 93.6], seeds: [1, 2, 3, 4] });
    expect(down.verdict).toBe('contradicted');
    expect(down.diff!).toBeCloseTo(-up.diff!, 12);
    expect(down.nA).toBe(3);
  });
  it('inconclusive when the interval contains 0', () => {
    const v = decide(h, cell, { values: [93.0, 93.5, 92.6], seeds: [1, 2, 3] }, { values: [92.9, 93.3, 92.8], seeds: [1, 2, 3] });
    expect(v.verdict).toBe('inconclusive');
    expect(v.ciLow!).toBeLessThan(0);
    expect(v.ciHigh!).toBeGreaterThan(0);
    expect(v.p!).toBeGreaterThan(0.05);
  });
  it('inconclusive with fewer than 2 seeds on a side, saying which side and why', () => {
    const v = decide(h, cell, { values: [95], seeds: [1] }, { values: [90, 90.5, 91], seeds: [1, 2, 3] });
    expect(v.verdict).toBe('inconclusive');
    expect(v.p).toBeNull();
    expect(v.reason).toMatch(/Scratch-B has 1 seed/);
    expect(v.reason).toMatch(/at least 2 seeds/);
    expect(v.diff).toBeCloseTo(95 - 90.5, 12);
  });
  it('a lower alpha widens the interval and can turn a verdict inconclusive', () => {
    const A = { values: [93.1, 93.4, 92.9, 93.6], seeds: [1, 2, 3, 4] };
    const B = { values: [92.5, 92.8, 92.2], seeds: [1, 2, 3] };
    // p = 0.0268 (see above): significant at 0.05, not at 0.01
    expect(decide(h, cell, A, B, 0.05).verdict).toBe('supported');
    expect(decide(h, cell, A, B, 0.01).verdict).toBe('inconclusive');
  });

  it('evaluateHypotheses pairs rows by cell, matches the unpruned baseline by model and skips failed runs', () => {
    const rows: RunRow[] = [
      ...[93.1, 93.4, 92.9].map((v, i) => row({ protocol: 'scratch-B', seed: i + 1, top1_final: v })),
      ...[92.5, 92.8, 92.2].map((v, i) => row({ protocol: 'fine-tune', seed: i + 1, top1_final: v })),
      row({ protocol: 'fine-tune', seed: 4, top1_final: 99, status: 'failed' }),
      ...[93.5, 93.6].map((v, i) =>
        row({ protocol: 'baseline', method: 'none', profile: '', prune_ratio: 0, ratio_style: 'none', seed: i + 1, top1_final: v }),
      ),
    ];
    const verdicts = evaluateHypotheses(rows);
    const byId = new Map(verdicts.map((v) => [v.hypothesisId, v]));
    const ft = byId.get('scratchB-vs-fineTune')!;
    expect(ft.nB).toBe(3); // the failed 99 is not counted
    expect(ft.meanB!).toBeCloseTo((92.5 + 92.8 + 92.2) / 3, 12);
    expect(ft.diff!).toBeCloseTo(welch([93.1, 93.4, 92.9], [92.5, 92.8, 92.2]).diff, 12);
    const unpruned = byId.get('scratchB-vs-unpruned')!;
    expect(unpruned.nB).toBe(2);
    expect(unpruned.meanB!).toBeCloseTo(93.55, 12);
    const scratchE = byId.get('scratchE-vs-fineTune')!;
    expect(scratchE.verdict).toBe('inconclusive');
    expect(scratchE.reason).toMatch(/Scratch-E has 0 seeds/);
    // automatic-vs-uniform applies only to automatic methods: not to this predefined cell
    expect(byId.has('automaticE-vs-uniform')).toBe(false);
  });

  it('groupStats groups by (experiment, model, method, profile, ratio, protocol) over ok rows', () => {
    const rows: RunRow[] = [
      row({ protocol: 'fine-tune', seed: 1, top1_final: 90, params_reduction_pct: 40, macs_reduction_pct: 30, epochs_derived: 69 }),
      row({ protocol: 'fine-tune', seed: 2, top1_final: 92, params_reduction_pct: 40, macs_reduction_pct: 30, epochs_derived: 66 }),
      row({ protocol: 'fine-tune', seed: 3, top1_final: 50, status: 'failed' }),
      row({ protocol: 'fine-tune', profile: 'B', seed: 1, top1_final: 80 }),
    ];
    const g = groupStats(rows);
    expect(g.map((x) => x.top1.n)).toEqual([2, 1]);
    expect(g[0]!.top1.mean).toBe(91);
    expect(g[0]!.seeds).toEqual([1, 2]);
    expect(g[0]!.paramsReductionPct!.mean).toBe(40);
    expect(g[0]!.paramsReductionPct!.std).toBe(0);
    // seeds can train different epochs (Scratch-B): the table shows the range, not a mean
    expect(g[0]!.epochs).toEqual({ min: 66, max: 69 });
    expect(formatEpochs(g[0]!.epochs!)).toBe('66-69');
    expect(formatEpochs({ min: 32, max: 32 })).toBe('32');
    expect(g[1]!.epochs).toEqual({ min: 10, max: 10 });
  });
});

describe('group keys: scope and budget target', () => {
  const row = (o: Partial<Record<(typeof RUN_COLUMNS)[number], string | number>>): RunRow => ({ ...(Object.fromEntries(RUN_COLUMNS.map((c) => [c, ''])) as RunRow), experiment: 'x', model: 'vgg16', method: 'l1', protocol: 'prune', prune_ratio: 0, status: 'ok', ...o });
  it('rows that differ only in scope or target are separate groups; the default scope keeps the old key', () => {
    const rows = [
      row({ scope: '', prune_ratio: 0.5 }), // written before the scope column
      row({ scope: 'layerwise', prune_ratio: 0.5 }), // the l1 default: same group as the row above
      row({ scope: 'global', prune_ratio: 0.5 }),
      row({ scope: 'global', target_kind: 'speedup', target: 2 }),
      row({ scope: 'global', target_kind: 'speedup', target: 4 }),
      row({ scope: 'layerwise', target_kind: 'speedup', target: 2 }),
    ];
    const groups = groupRows(rows);
    expect([...groups.values()].map((g) => g.rows.length)).toEqual([2, 1, 1, 1, 1]);
    expect([...groups.keys()]).toEqual([
      'x|vgg16|l1|-|0.5|prune',
      'x|vgg16|l1|-|0.5|prune|scope=global',
      'x|vgg16|l1|-|0|prune|scope=global|target=speedup 2',
      'x|vgg16|l1|-|0|prune|scope=global|target=speedup 4',
      'x|vgg16|l1|-|0|prune|target=speedup 2',
    ]);
    expect(cellLabel(groupKeyOf(rows[3]!))).toBe('vgg16 l1 global speedup 2x');
  });

  it('arms of a generic method (channel, magnitude) differ by their criterion; a criterion the method implies leaves the key as it was', () => {
    const speedup = { scope: 'global', target_kind: 'speedup', target: 2 };
    const rows = [
      row({ method: 'channel', criterion: 'fpgm', ...speedup }),
      row({ method: 'channel', criterion: 'taylor', ...speedup }),
      row({ method: 'magnitude', criterion: 'lamp', scope: 'global', target_kind: 'compression', target: 4 }),
      row({ method: 'magnitude', criterion: 'magnitude', scope: 'global', target_kind: 'compression', target: 4 }),
      row({ method: 'l1', criterion: 'l1', ...speedup }),
    ];
    expect([...groupRows(rows).keys()]).toEqual([
      'x|vgg16|channel|-|0|prune|criterion=fpgm|scope=global|target=speedup 2',
      'x|vgg16|channel|-|0|prune|criterion=taylor|scope=global|target=speedup 2',
      'x|vgg16|magnitude|-|0|prune|criterion=lamp|target=compression 4',
      'x|vgg16|magnitude|-|0|prune|target=compression 4',
      'x|vgg16|l1|-|0|prune|scope=global|target=speedup 2',
    ]);
    expect(cellLabel(groupKeyOf(rows[0]!))).toBe('vgg16 channel fpgm global speedup 2x');
  });
});
