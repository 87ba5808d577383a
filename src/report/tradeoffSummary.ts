/**
 * summary.md of the tradeoff study (issue 30): the "what we found" paragraph generated from the
 * verdicts, the hypotheses with their verdicts, margins and minimum detectable differences, one
 * rank table per operating point (criterion cost beside accuracy), and the failed runs.
 */
import type { RunRow } from '../results/columns.ts';
import { geometricMean, isOk } from './stats.ts';
import { STUDY_HYPOTHESES, type StudyHypothesis, type StudyVerdict } from './studyHypotheses.ts';
import { STILL_RISING_FROM, type FineTuneConvergence } from './figures/fineTuneCurves.ts';
import { f2, figuresSection, table } from './summary.ts';
import { MDD_POWER, pointLabel, type RankTable, type TradeoffGroup } from './tradeoff.ts';
import type { Summary } from './stats.ts';

export interface TradeoffSummaryInput {
  experiment: string;
  preset?: string;
  rows: RunRow[];
  verdicts: StudyVerdict[];
  tables: RankTable[];
  /** Scratch-B and other arms that are not ranked, listed for completeness. */
  groups: TradeoffGroup[];
  unpruned: Map<string, Summary>;
  margin: number;
  alpha: number;
  hypotheses?: readonly StudyHypothesis[];
  figures?: { name: string; title: string }[];
  /** Where the latencies come from (the cells' own measurements, or re-timed ones; see retimed.ts). */
  latencyNote?: string | undefined;
  /** What of the planned sweep has run (coverage.ts), when known. */
  coverage?: string | undefined;
  /** Per operating point, the fine-tuned arms' last-epoch gain (figures/fineTuneCurves.ts), when curves are recorded. */
  convergence?: FineTuneConvergence[];
}

/** Up to this many supported (or contradicted) comparisons of a hypothesis are named in "What we found". */
const NAMED_DECISIONS = 3;

/** An achieved budget within this fraction of its target counts as reached (pruning/budget.ts BUDGET_TOLERANCE). */
export const EXACT_WITHIN = 0.01;

/**
 * The ranked arms whose pruned models missed their target by more than EXACT_WITHIN (block
 * removal moves in whole blocks and may stop short): "layer block at resnet56, compression 8x:
 * 5.68x achieved".
 */
export function unreachedPoints(tables: RankTable[]): string[] {
  const out: string[] = [];
  for (const t of tables) {
    for (const g of t.ranked) {
      if (g.achieved === null || g.point.target === null) continue;
      if (Math.abs(g.achieved / g.point.target - 1) > EXACT_WITHIN) out.push(`${g.label} at ${pointLabel(g.point)}: ${g.achieved.toFixed(2)}x achieved`);
    }
  }
  return out;
}

/** Unpruned accuracy (%) below which the regime is far from the papers' well-trained networks. */
const WELL_TRAINED_FROM = 90;

const signed = (x: number | null): string => (x === null ? '–' : `${x >= 0 ? '+' : ''}${x.toFixed(2)}`);
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The MDD formula, stated once in the summary. */
export function mddFormula(alpha: number): string {
  return `MDD = (t(1 - alpha/2, df) + t(power, df)) x sqrt(sA^2/nA + sB^2/nB), df the Welch-Satterthwaite df of those (nA + nB - 2 when the SDs and seeds are equal), alpha = ${alpha}, power = ${MDD_POWER} (the t approximation of the power equation of Welch's test, the test the verdicts use; for H-speedup the one-sample form with s/sqrt(n), df = n - 1, on the logs of the speedups, so its MDD is a factor: ×1.2 detects a geometric mean 1.2 times the threshold or 1/1.2 of it)`;
}

