import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import type { CliIo } from './commands.ts';
import { num, str } from './commands.ts';
import { BIN, REPO_ROOT } from './env.ts';
import { defaultRunDir, formatPlan, prepareRun, readPlan, type RunExperimentOptions, type RunPlan } from './runner.ts';
import {
  detectSlurm,
  readSubmissionHistory,
  shellQuote,
  slurmLayout,
  slurmStatus,
  submitSweepToSlurm,
  validateSlurmOptions,
  type SlurmOptions,
  type SweepCell,
} from './slurm/index.ts';

function slurmOptionsOf(values: Record<string, unknown>, experiment: string): SlurmOptions {
  const partition = str(values['slurm-partition'], 'slurm-partition');
  const gres = str(values['slurm-gres'], 'slurm-gres');
  const time = str(values['slurm-time'], 'slurm-time');
  const mem = str(values['slurm-mem'], 'slurm-mem');
  const maxParallel = num(values['max-parallel'], 'max-parallel');
  const options: SlurmOptions = {
    ...(partition ? { partition } : {}),
    ...(gres ? { gres } : {}),
    ...(time ? { time } : {}),
    ...(mem ? { mem } : {}),
    ...(maxParallel !== undefined ? { maxParallel } : {}),
    ...(values['sbatch-arg'] ? { sbatchArgs: values['sbatch-arg'] as string[] } : {}),
    jobName: `pb-${experiment}`.replace(/[^A-Za-z0-9_.-]/g, '_'),
  };
  try {
    validateSlurmOptions(options);
  } catch (e) {
    // Name the CLI flag, not the library's option key.
    const flag: Record<string, string> = { partition: '--slurm-partition', gres: '--slurm-gres', time: '--slurm-time', mem: '--slurm-mem', maxParallel: '--max-parallel', sbatchArgs: '--sbatch-arg' };
    if (e instanceof ConfigError && e.key && flag[e.key]) throw new ConfigError(`${flag[e.key]}: ${e.message}`, flag[e.key]!.slice(2));
    throw e;
  }
  return options;
}

/**
 * A resume must run the same sweep into the same places: results dir, data dir and backend come
 * from the run's plan.json unless given again, and must then be the same.
 */
