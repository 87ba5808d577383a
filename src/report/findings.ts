/**
 * What a reader needs beside each verdict: the regime it was obtained in (data, epochs, widths,
 * seeds, how well the unpruned model trained) and the published figure for the same comparison,
 * plus the plain-language "what we found" paragraph that opens summary.md.
 */
import type { RunRecord, RunRow } from '../results/columns.ts';
import { PUBLISHED, matchesPublished, type PublishedCell } from './published.ts';
import { epochRange, formatEpochs, HYPOTHESES, isOk, num, numbers, type EpochRange, type GroupStats, type Verdict, type VerdictKind } from './stats.ts';

/** The conditions of one pruned configuration's runs. */
export interface Regime {
  dataset: string;
  /** Training images used (the whole set when the rows say 0). */
  trainImages: number;
  testImages: number | null;
  /** Epochs over the runs; seeds can differ (Scratch-B's budget follows each seed's pruned MACs). */
  baselineEpochs: EpochRange | null;
  fineTuneEpochs: EpochRange | null;
  scratchBEpochs: EpochRange | null;
  width: number | null;
  seeds: number[];
  /** Seeds of each arm (a side with runs) of these comparisons. */
  seedsPerArm: number[];
  /** Mean top-1 of the unpruned model in these runs. */
  unprunedTop1: number | null;
}

const FULL_TRAIN: Record<string, number> = { cifar10: 50_000, cifar100: 50_000 };
const FULL_TEST: Record<string, number> = { cifar10: 10_000, cifar100: 10_000 };
const DATASET_NAME: Record<string, string> = { cifar10: 'CIFAR-10', cifar100: 'CIFAR-100', synthetic: 'synthetic data' };

/**
 * A model's width multiplier in a run's resolved config: its `modelWidths` entry, else
 * `widthMultiplier` (any `width`-like key, 3 levels deep, for older records).
 */
export function configWidth(config: unknown, model?: string, depth = 0): number | undefined {
  if (depth > 3 || typeof config !== 'object' || config === null) return undefined;
  const perModel = (config as { modelWidths?: Record<string, unknown> }).modelWidths;
  if (model !== undefined && perModel && typeof perModel[model] === 'number') return perModel[model] as number;
  for (const [k, v] of Object.entries(config)) {
    if (/^width(multiplier|mult|scale)?$/i.test(k) && typeof v === 'number') return v;
  }
  for (const [k, v] of Object.entries(config)) {
    if (k === 'modelWidths') continue;
    const w = configWidth(v, model, depth + 1);
    if (w !== undefined) return w;
  }
  return undefined;
}

function testImagesOf(config: unknown, dataset: string): number | null {
  const data = (config as { data?: { testSubset?: unknown } } | null)?.data;
  const subset = typeof data?.testSubset === 'number' ? data.testSubset : null;
  if (subset === null) return null;
  return subset > 0 ? subset : (FULL_TEST[dataset] ?? null);
}

/**
 * The regime of the runs of one verdict's cell (its model's rows of every protocol); seeds are
 * counted over `cellVerdicts` (v alone for its table row, all of the cell's for its sentence).
 */
export function regimeOf(v: Verdict, rows: RunRow[], records: RunRecord[], cellVerdicts: readonly Verdict[] = [v]): Regime {
  const ok = rows.filter((r) => isOk(r) && String(r.model) === v.cell.model && String(r.experiment) === v.cell.experiment);
  const mine = ok.filter((r) => String(r.method) === v.cell.method && String(r.profile ?? '') === v.cell.profile && (num(r.prune_ratio) ?? 0) === v.cell.pruneRatio);
  const first = mine[0] ?? ok[0];
  const dataset = first ? String(first.dataset) : '';
  const subset = first ? (num(first.train_subset) ?? 0) : 0;
  const ofProtocol = (protocol: string, from: RunRow[]): RunRow[] => from.filter((x) => String(x.protocol) === protocol);
  const epochsOf = (protocol: string, from: RunRow[]): EpochRange | null => epochRange(numbers(ofProtocol(protocol, from), 'epochs_derived'));
  const baselines = numbers(ofProtocol('baseline', ok), 'top1_final');
  const record = records.find((r) => String(r.row.model) === v.cell.model);
  return {
    dataset,
    trainImages: subset > 0 ? subset : (FULL_TRAIN[dataset] ?? 0),
    testImages: record ? testImagesOf(record.config, dataset) : null,
    baselineEpochs: epochsOf('baseline', ok) ?? epochsOf('sparsity-train', ok),
    fineTuneEpochs: epochsOf('fine-tune', mine),
    scratchBEpochs: epochsOf('scratch-B', mine),
    width: record ? (configWidth(record.config, v.cell.model) ?? null) : null,
    seeds: [...new Set(cellVerdicts.flatMap((x) => [...x.seedsA, ...x.seedsB]))].sort((a, b) => a - b),
    seedsPerArm: cellVerdicts.flatMap((x) => [x.nA, x.nB]).filter((n) => n > 0),
    unprunedTop1: baselines.length ? baselines.reduce((s, x) => s + x, 0) / baselines.length : null,
  };
}