function hypothesisLine(h: StudyHypothesis, margin: number): string {
  const src = `${h.source}${h.secondary ? '; **secondary source**' : ''}`;
  if (h.kind === 'pairwise') return `- **${h.id}**: ${h.statement}. Test: ${h.mode}, margin ${h.margin === 'study' ? margin : h.margin} points (${src}).`;
  if (h.kind === 'rankflip') return `- **${h.id}**: ${h.statement}. Test: per model and ${h.within.join(' and ')}, a flip counts when each target's winner (by mean) is significantly better than the other target's winner there (Welch, margin 0, at alpha / the pairs at that target: Bonferroni over every pair the pick by mean could have landed on, so a lucky winner does not make a flip) (${src}).`;
  const measured = h.batch === 1 ? 'batch-1 latency speedup' : 'batch-64 throughput speedup';
  return `- **${h.id}**: ${h.statement}. Test: the t interval of the log of the measured ${measured} (one value per pruned model; geometric mean, interval mapped back) against ${h.threshold}x, per granularity, backend and operating point (${src}).`;
}

/**
 * The opening paragraph: per hypothesis how many comparisons supported, contradicted or left it
 * open (and whether more seeds would decide the open ones), the best method per operating point
 * and how many of its leads are real, and the regime caveat.
 */
