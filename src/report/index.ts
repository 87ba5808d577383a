/**
 * The report module's public face: `buildReport` reads `results/<experiment>.csv` and the run
 * records of one preset, computes group statistics and verdicts, and writes
 * `reports/<experiment>/<preset>/` with every
 * figure as `<name>.vl.json`, `<name>.svg`, `<name>.png`, an offline `index.html` and `summary.md`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readResultsCsv, readRunRecords } from '../results/read.ts';
import { readRetimed } from '../results/retimed.ts';
import type { RunRow } from '../results/columns.ts';
import { ConfigError } from '../util/errors.ts';
import { stderrLogger, type Logger } from '../util/log.ts';
import { fineTuneConvergence, fineTunePoints, FIGURES, TRADEOFF_FIGURES, type ReportData } from './figures/index.ts';
import { writeIndexHtml } from './html.ts';
import { matchPublished } from './published.ts';
import { renderSpec } from './render.ts';
import { evaluateHypotheses, groupStats, type GroupStats, type Verdict } from './stats.ts';
import { evaluateStudyHypotheses, type StudyVerdict } from './studyHypotheses.ts';
import { coverageSentence, planCoverage } from './coverage.ts';
import { applyRetimed } from './retimed.ts';
import { buildSummaryMarkdown } from './summary.ts';
import { DEFAULT_TRADEOFF_MARGIN, isTradeoffStudy, rankTables, tradeoffGroups, unprunedStats, type RankTable } from './tradeoff.ts';
import { buildTradeoffSummaryMarkdown } from './tradeoffSummary.ts';
import { ensureDirSync } from '../util/fs.ts';

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
  /**
   * Which report: 'rethinking' (the papers' pairwise claims), 'tradeoff' (issue 30's curves, rank
   * tables and hypotheses) or 'auto' (default): tradeoff when any row has a target_kind or scope.
   */
  study?: ReportStudy;
  /** Non-inferiority / equivalence margin of the tradeoff study's verdicts, in points (default 0.3). */
  margin?: number;
  logger?: Logger;
}

export interface BuildReportResult {
  dir: string;
  files: string[];
  verdicts: Verdict[];
  groups: GroupStats[];
  summaryMarkdown: string;
  /** Which report was built (resolved from 'auto'). */
  study: 'rethinking' | 'tradeoff';
  /** Tradeoff study only: its hypothesis verdicts and rank tables. */
  studyVerdicts?: StudyVerdict[];
  rankTables?: RankTable[];
}

export const REPORT_STUDIES = ['auto', 'rethinking', 'tradeoff'] as const;
export type ReportStudy = (typeof REPORT_STUDIES)[number];

export async function buildReport(opts: BuildReportOptions): Promise<BuildReportResult> {
  const resultsDir = opts.resultsDir ?? 'results';
  const outDir = opts.outDir ?? 'reports';
  const alpha = opts.alpha ?? 0.05;
  const logger = opts.logger ?? stderrLogger;
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`buildReport: alpha must be in (0, 1), got ${alpha}`);
  const margin = opts.margin ?? DEFAULT_TRADEOFF_MARGIN;
  if (!(Number.isFinite(margin) && margin >= 0)) throw new ConfigError(`--margin expects a margin in accuracy points >= 0, got ${margin}`, 'margin');
  const studyOpt = opts.study ?? 'auto';
  if (!(REPORT_STUDIES as readonly string[]).includes(studyOpt)) throw new ConfigError(`--study expects one of ${REPORT_STUDIES.join(', ')}, got "${studyOpt}"`, 'study');

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
  let rows = allRows.filter((r) => String(r.preset) === preset);
  const runsDir = join(resultsDir, opts.experiment, 'runs');
  const recordsAsRun = readRunRecords(runsDir).filter((r) => String(r.row.preset) === preset);
  if (recordsAsRun.length === 0) logger.warn(`${runsDir}: no run records; curve, width and gamma figures will say "no data"`);
  const study = studyOpt === 'auto' ? (isTradeoffStudy(rows) ? 'tradeoff' : 'rethinking') : studyOpt;
  // The tradeoff study's latency verdicts use re-timed latencies where `prunebench retime` wrote them.
  const retimed = study === 'tradeoff' ? applyRetimed(rows, recordsAsRun, readRetimed(resultsDir, opts.experiment), preset) : null;
  if (retimed) {
    rows = retimed.rows;
    logger.info(`report ${opts.experiment}: ${retimed.retimedModels} of ${retimed.prunedModels} pruned models have re-timed latencies`);
  }
  const records = retimed ? retimed.records : recordsAsRun;
  const groups = groupStats(rows, alpha);
  // The tradeoff study has its own hypotheses; the Rethinking ones would pair its arms by prune ratio, which a budget search varies per seed.
  const verdicts = study === 'rethinking' ? evaluateHypotheses(rows, { alpha }) : [];
  const matches = matchPublished(groups);
  const data: ReportData = { experiment: opts.experiment, rows, records, groups, matches, alpha };

  const dir = join(outDir, opts.experiment, preset);
  ensureDirSync(dir);
  const files: string[] = [];
  const built = [];
  for (const fig of study === 'tradeoff' ? TRADEOFF_FIGURES : FIGURES) {
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
  const planned = planCoverage(opts.experiment, preset, rows);
  const coverage = planned ? coverageSentence(planned, preset) : undefined;
  let summaryMarkdown: string;
  let extra: Pick<BuildReportResult, 'studyVerdicts' | 'rankTables'> = {};
  if (study === 'tradeoff') {
    const arms = tradeoffGroups(rows, records, alpha);
    const tables = rankTables(arms, margin, alpha);
    const studyVerdicts = evaluateStudyHypotheses(rows, arms, records, { margin, alpha });
    extra = { studyVerdicts, rankTables: tables };
    summaryMarkdown = buildTradeoffSummaryMarkdown({
      experiment: opts.experiment, preset, rows, verdicts: studyVerdicts, tables, groups: arms, unpruned: unprunedStats(rows, alpha), margin, alpha, figures: built, latencyNote: retimed?.note, coverage,
      convergence: fineTuneConvergence(fineTunePoints(data)),
    });
  } else {
    summaryMarkdown = buildSummaryMarkdown({ experiment: opts.experiment, rows, records, groups, verdicts, matches, alpha, preset, figures: built, coverage });
  }
  const summaryFile = join(dir, 'summary.md');
  writeFileSync(summaryFile, summaryMarkdown);
  files.push(summaryFile);
  logger.info(`report ${opts.experiment}: ${files.length} files in ${dir}`);
  return { dir, files, verdicts, groups, summaryMarkdown, study, ...extra };
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
export { DEFAULT_TRADEOFF_MARGIN, TRADEOFF_COLUMNS, compareArms, holmAdjust, isTradeoffStudy, minimumDetectableDifference, rankTables, rankVerdictOf, seedsPerArmNeeded, tradeoffGroups, verdictOf } from './tradeoff.ts';
export type { ArmComparison, MethodKey, PointKey, RankPair, RankTable, RankVerdict, TradeoffGroup, VerdictMode } from './tradeoff.ts';
export { STUDY_HYPOTHESES, evaluateStudyHypotheses, oneSampleMdd, speedupCells } from './studyHypotheses.ts';
export type { StudyHypothesis, StudyVerdict } from './studyHypotheses.ts';
export { buildTradeoffSummaryMarkdown, tradeoffFindings } from './tradeoffSummary.ts';
