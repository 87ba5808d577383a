/**
 * The report module's public face: `buildReport` reads `results/<experiment>.csv` and the run
 * records of one preset, computes group statistics and verdicts, and writes
 * `reports/<experiment>/<preset>/` with every
 * figure as `<name>.vl.json`, `<name>.svg`, `<name>.png`, an offline `index.html` and `summary.md`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readResultsCsv, readRunRecords } from '../results/read.ts';
import type { RunRow } from '../results/columns.ts';
import { ConfigError } from '../util/errors.ts';
import { stderrLogger, type Logger } from '../util/log.ts';
import { FIGURES, type ReportData } from './figures/index.ts';
import { writeIndexHtml } from './html.ts';
import { matchPublished } from './published.ts';
import { renderSpec } from './render.ts';
import { evaluateHypotheses, groupStats, type GroupStats, type Verdict } from './stats.ts';
import { buildSummaryMarkdown } from './summary.ts';

export interface BuildReportOptions {
  experiment: string;
  /** default 'results' */
  resultsDir?: string;
  /** The preset whose runs to report; may be left out when the results hold only one. */
  preset?: string;
  /** default 'reports' */
  outDir?: string;
  /** significance level of intervals and verdicts, default 0.05 */
  alpha?: number;
  logger?: Logger;
}

export interface BuildReportResult {
  dir: string;
  files: string[];
  verdicts: Verdict[];
  groups: GroupStats[];
  summaryMarkdown: string;
}

export async function buildReport(opts: BuildReportOptions): Promise<BuildReportResult> {
  const resultsDir = opts.resultsDir ?? 'results';
  const outDir = opts.outDir ?? 'reports';
  const alpha = opts.alpha ?? 0.05;
  const logger = opts.logger ?? stderrLogger;
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`buildReport: alpha must be in (0, 1), got ${alpha}`);

  const csv = join(resultsDir, `${opts.experiment}.csv`);
  const allRows = readResultsCsv(csv);
  // Presets differ in data, epochs and widths: pooling their seeds would mix regimes.
  const presets = presetsOf(allRows);
  if (presets.length === 0) throw new ConfigError(`${csv} holds no runs yet`, 'experiment');
  const preset = opts.preset ?? presets[0]!;
  if (opts.preset === undefined && presets.length > 1) {
    throw new ConfigError(`${csv} holds runs of the presets ${presets.join(', ')}; a report covers one: choose it with --preset`, 'preset');
  }
  if (!presets.includes(preset)) throw new ConfigError(`${csv} has no runs of preset ${preset} (it has ${presets.join(', ')})`, 'preset');
  const rows = allRows.filter((r) => String(r.preset) === preset);
  const runsDir = join(resultsDir, opts.experiment, 'runs');
  const records = readRunRecords(runsDir).filter((r) => String(r.row.preset) === preset);
  if (records.length === 0) logger.warn(`${runsDir}: no run records; curve, width and gamma figures will say "no data"`);
  const groups = groupStats(rows, alpha);
  const verdicts = evaluateHypotheses(rows, { alpha });
  const matches = matchPublished(groups);
  const data: ReportData = { experiment: opts.experiment, rows, records, groups, matches, alpha };

  const dir = join(outDir, opts.experiment, preset);
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const built = [];
  for (const fig of FIGURES) {
    const spec = fig.build(data);
    const { svg, png } = await renderSpec(spec);
    for (const [ext, content] of [
      ['vl.json', JSON.stringify(spec, null, 2) + '\n'],
      ['svg', svg],
      ['png', png],
    ] as const) {
      const file = join(dir, `${fig.name}.${ext}`);
      writeFileSync(file, content);
      files.push(file);
    }
    built.push({ name: fig.name, title: fig.title, spec });
    logger.info(`report ${opts.experiment}: ${fig.name}`);
  }
  files.push(...writeIndexHtml(dir, opts.experiment, built));
  const summaryMarkdown = buildSummaryMarkdown({ experiment: opts.experiment, rows, records, groups, verdicts, matches, alpha, preset, figures: built });
  const summaryFile = join(dir, 'summary.md');
  writeFileSync(summaryFile, summaryMarkdown);
  files.push(summaryFile);
  logger.info(`report ${opts.experiment}: ${files.length} files in ${dir}`);
  return { dir, files, verdicts, groups, summaryMarkdown };
}

/** The presets a results CSV holds runs of, in order of first appearance. */
export function presetsOf(rows: RunRow[]): string[] {
  return [...new Set(rows.map((r) => String(r.preset)))];
}

/** The presets of `<resultsDir>/<experiment>.csv`. */
export function resultPresets(resultsDir: string, experiment: string): string[] {
  return presetsOf(readResultsCsv(join(resultsDir, `${experiment}.csv`)));
}

export { FIGURES, sensitivitySpec } from './figures/index.ts';
export type { FigureDef, ReportData } from './figures/index.ts';
export { HYPOTHESES, evaluateHypotheses, groupStats, summarize, welch, decide } from './stats.ts';
export type { GroupKey, GroupStats, Hypothesis, Summary, Verdict, VerdictKind, WelchResult } from './stats.ts';
export { PUBLISHED, matchPublished } from './published.ts';
export type { PublishedCell, PublishedMatch, PublishedSource } from './published.ts';
export { studentTCdf, studentTQuantile, studentTTwoSidedP } from './tdist.ts';
export { renderSpec, renderSvg, svgToPng } from './render.ts';
export { writeIndexHtml } from './html.ts';
export { buildSummaryMarkdown } from './summary.ts';