export function tradeoffFindings(input: Pick<TradeoffSummaryInput, 'verdicts' | 'tables' | 'unpruned' | 'margin' | 'hypotheses' | 'convergence'> & { alpha?: number }): string {
  const { verdicts, tables, unpruned, margin } = input;
  const alpha = input.alpha ?? 0.05;
  const hypotheses = input.hypotheses ?? STUDY_HYPOTHESES;
  if (verdicts.length === 0 && tables.length === 0) return 'No arm of the tradeoff study has runs with a target yet: nothing can be compared.';
  const sentences: string[] = [];
  const untestable: string[] = [];
  for (const h of hypotheses) {
    const vs = verdicts.filter((v) => v.hypothesisId === h.id);
    const name = `${h.id} ("${h.statement}"${h.secondary ? '; secondary source' : ''})`;
    if (vs.length === 0) {
      untestable.push(h.id);
      continue;
    }
    const count = (k: string): number => vs.filter((v) => v.verdict === k).length;
    const open = vs.filter((v) => v.verdict === 'inconclusive');
    const decidable = open.map((v) => v.seedsNeeded).filter((n): n is number => n !== null);
    // A one-sample (speedup) verdict has no p; it is untested only without an interval (one pruned model).
    const untested = open.filter((v) => (v.mode === 'one-sample' ? v.ciLow === null : v.p === null)).length;
    const units = h.kind === 'speedup' ? { needed: 'pruned models', held: 'means', stuck: 'the threshold or beyond 100 pruned models', few: 'fewer than 2 pruned models' } : { needed: 'seeds per arm', held: 'differences', stuck: 'the margin or beyond 100 seeds', few: 'fewer than 2 seeds on a side' };
    let more = '';
    if (open.length > 0) {
      const bits = [];
      if (decidable.length) bits.push(`${decidable.length} would be decided by ${Math.min(...decidable) === Math.max(...decidable) ? Math.min(...decidable) : `${Math.min(...decidable)}-${Math.max(...decidable)}`} ${units.needed} if their ${units.held} held`);
      const stuck = open.length - decidable.length - untested;
      if (stuck > 0) bits.push(`${stuck} sit${stuck === 1 ? 's' : ''} at ${units.stuck}`);
      if (untested > 0) bits.push(`${untested} had ${units.few}`);
      more = ` (of the open ones, ${bits.join(', ')})`;
    }
    let detail = '';
    if (h.kind === 'pairwise' && h.atPoint === 'all-pairs') detail = allPairsDetail(vs);
    if (h.kind === 'rankflip') {
      const flip = vs.find((v) => v.verdict === 'supported');
      if (flip) detail = `; in ${flip.where}: ${flip.reason}`;
    }
    if (h.kind === 'speedup') {
      const byGran = new Map<string, StudyVerdict[]>();
      for (const v of vs) {
        const g = v.where.split(': ')[1]?.split(' on ')[0] ?? '?';
        byGran.set(g, [...(byGran.get(g) ?? []), v]);
      }
      // Per granularity: the counts above pool opposite expectations (a speedup for layer and
      // channel, none for vector and weight), and cells of one pruned model test nothing.
      detail = `; measured vs MAC speedup, geometric means over points and backends, and verdicts per granularity: ${[...byGran]
        .map(([g, gv]) => {
          const single = gv.filter((v) => v.ciLow === null).length;
          const decided = `${gv.filter((v) => v.verdict === 'supported').length} supported, ${gv.filter((v) => v.verdict === 'contradicted').length} contradicted of ${gv.length}${single ? `, ${single} with one pruned model` : ''}`;
          const geo = (xs: (number | null)[]): string => geometricMean(xs.filter((x): x is number => x !== null && x > 0)).toFixed(2);
          return `${g} ${geo(gv.map((v) => v.meanA))}x of ${geo(gv.map((v) => v.meanB))}x (${decided})`;
        })
        .join(', ')}`;
    }
    // A few decided comparisons are named (where, and by how much), so the paragraph says which.
    const named = (k: string): string => {
      const decided = vs.filter((v) => v.verdict === k);
      if (h.kind === 'speedup' || h.kind === 'rankflip' || decided.length === 0 || decided.length > NAMED_DECISIONS) return '';
      return ` (${decided.map((v) => `${v.where}${v.diff !== null && v.unit === 'points' ? `, ${v.diff >= 0 ? '+' : ''}${v.diff.toFixed(2)} points` : ''}`).join('; ')})`;
    };
    sentences.push(`${name}: ${count('supported')} of ${vs.length} comparisons supported it${named('supported')}, ${count('contradicted')} contradicted it${named('contradicted')}, ${open.length} inconclusive${more}${detail}.`);
  }
  if (untestable.length) sentences.push(`Not testable with these runs (no arms or measurements for them): ${untestable.join(', ')}.`);
  const ranks = tables.map((t) => {
    const top = t.ranked[0]!;
    const lead = `${pointLabel(t.point)}: ${top.label} ${top.top1.mean.toFixed(2)}%`;
    // A leader of one seed was tested against no one: "ahead of 0 of 5" would read as five ties.
    if (top.top1.n < 2) return `${lead} (${plural(top.top1.n, 'seed')}: not tested against the others)`;
    const leads = t.pairs.filter((p) => p.a === top);
    const real = leads.filter((p) => p.verdict === 'better');
    const ties = leads.filter((p) => p.verdict === 'tied within margin').length;
    const tested = t.pairs.filter((p) => p.pHolm !== null).length;
    const holm = real.filter((p) => p.pHolm !== null && p.pHolm < alpha).length;
    const corrected = real.length > 0 && tested > 1 ? `; ${holm} after Holm's correction over the table's ${tested} pairs` : '';
    return `${lead} (significantly ahead of ${real.length} of ${leads.length}${corrected}${ties ? `, tied within ${margin} with ${ties}` : ''})`;
  });
  if (ranks.length) sentences.push(`Best method by mean at each operating point: ${ranks.join('; ')}.`);
  const rising = convergenceSentence(input.convergence ?? []);
  if (rising) sentences.push(rising);
  const short = unreachedPoints(tables);
  if (short.length) sentences.push(`Not reached (achieved more than ${100 * EXACT_WITHIN}% from the target; such arms are compared where they landed): ${short.join('; ')}.`);
  const best = Math.max(...[...unpruned.values()].map((s) => s.mean));
  if (Number.isFinite(best) && best < WELL_TRAINED_FROM) {
    sentences.push(`The unpruned models averaged ${best.toFixed(1)}% at most, below the papers' ~93-94%: these verdicts hold for this smaller regime.`);
  }
  // One item per hypothesis or finding: a single paragraph ran to ~600 words in the cpu reports.
  return sentences.map((x) => `- ${x}`).join('\n');
}