const thousands = (n: number): string => n.toLocaleString('en-US');

export function formatRegime(r: Regime): string {
  const parts = [`${DATASET_NAME[r.dataset] ?? r.dataset} ${thousands(r.trainImages)} train${r.testImages !== null ? ` / ${thousands(r.testImages)} test` : ''} images`];
  const epochs = [
    r.baselineEpochs !== null ? `${formatEpochs(r.baselineEpochs)} epochs` : '',
    r.fineTuneEpochs !== null ? `fine-tune ${formatEpochs(r.fineTuneEpochs)}` : '',
    r.scratchBEpochs !== null ? `Scratch-B ${formatEpochs(r.scratchBEpochs)}` : '',
  ].filter(Boolean);
  if (epochs.length) parts.push(epochs.join(', '));
  if (r.width !== null) parts.push(`width x${r.width}`);
  const fewest = Math.min(...r.seedsPerArm);
  const most = Math.max(...r.seedsPerArm);
  // Arms with different seed counts (e.g. 3 Scratch-E, 1 fine-tuned) must not read as one count.
  parts.push(fewest < most ? `${fewest}-${most} seeds per arm` : `${r.seeds.length} seed${r.seeds.length === 1 ? '' : 's'}`);
  if (r.unprunedTop1 !== null) parts.push(`unpruned ${r.unprunedTop1.toFixed(2)}%`);
  return parts.join('; ');
}

/** The published values for both sides of a verdict's comparison, from one paper where possible. */
export interface PublishedComparison {
  a: PublishedCell | null;
  b: PublishedCell | null;
  /** a - b when both come from the same paper. */
  diff: number | null;
}

export function publishedComparison(v: Verdict, dataset: string, published: readonly PublishedCell[] = PUBLISHED): PublishedComparison {
  const h = HYPOTHESES.find((x) => x.id === v.hypothesisId);
  if (!h) return { a: null, b: null, diff: null };
  const find = (protocol: GroupStats['key']['protocol'], unpruned: boolean): PublishedCell[] =>
    published.filter((p) =>
      matchesPublished(p, { key: { ...v.cell, method: unpruned ? 'none' : v.cell.method, profile: unpruned ? '' : v.cell.profile, pruneRatio: unpruned ? 0 : v.cell.pruneRatio, protocol }, dataset }),
    );
  const as = find(h.a.protocol, false);
  const bs = find(h.b.protocol, h.b.match === 'unpruned');
  for (const a of as) {
    const b = bs.find((x) => x.source.paper === a.source.paper);
    if (b) return { a, b, diff: a.top1 - b.top1 };
  }
  return { a: as[0] ?? null, b: bs[0] ?? null, diff: null };
}

export function formatPublished(v: Verdict, c: PublishedComparison): string {
  if (!c.a && !c.b) return 'not in the sources read';
  const side = (label: string, p: PublishedCell | null): string => (p ? `${label} ${p.top1.toFixed(2)}` : `${label} not in the sources read`);
  const papers = [...new Set([c.a, c.b].filter((p): p is PublishedCell => p !== null).map((p) => p.source.paper.replace(/ \(.*\)$/, '')))];
  const diff = c.diff !== null ? ` (${c.diff >= 0 ? '+' : ''}${c.diff.toFixed(2)})` : '';
  return `${side(v.labelA, c.a)} vs ${side(v.labelB, c.b)}${diff}; ${papers.join(', ')}`;
}

const PLAIN: Record<string, { claim: string; yes: string; no: string; open: string }> = {
  'scratchB-vs-fineTune': {
    claim: 'training the pruned architecture from scratch with the same compute (Scratch-B) is at least as good as fine-tuning it',
    yes: 'Scratch-B was at least as accurate as fine-tuning',
    no: 'fine-tuning beat Scratch-B',
    open: 'Scratch-B and fine-tuning could not be told apart',
  },
  'scratchE-vs-fineTune': {
    claim: 'training from scratch for the same epochs (Scratch-E) is at least as good as fine-tuning',
    yes: 'Scratch-E was at least as accurate as fine-tuning',
    no: 'fine-tuning beat Scratch-E',
    open: 'Scratch-E and fine-tuning could not be told apart',
  },
  'scratchB-vs-unpruned': {
    claim: 'the pruned architecture trained from scratch (Scratch-B) matches the unpruned model',
    yes: 'Scratch-B matched the unpruned model',
    no: 'the unpruned model beat Scratch-B',
    open: 'Scratch-B and the unpruned model could not be told apart',
  },
  'automaticE-vs-uniform': {
    claim: 'the automatically found architecture beats a uniform one of equal size (Scratch-E)',
    yes: 'the automatic architecture was at least as accurate as the uniform one (Scratch-E)',
    no: 'the uniform architecture beat the automatic one (Scratch-E)',
    open: 'automatic and uniform architectures could not be told apart (Scratch-E)',
  },
  'automaticB-vs-uniform': {
    claim: 'the automatically found architecture beats a uniform one of equal size (Scratch-B)',
    yes: 'the automatic architecture was at least as accurate as the uniform one (Scratch-B)',
    no: 'the uniform architecture beat the automatic one (Scratch-B)',
    open: 'automatic and uniform architectures could not be told apart (Scratch-B)',
  },
};

