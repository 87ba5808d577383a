import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../../util/errors.ts';
import type { Logger } from '../../util/log.ts';
import { BIN, REPO_ROOT } from '../env.ts';
import { defaultRunDir, formatPlan, prepareRun, readPlan, type RunPlan } from '../plan.ts';
import type { ExecuteOptions, Executor, SlurmResult } from '../types.ts';
import { detectSlurm } from './detect.ts';
import { shellQuote } from './quote.ts';
import { slurmLayout } from './layout.ts';
import { slurmStatus } from './status.ts';
import { readSubmissionHistory, submitSweepToSlurm } from './submit.ts';
import type { SlurmOptions, SweepCell } from './types.ts';
import { validateSlurmOptions } from './scripts.ts';

const DEFAULT_RESULTS_DIR = 'results';

/**
 * A resume must run the same sweep into the same places: results dir, data dir and backend come
 * from the run's plan.json unless given again, and must then be the same.
 */
function inheritFromPlan(opts: ExecuteOptions, previous: RunPlan, runDir: string): ExecuteOptions & { resultsDir: string } {
  if (opts.resultsDir !== undefined && resolve(opts.resultsDir) !== previous.resultsDir) {
    throw new ConfigError(`--resume: --results-dir ${resolve(opts.resultsDir)} differs from ${previous.resultsDir}, where ${runDir} wrote its results; leave --results-dir out or give the same one`, 'results-dir');
  }
  if (opts.dataDir !== undefined && previous.dataDir !== undefined && resolve(opts.dataDir) !== previous.dataDir) {
    throw new ConfigError(`--resume: --data-dir ${resolve(opts.dataDir)} differs from ${previous.dataDir} of the run in ${runDir}`, 'data-dir');
  }
  if (opts.backend !== undefined && previous.backend !== undefined && opts.backend !== previous.backend) {
    throw new ConfigError(`--resume: --backend ${opts.backend} differs from ${previous.backend} of the run in ${runDir}`, 'backend');
  }
  if (opts.threads !== undefined && previous.threads !== undefined && opts.threads !== previous.threads) {
    throw new ConfigError(`--resume: --threads ${opts.threads} differs from ${previous.threads} of the run in ${runDir}`, 'threads');
  }
  return {
    ...opts,
    runDir,
    resultsDir: previous.resultsDir,
    ...(opts.dataDir === undefined && previous.dataDir !== undefined ? { dataDir: previous.dataDir } : {}),
    ...(opts.backend === undefined && previous.backend !== undefined ? { backend: previous.backend } : {}),
    ...(opts.threads === undefined && previous.threads !== undefined ? { threads: previous.threads } : {}),
  };
}

/** Throw unless the planned cells are exactly those of cells.json (task ids index that file). */
function checkSameCells(plan: RunPlan, runDir: string): void {
  const file = slurmLayout.cellsFile(runDir);
  const before = JSON.parse(readFileSync(file, 'utf8')) as SweepCell[];
  const stageBefore = new Map(before.map((c) => [c.id, c.stage]));
  const stageNow = new Map(plan.cells.map((c) => [c.id, c.stage]));
  const added = [...stageNow.keys()].filter((id) => !stageBefore.has(id));
  const removed = [...stageBefore.keys()].filter((id) => !stageNow.has(id));
  const moved = [...stageNow.keys()].filter((id) => stageBefore.has(id) && stageBefore.get(id) !== stageNow.get(id));
  if (added.length || removed.length || moved.length) {
    const parts = [added.length ? `new: ${added.join(', ')}` : '', removed.length ? `left out: ${removed.join(', ')}` : '', moved.length ? `other stage: ${moved.join(', ')}` : ''].filter(Boolean);
    throw new ConfigError(
      `--resume: the planned cells differ from ${file} (${parts.join('; ')}); resume with the same --seeds/--only/--set as the first submission, or use a new --run-dir`,
      'resume',
    );
  }
}

/** Cells that Slurm still has queued or running: resubmitting them would run them twice. */
async function cellsInFlight(runDir: string, logger: Logger): Promise<string[]> {
  const states = await slurmStatus(runDir);
  for (const s of states) {
    if (s.state === 'unknown') logger.warn(`--resume: cannot tell whether ${s.cellId} (${s.jobId ?? 'no job'}) is still running; resubmitting it`);
  }
  return states.filter((s) => s.state === 'pending' || s.state === 'running').map((s) => `${s.cellId} (${s.state}, job ${s.jobId})`);
}

/** The logger of a dry run: the scripts and sbatch lines are the command's output, so they go to print. */
function dryRunLogger(print: (line: string) => void, logger: Logger): Logger {
  return { info: (m) => print(m), warn: (m) => logger.warn(m) };
}