/** Per operating point, for a claim about every pair there: where all pairs are supported, where one is contradicted family-wise (Bonferroni over the point's pairs). */
export function allPairsDetail(vs: StudyVerdict[]): string {
  const byPoint = new Map<string, StudyVerdict[]>();
  for (const v of vs) {
    const k = v.point ? pointLabel(v.point) : v.where;
    byPoint.set(k, [...(byPoint.get(k) ?? []), v]);
  }
  const holds = [...byPoint].filter(([, pv]) => pv.every((v) => v.verdict === 'supported')).map(([k]) => k);
  const fails = [...byPoint].filter(([, pv]) => pv.some((v) => v.familyContradicted === true)).map(([k]) => k);
  const list = (ks: string[]): string => (ks.length ? ` (${ks.join('; ')})` : '');
  return `; per operating point, where every pair must be supported: it holds at ${holds.length} of ${byPoint.size}${list(holds)}, fails at ${fails.length}${list(fails)} (a pair contradicted at alpha / its point's pairs), open at ${byPoint.size - holds.length - fails.length}`;
}

function backendsOf(rows: RunRow[]): string {
  const names = [...new Set(rows.map((r) => String(r.backend ?? '')).filter((b) => b !== ''))].sort();
  return names.length ? names.join(', ') : 'not recorded';
}

/** Whether fine-tuning had levelled off: where the last epoch still added STILL_RISING_FROM points or more on average. */
export function convergenceSentence(convergence: FineTuneConvergence[]): string {
  if (convergence.length === 0) return '';
  const epochs = [...new Set(convergence.map((c) => c.epochs))].join('/');
  const gain = (c: FineTuneConvergence): string => `${c.lastGain >= 0 ? '+' : ''}${c.lastGain.toFixed(2)}`;
  const rising = convergence.filter((c) => c.lastGain >= STILL_RISING_FROM);
  if (rising.length === 0) return `Fine-tuning (${epochs} epochs) had levelled off at every operating point: its last epoch added under ${STILL_RISING_FROM} points on average over the arms.`;
  return `Fine-tuning (${epochs} epochs) had not levelled off at ${rising.length} of ${convergence.length} operating points (the last epoch added ${STILL_RISING_FROM} points or more): it still added ${rising.map((c) => `${gain(c)} points at ${c.point}`).join(', ')} on average over the arms (see the fine-tuning curves); there the ranks compare how fast the arms recover as much as where they would end.`;
}

const levelOf = (alpha: number): string => `${Math.round((1 - alpha) * 1000) / 10}%`;

function verdictTable(verdicts: StudyVerdict[], level: string, alpha: number): string {
  return table(
    ['hypothesis', 'where', 'A (n, mean)', 'B (n, mean)', 'A - B (speedups: A / B)', `${level} CI (speedups: of A)`, 'p', 'verdict', 'margin (speedups: threshold)', 'MDD (80% power)', 'seeds/arm to decide', 'regime', 'why'],
    verdicts.map((v) => {
      // Speedup rows (one-sample, unit x): geometric means, the interval of A itself, A / B and a factor as MDD.
      const x = v.unit === 'x';
      const u = x ? 'x' : '';
      return [
        v.hypothesisId,
        v.where,
        `${v.labelA} (${v.nA}, ${f2(v.meanA)}${u})`,
        `${v.labelB} (${v.nB}, ${f2(v.meanB)}${u})`,
        x ? `${f2(v.diff)} of B` : signed(v.diff),
        // A verdict tested at a corrected alpha (H-rankflip) shows the wider interval it was decided on, and says so.
        v.ciLow === null ? '–' : `[${f2(v.ciLow)}, ${f2(v.ciHigh)}]${u}${v.alpha === alpha ? '' : ` (${levelOf(v.alpha)}, alpha ${Number(v.alpha.toPrecision(3))})`}`,
        v.p === null ? '–' : v.p.toPrecision(3),
        `**${v.verdict}**`,
        v.mode === 'one-sample' ? `${v.margin}x` : `${v.margin}`,
        v.mdd === null ? '–' : x ? `×${f2(v.mdd)}` : f2(v.mdd),
        v.seedsNeeded === null ? '–' : v.mode === 'one-sample' ? `${v.seedsNeeded} models` : String(v.seedsNeeded),
        v.regime,
        v.reason,
      ];
    }),
  );
}