/** Unpruned accuracy (%) below which a regime is undertrained, and from which it is comparable to the papers'. */
const UNDERTRAINED_BELOW = 70;
const WELL_TRAINED_FROM = 90;

const hasNoRunsOnOneSide = (v: Verdict): boolean => v.nA === 0 || v.nB === 0;

/** Verdicts counted by kind; a comparison with no runs on one side is not evidence either way, so it is counted apart (`notYet`). */
export function tallyVerdicts(verdicts: Verdict[]): Record<VerdictKind, number> & { notYet: number } {
  const tally = { supported: 0, contradicted: 0, inconclusive: 0, notYet: 0 };
  for (const v of verdicts) {
    if (hasNoRunsOnOneSide(v)) tally.notYet++;
    else tally[v.verdict]++;
  }
  return tally;
}

const signed = (x: number | null): string => (x === null ? '?' : `${x >= 0 ? '+' : ''}${x.toFixed(2)}`);

/**
 * One paragraph in plain words, generated from the verdicts: per cell, what held and by how
 * much, in which regime, and how that compares with the paper. Says so when nothing can be
 * concluded (too few seeds, or an undertrained regime).
 */
export function whatWeFound(verdicts: Verdict[], rows: RunRow[], records: RunRecord[]): string {
  if (verdicts.length === 0) return 'No comparison of the Rethinking hypotheses can be made from these runs yet.';
  const sentences: string[] = [];
  const byCell = new Map<string, Verdict[]>();
  for (const v of verdicts) byCell.set(v.cellLabel, [...(byCell.get(v.cellLabel) ?? []), v]);
  const regimes = new Map([...byCell].map(([label, vs]) => [label, regimeOf(vs[0]!, rows, records, vs)] as const));
  for (const [label, vs] of byCell) {
    const regime = regimes.get(label)!;
    const parts = vs.map((v) => {
      if (hasNoRunsOnOneSide(v)) return `${v.labelA} vs ${v.labelB} has no runs on one side (${v.nA} and ${v.nB})`;
      const pub = publishedComparison(v, regime.dataset);
      const paper = pub.diff !== null ? `; paper ${signed(pub.diff)}` : '';
      // No Welch test ran (too few seeds, decided in stats.ts): untested is not "could not be told apart".
      if (v.p === null) return `${v.labelA} vs ${v.labelB} was not tested, too few seeds (${v.nA} and ${v.nB}; ${signed(v.diff)} points${paper})`;
      const words = PLAIN[v.hypothesisId];
      const what = !words ? `${v.hypothesisId}: ${v.verdict}` : v.verdict === 'supported' ? words.yes : v.verdict === 'contradicted' ? words.no : words.open;
      return `${what} (${signed(v.diff)} points${paper})`;
    });
    sentences.push(`For ${label} (${formatRegime(regime)}): ${parts.join('; ')}.`);
  }
  const { notYet, ...counts } = tallyVerdicts(verdicts);
  const tested = counts.supported + counts.contradicted + counts.inconclusive;
  const overall =
    tested === 0
      ? 'No comparison can be made yet: each has no runs on one side.'
      : counts.supported + counts.contradicted === 0
        ? 'No claim was supported or contradicted at this significance level: the evidence here is inconclusive.'
        : `Overall ${counts.supported} comparison${counts.supported === 1 ? '' : 's'} supported the paper's claim, ${counts.contradicted} contradicted it and ${counts.inconclusive} ${counts.inconclusive === 1 ? 'was' : 'were'} inconclusive.`;
  const pending = notYet && tested ? ` ${notYet} more comparison${notYet === 1 ? ' has' : 's have'} no runs on one side yet.` : '';
  const unpruned = [...regimes.values()].map((r) => r.unprunedTop1).filter((x): x is number => x !== null);
  const best = unpruned.length ? Math.max(...unpruned) : null;
  let caveat = '';
  if (best !== null && best < UNDERTRAINED_BELOW) {
    caveat = ` The unpruned models averaged only ${best.toFixed(1)}% or less here, far from the papers' ~93-94%: in such an undertrained regime more epochs win by themselves, so these verdicts say little about the papers' claims, which concern well-trained networks.`;
  } else if (best !== null && best < WELL_TRAINED_FROM) {
    caveat = ` The unpruned models averaged ${best.toFixed(1)}% at most, below the papers' ~93-94% (reduced widths, epochs or data): the verdicts hold for this smaller regime; whether they carry over to the full-size networks is what the paper preset tests.`;
  }
  return `${sentences.join(' ')} ${overall}${pending}${caveat}`;
}