/**
 * The Slurm executor: the same plan as a local run, submitted as job arrays, one per stage
 * (cells that need nothing, prune, post-prune training), each depending on the previous stage, and a merge
 * job (`prunebench merge`) that folds the per-cell results into the experiment's CSV. Every task
 * runs `node bin/prunebench.js run-cell --run-dir D --index $CELL_INDEX`. Cells that have
 * completed (e.g. in an earlier local run) are not submitted. `resume` resubmits the cells of an
 * earlier Slurm submission that did not complete, into the same run dir, results dir and config;
 * it refuses while any of them is still queued or running.
 */
export async function runOnSlurm(opts: ExecuteOptions): Promise<SlurmResult> {
  // Before anything is written: is there a Slurm, and are the options sane?
  if (!opts.dryRun) detectSlurm();
  const options: SlurmOptions = { jobName: `pb-${opts.experiment}`.replace(/[^A-Za-z0-9_.-]/g, '_'), ...opts.slurm };
  // A cell that computes with N threads asks for N cores (unless the user set it with --sbatch-arg).
  if (opts.threads && opts.threads > 1 && !(options.sbatchArgs ?? []).some((a) => /^(--cpus-per-task|-c)\b/.test(a))) {
    options.sbatchArgs = [...(options.sbatchArgs ?? []), `--cpus-per-task=${opts.threads}`];
  }
  validateSlurmOptions(options);
  const runDir = resolve(opts.runDir ?? defaultRunDir(opts.experiment, opts.preset));
  const submitted = existsSync(slurmLayout.cellsFile(runDir));
  const resume = Boolean(opts.resume);

  let o: ExecuteOptions & { resultsDir: string } = { ...opts, runDir, resultsDir: opts.resultsDir ?? DEFAULT_RESULTS_DIR };
  if (resume) {
    if (!submitted) throw new ConfigError(`--resume: ${runDir} was never submitted to Slurm (no ${slurmLayout.cellsFile(runDir)}); run without --resume`, 'resume');
    o = inheritFromPlan(opts, await readPlan(runDir), runDir);
  } else if (submitted) {
    const jobs = readSubmissionHistory(runDir).flatMap((s) => [...s.stages.flatMap((st) => st.arrays.map((a) => a.jobId)), s.mergeJobId]);
    throw new ConfigError(
      `${runDir} was already submitted to Slurm (jobs ${jobs.join(', ') || 'unknown'}); add --resume to resubmit the cells that did not complete, or use a new --run-dir`,
      'resume',
    );
  }

  // Plan without writing: a resume must not rewrite plan.json for a sweep it then refuses.
  const preview = await prepareRun({ ...o, dryRun: true });
  if (resume) {
    checkSameCells(preview.plan, runDir);
    if (!opts.dryRun) {
      const busy = await cellsInFlight(runDir, opts.logger);
      if (busy.length > 0) {
        throw new ConfigError(`--resume: ${busy.length} cell(s) of ${runDir} are still queued or running in Slurm: ${busy.join(', ')}; wait for them (prunebench status ${runDir}) or scancel them first`, 'resume');
      }
    }
  }
  const { plan, todo, done, recorded } = opts.dryRun ? preview : await prepareRun(o);
  opts.print(formatPlan(plan, todo, done, recorded));
  if (todo.length === 0) return { executor: 'slurm', runDir, submission: null, dryRun: Boolean(opts.dryRun) };

  const node = shellQuote(process.execPath);
  const bin = shellQuote(BIN);
  const dir = shellQuote(runDir);
  const backend = o.backend ? ` --backend ${shellQuote(o.backend)}` : '';
  // The data dir (like the config) is read from plan.json by run-cell.
  const cellCommand = `${node} ${bin} run-cell --run-dir ${dir} --index "$CELL_INDEX" --no-progress${backend}`;
  const mergeCommand = `${node} ${bin} merge --run-dir ${dir}`;
  const cells = plan.cells.map((c) => ({ id: c.id, stage: c.stage }));
  // Completed cells (an earlier submission, or a local run into this run dir) are not submitted again.
  const onlyCellIds = done.length > 0 ? todo.map((c) => c.id) : undefined;
  const submission = await submitSweepToSlurm({
    runDir,
    cells,
    cellCommand,
    mergeCommand,
    workDir: REPO_ROOT,
    options,
    logger: opts.dryRun ? dryRunLogger(opts.print, opts.logger) : opts.logger,
    ...(opts.dryRun ? { dryRun: true } : {}),
    ...(onlyCellIds ? { onlyCellIds } : {}),
  });
  return { executor: 'slurm', runDir, submission, dryRun: Boolean(opts.dryRun) };
}

/** Slurm's view of each cell, as one line per cell (null when the run never went to Slurm). */
export async function slurmCellStates(runDir: string): Promise<Map<string, string> | null> {
  if (!existsSync(slurmLayout.submissionFile(runDir))) return null;
  const states = await slurmStatus(runDir);
  return new Map(states.map((s) => [s.cellId, `${s.state}${s.jobId ? ` (${s.jobId}${s.exitCode ? `, exit ${s.exitCode}` : ''})` : ''}`]));
}

export const slurmExecutor: Executor = { name: 'slurm', run: runOnSlurm, cellStates: slurmCellStates };