const ratio = (x: number | null): string => (x === null ? '–' : `${x.toFixed(2)}x`);
const seconds = (x: number | null): string => (x === null ? '–' : x < 0.1 ? x.toPrecision(2) : x.toFixed(2));

/** The mean criterion time, with how many runs it averages when some runs did not record one. */
function criterionCell(g: TradeoffGroup): string {
  const mean = seconds(g.criterionSeconds);
  return g.criterionSeconds !== null && g.criterionSecondsRuns < g.rows.length ? `${mean} (${g.criterionSecondsRuns} of ${g.rows.length} runs)` : mean;
}

function ci(s: Summary): string {
  return s.ciLow === null ? `${f2(s.mean)} (n=1)` : `${f2(s.mean)} [${f2(s.ciLow)}, ${f2(s.ciHigh)}]`;
}

export function rankTableMarkdown(t: RankTable, level: string): string {
  const out: string[] = [];
  out.push(
    table(
      ['rank', 'method', 'n', `top-1 mean [${level} CI]`, 'achieved', 'compression', 'MAC speedup', 'latency speedup', 'criterion s (mean)'],
      t.ranked.map((g, i) => [String(i + 1), g.label, String(g.top1.n), ci(g.top1), g.achieved === null ? '–' : g.achieved.toFixed(3), ratio(g.compression), ratio(g.macSpeedup), ratio(g.latencySpeedup), criterionCell(g)]),
    ),
  );
  if (t.pairs.length) {
    out.push('');
    out.push(
      table(
        ['A', 'B', 'A - B', `${level} Welch CI`, 'p', 'p (Holm)', 'verdict', 'MDD'],
        t.pairs.map((p) => {
          const w = p.comparison.welch;
          return [p.a.label, p.b.label, signed(p.comparison.diff), w ? `[${f2(w.ciLow)}, ${f2(w.ciHigh)}]` : '–', w ? w.p.toPrecision(3) : '–', p.pHolm === null ? '–' : p.pHolm.toPrecision(3), p.verdict, f2(p.comparison.mdd)];
        }),
      ),
    );
  }
  return out.join('\n');
}