function inheritFromPlan(common: RunExperimentOptions, previous: RunPlan, values: Record<string, unknown>, runDir: string): RunExperimentOptions {
  const givenResults = str(values['results-dir'], 'results-dir');
  if (givenResults !== undefined && resolve(givenResults) !== previous.resultsDir) {
    throw new ConfigError(`--resume: --results-dir ${resolve(givenResults)} differs from ${previous.resultsDir}, where ${runDir} wrote its results; leave --results-dir out or give the same one`, 'results-dir');
  }
  const givenData = str(values['data-dir'], 'data-dir');
  if (givenData !== undefined && previous.dataDir !== undefined && resolve(givenData) !== previous.dataDir) {
    throw new ConfigError(`--resume: --data-dir ${resolve(givenData)} differs from ${previous.dataDir} of the run in ${runDir}`, 'data-dir');
  }
  const givenBackend = str(values.backend, 'backend');
  if (givenBackend !== undefined && previous.backend !== undefined && givenBackend !== previous.backend) {
    throw new ConfigError(`--resume: --backend ${givenBackend} differs from ${previous.backend} of the run in ${runDir}`, 'backend');
  }
  return {
    ...common,
    runDir,
    resultsDir: previous.resultsDir,
    ...(givenData === undefined && previous.dataDir !== undefined ? { dataDir: previous.dataDir } : {}),
    ...(givenBackend === undefined && previous.backend !== undefined ? { backend: previous.backend } : {}),
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

/** The logger of a dry run: the scripts and sbatch lines are the command's output, so they go to stdout. */
function dryRunLogger(io: CliIo, logger: Logger): Logger {
  return { info: (m) => io.out(m), warn: (m) => logger.warn(m) };
}

/**
 * `run --executor slurm`: the same plan as a local run, submitted as job arrays, one per stage
 * (baselines, prune, post-prune training), each depending on the previous stage, and a merge
 * job that folds the per-cell results into the experiment's CSV. Cells that have completed
 * (e.g. in an earlier local run) are not submitted. `--resume` resubmits the cells of an earlier
 * Slurm submission that did not complete, into the same run dir, results dir and config; it
 * refuses while any of them is still queued or running.
 */
export async function slurmCommand(common: RunExperimentOptions, values: Record<string, unknown>, io: CliIo): Promise<number> {
  // Before anything is written: is there a Slurm, and are the flags sane?
  if (!common.dryRun) detectSlurm();
  const options = slurmOptionsOf(values, common.experiment);
  const runDir = resolve(common.runDir ?? defaultRunDir(common.experiment, common.preset));
  const submitted = existsSync(slurmLayout.cellsFile(runDir));
  const resume = Boolean(values.resume);

  let opts: RunExperimentOptions = { ...common, runDir };
  if (resume) {
    if (!submitted) throw new ConfigError(`--resume: ${runDir} was never submitted to Slurm (no ${slurmLayout.cellsFile(runDir)}); run without --resume`, 'resume');
    opts = inheritFromPlan(common, await readPlan(runDir), values, runDir);
  } else if (submitted) {
    const jobs = readSubmissionHistory(runDir).flatMap((s) => [...s.stages.flatMap((st) => st.arrays.map((a) => a.jobId)), s.mergeJobId]);
    throw new ConfigError(
      `${runDir} was already submitted to Slurm (jobs ${jobs.join(', ') || 'unknown'}); add --resume to resubmit the cells that did not complete, or use a new --run-dir`,
      'resume',
    );
  }

  // Plan without writing: a resume must not rewrite plan.json for a sweep it then refuses.
  const preview = await prepareRun({ ...opts, dryRun: true });
  if (resume) {
    checkSameCells(preview.plan, runDir);
    if (!common.dryRun) {
      const busy = await cellsInFlight(runDir, common.logger);
      if (busy.length > 0) {
        throw new ConfigError(`--resume: ${busy.length} cell(s) of ${runDir} are still queued or running in Slurm: ${busy.join(', ')}; wait for them (prunebench status ${runDir}) or scancel them first`, 'resume');
      }
    }
  }
  const { plan, todo, done } = common.dryRun ? preview : await prepareRun(opts);
  io.out(formatPlan(plan, todo, done));
  if (todo.length === 0) {
    io.out('every cell has completed: nothing to submit');
    return 0;
  }

  const node = shellQuote(process.execPath);
  const bin = shellQuote(BIN);
  const dir = shellQuote(runDir);
  const backend = opts.backend ? ` --backend ${shellQuote(opts.backend)}` : '';
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
    logger: common.dryRun ? dryRunLogger(io, common.logger) : common.logger,
    ...(common.dryRun ? { dryRun: true } : {}),
    ...(onlyCellIds ? { onlyCellIds } : {}),
  });
  if (common.dryRun) {
    io.out(`(dry run: the scripts and sbatch commands above were not written or submitted)`);
    return 0;
  }
  for (const s of submission.stages) for (const a of s.arrays) io.out(`stage ${s.stage}: job ${a.jobId} (${a.cellIds.length} cells: ${a.cellIds.join(', ')})`);
  io.out(`merge job ${submission.mergeJobId}; logs in ${join(runDir, 'slurm', 'logs')}; follow with: prunebench status ${runDir}`);
  return 0;
}

/** Slurm's view of each cell (null when the run never went to Slurm). */
export async function slurmStatusCommand(runDir: string): Promise<Map<string, string> | null> {
  if (!existsSync(slurmLayout.submissionFile(runDir))) return null;
  const states = await slurmStatus(runDir);
  return new Map(states.map((s) => [s.cellId, `${s.state}${s.jobId ? ` (${s.jobId}${s.exitCode ? `, exit ${s.exitCode}` : ''})` : ''}`]));
}
