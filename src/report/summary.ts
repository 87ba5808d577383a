/**
 * summary.md: group statistics, the verdict table of the Rethinking hypotheses, ours vs.
 * published with the protocol differences spelled out, and the failed runs.
 */
import type { RunRecord, RunRow } from '../results/columns.ts';
import { configWidth, formatPublished, formatRegime, publishedComparison, regimeOf, tallyVerdicts, whatWeFound } from './findings.ts';
import { protocolDifferences, type PublishedMatch } from './published.ts';
import { formatEpochs, groupId, groupKeyOf, HYPOTHESES, isOk, type GroupStats, type Summary, type Verdict } from './stats.ts';

export interface SummaryInput {
  experiment: string;
  rows: RunRow[];
  records: RunRecord[];
  groups: GroupStats[];
  verdicts: Verdict[];
  matches: PublishedMatch[];
  alpha: number;
  /** The preset these runs belong to (a report covers one). */
  preset?: string;
  figures?: { name: string; title: string }[];
  /** What of the planned sweep has run (coverage.ts), when known. */
  coverage?: string | undefined;
}

export const f2 = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(2));
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

function ci(s: Summary | null): string {
  if (!s) return '–';
  if (s.ciLow === null || s.ciHigh === null) return `${f2(s.mean)} (n=1)`;
  return `${f2(s.mean)} [${f2(s.ciLow)}, ${f2(s.ciHigh)}]`;
}