export function buildTradeoffSummaryMarkdown(input: TradeoffSummaryInput): string {
  const { experiment, rows, verdicts, tables, margin, alpha } = input;
  const level = levelOf(alpha);
  const failed = rows.filter((r) => !isOk(r));
  const out: string[] = [];
  out.push(`# Report: ${experiment}${input.preset ? ` (preset ${input.preset})` : ''}`);
  out.push('');
  out.push('## What we found');
  out.push('');
  out.push(tradeoffFindings(input));
  out.push('');
  if (input.coverage) {
    out.push(input.coverage);
    out.push('');
  }
  out.push(
    `${plural(rows.length, 'run')}: ${rows.length - failed.length} ok, ${failed.length} failed (listed below, excluded from all statistics). ` +
      `Accuracy is \`top1_final\` (%), one value per seed (rows of one seed on several backends are one sample). Methods are (granularity, method, criterion, scope), operating points (model, target kind, target). ` +
      `Comparisons use Welch's t-test (two-sided) and its ${level} interval at alpha = ${alpha}; margin = **${margin} points** (the report's margin option; 0 tests plain superiority/inferiority). ` +
      `Beside each verdict: the minimum detectable difference, ${mddFormula(alpha)}.` +
      (input.latencyNote ? ` ${input.latencyNote}` : ''),
  );
  out.push('');

  const hs = input.hypotheses ?? STUDY_HYPOTHESES;
  out.push(`## Hypotheses (alpha = ${alpha}, margin ${margin} points)`);
  out.push('');
  out.push(
    'Verdict modes on the interval [lo, hi] of mean(A) - mean(B), margin m: *at-least* (non-inferiority): supported lo > -m, contradicted hi < -m; *better*: supported lo > 0, contradicted hi < m; *not-better*: supported hi < m, contradicted lo > 0 (an interval inside (0, m) supports both *better* and *not-better*: A is significantly better, by less than the margin); *equivalent*: supported -m < lo and hi < m, contradicted when the interval lies beyond +-m. Otherwise inconclusive; "seeds/arm to decide" is the count at which the MDD (same SDs) would reach the distance between the observed difference and the decision boundary (for H-speedup: the number of pruned models, arms x seeds, at which the one-sample MDD would reach the distance between the mean and the threshold). H-speedup tests the log speedups: its mean is the geometric mean, its interval the t interval of the logs mapped back (so an interval of ratios stays above 0), and its A / B is the measured over the MAC speedup.',
  );
  out.push('');
  for (const h of hs) out.push(hypothesisLine(h, margin));
  out.push('');
  out.push(verdicts.length ? verdictTable(verdicts, level, alpha) : '_No hypothesis applies to these runs._');
  if (verdicts.length) {
    const n = (k: string): number => verdicts.filter((v) => v.verdict === k).length;
    out.push('');
    out.push(`Totals: ${n('supported')} supported, ${n('contradicted')} contradicted, ${n('inconclusive')} inconclusive.`);
  }
  out.push('');

  out.push('## Rank tables');
  out.push('');
  out.push(
    `One per operating point: fine-tuned arms ranked by mean top-1, then every pair (A ranked above B). Pair verdicts: *tied within margin* when the ${level} interval lies inside (-${margin}, ${margin}) (checked first), *better* / *worse* when it excludes 0, otherwise *inconclusive*. ` +
      `A table of k arms makes k(k-1)/2 such tests, so at alpha = ${alpha} some *better* / *worse* verdicts are expected by chance alone: \`p (Holm)\` is the Welch p adjusted by Holm's step-down over the table's tested pairs, and a verdict whose adjusted p is ${alpha} or more may be one of those. ` +
      `\`achieved\` is the budget each arm reached, in its target's own measure; \`compression\` and \`MAC speedup\` are the unpruned model's parameters and MACs over the pruned model's; \`latency speedup\` is the measured batch-1 speedup on the runs' own backend (${backendsOf(rows)}), other runtimes in the H-speedup rows. ` +
      '`criterion s` is the mean time the criterion took to score the channels, weights, kernel fibres or blocks (`criterion_seconds`; a dash where no run recorded it, "(k of n runs)" where only some did).',
  );
  out.push('');
  if (tables.length === 0) out.push('_No fine-tuned arm with a target._');
  for (const t of tables) {
    out.push(`### ${pointLabel(t.point)}`);
    out.push('');
    out.push(rankTableMarkdown(t, level));
    out.push('');
  }
  const unranked = input.groups.filter((g) => !tables.some((t) => t.ranked.includes(g)));
  if (unranked.length) {
    out.push('Other arms (not ranked): ' + unranked.map((g) => `${pointLabel(g.point)}: ${g.label} ${ci(g.top1)}${g.top1.n > 1 ? ` (n=${g.top1.n})` : ''}`).join('; ') + '.');
    out.push('');
  }

  out.push('## Failed runs');
  out.push('');
  if (failed.length === 0) out.push('_None._');
  else out.push(table(['run_id', 'model', 'method', 'protocol', 'seed', 'error'], failed.map((r) => [String(r.run_id), String(r.model), String(r.method), String(r.protocol), String(r.seed), String(r.error) || '(no message)'])));
  out.push('');

  out.push(...figuresSection(input.figures));
  return out.join('\n');
}