export function buildSummaryMarkdown(input: SummaryInput): string {
  const { experiment, rows, groups, verdicts, matches, alpha } = input;
  const level = `${Math.round((1 - alpha) * 1000) / 10}%`;
  const failed = rows.filter((r) => !isOk(r));
  const out: string[] = [];
  out.push(`# Report: ${experiment}${input.preset ? ` (preset ${input.preset})` : ''}`);
  out.push('');
  out.push('## What we found');
  out.push('');
  out.push(whatWeFound(verdicts, rows, input.records));
  out.push('');
  if (input.coverage) {
    out.push(input.coverage);
    out.push('');
  }
  out.push(
    `${rows.length} runs: ${rows.length - failed.length} ok, ${failed.length} failed (failed runs are listed below and excluded from all statistics). ` +
      `Accuracy is \`top1_final\` (test accuracy after the last epoch, %); intervals are ${level} Student t intervals over seeds; ` +
      `comparisons use Welch's unequal-variance t-test (two-sided) at alpha = ${alpha}.`,
  );
  out.push('');

  out.push('## Group statistics');
  out.push('');
  out.push('A group is (experiment, model, method, profile, prune ratio, protocol); seeds are its repetitions.');
  out.push('');
  out.push(
    table(
      ['model', 'method', 'profile / ratio', 'protocol', 'n', 'seeds', 'top-1 mean', 'std', 'min', 'max', `top-1 ${level} CI`, 'params red. % [CI]', 'MACs red. % [CI]', 'epochs'],
      groups.map((g) => [
        g.key.model,
        g.key.method,
        g.key.profile || (g.key.pruneRatio > 0 ? String(g.key.pruneRatio) : '–'),
        g.key.protocol,
        String(g.top1.n),
        g.seeds.join(', '),
        f2(g.top1.mean),
        f2(g.top1.std),
        f2(g.top1.min),
        f2(g.top1.max),
        g.top1.ciLow === null ? '– (n=1)' : `[${f2(g.top1.ciLow)}, ${f2(g.top1.ciHigh)}]`,
        ci(g.paramsReductionPct),
        ci(g.macsReductionPct),
        g.epochs ? formatEpochs(g.epochs) : '–',
      ]),
    ),
  );
  out.push('');

  out.push(`## Verdicts (alpha = ${alpha})`);
  out.push('');
  out.push('Hypotheses, each read as "A is at least as accurate as B": *supported* when the whole Welch interval of mean(A) - mean(B) lies above -margin, *contradicted* when it lies below, otherwise *inconclusive*. Fewer than 2 seeds on a side is always inconclusive.');
  out.push('');
  for (const h of HYPOTHESES) out.push(`- **${h.id}**: ${h.statement} (margin ${h.margin} points; ${h.source})`);
  out.push('');
  if (verdicts.length === 0) {
    out.push('_No cell of this experiment has runs for any hypothesis._');
  } else {
    out.push(
      table(
        ['hypothesis', 'cell', 'A (n, mean)', 'B (n, mean)', 'A - B', `${level} Welch CI`, 'df', 'p', 'verdict', 'published (same comparison)', 'regime', 'why'],
        verdicts.map((v) => {
          const regime = regimeOf(v, rows, input.records);
          return [
          v.hypothesisId,
          v.cellLabel,
          `${v.labelA} (${v.nA}, ${f2(v.meanA)})`,
          `${v.labelB} (${v.nB}, ${f2(v.meanB)})`,
          f2(v.diff),
          v.ciLow === null ? '–' : `[${f2(v.ciLow)}, ${f2(v.ciHigh)}]`,
          v.df === null ? '–' : v.df.toFixed(1),
          v.p === null ? '–' : v.p.toPrecision(3),
          `**${v.verdict}**`,
          formatPublished(v, publishedComparison(v, regime.dataset)),
          formatRegime(regime),
          v.reason,
        ];
        }),
      ),
    );
    const counts = tallyVerdicts(verdicts);
    const notYet = counts.notYet ? `; ${counts.notYet} more ${counts.notYet === 1 ? 'has' : 'have'} no runs on one side yet` : '';
    out.push('');
    out.push(`Totals: ${counts.supported} supported, ${counts.contradicted} contradicted, ${counts.inconclusive} inconclusive${notYet}.`);
  }
  out.push('');

  out.push('## Ours vs. published');
  out.push('');
  if (matches.length === 0) {
    out.push('_No group of this experiment matches a published cell (model, dataset, method, profile/ratio, protocol)._');
  } else {
    out.push('Published values are as printed (error converted to accuracy = 100 - error). Our runs differ from the papers\' protocols as listed; differences of the size shown are expected from them alone.');
    out.push('');
    const firstRow = new Map<string, RunRow>();
    for (const r of rows) if (isOk(r)) firstRow.set(groupId(groupKeyOf(r)), firstRow.get(groupId(groupKeyOf(r))) ?? r);
    const widthOf = new Map<string, number>();
    for (const rec of input.records) {
      const w = configWidth(rec.config, String(rec.row.model));
      if (w !== undefined) widthOf.set(groupId(groupKeyOf(rec.row)), w);
    }
    out.push(
      table(
        ['published cell', 'source', 'published top-1', 'ours top-1 [CI] (n)', 'ours - published', 'params: ours / published', 'protocol differences', 'notes'],
        matches.map((m) => {
          const p = m.published;
          const kind = p.source.kind === 'paper' ? '' : p.source.kind === 'reference-code' ? ' (reference code)' : ' (secondary quotation)';
          return [
            `${p.label} (${p.key.dataset})`,
            `${p.source.paper}, ${p.source.table}${kind}`,
            p.top1Std !== undefined ? `${f2(p.top1)} ± ${f2(p.top1Std)}` : f2(p.top1),
            `${ci(m.ours.top1)} (${m.ours.top1.n})`,
            f2(m.ours.top1.mean - p.top1),
            p.params !== undefined ? `${(m.ours.params / 1e6).toFixed(2)}M / ${(p.params / 1e6).toFixed(2)}M` : '–',
            protocolDifferences(m, firstRow.get(m.ours.id), widthOf.get(m.ours.id)).join('; '),
            p.note ?? '',
          ];
        }),
      ),
    );
  }
  out.push('');

  out.push('## Failed runs');
  out.push('');
  if (failed.length === 0) out.push('_None._');
  else {
    out.push(
      table(
        ['run_id', 'model', 'method', 'profile / ratio', 'protocol', 'seed', 'error'],
        failed.map((r) => [
          String(r.run_id),
          String(r.model),
          String(r.method),
          String(r.profile) || String(r.prune_ratio),
          String(r.protocol),
          String(r.seed),
          String(r.error) || '(no message)',
        ]),
      ),
    );
  }
  out.push('');

  out.push(...figuresSection(input.figures));
  return out.join('\n');
}

/** The summary's closing list of figures (each as PNG, SVG and spec), or nothing without figures. */
export function figuresSection(figures: readonly { name: string; title: string }[] | undefined): string[] {
  if (!figures || figures.length === 0) return [];
  return [
    '## Figures',
    '',
    ...figures.map((f) => `- ${f.title}: [${f.name}.png](${f.name}.png) ([SVG](${f.name}.svg), [spec](${f.name}.vl.json))`),
    '',
    'Interactive: [index.html](index.html).',
    '',
  ];
}
