import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../util/errors.ts';
import type { CliIo } from './commands.ts';
import { num, str } from './commands.ts';
import { BIN, REPO_ROOT } from './env.ts';
import { formatPlan, prepareRun, readCellStatus, type RunExperimentOptions } from './runner.ts';
import { shellQuote, slurmLayout, slurmStatus, submitSweepToSlurm, type SlurmOptions } from './slurm/index.ts';

/**
 * `run --executor slurm`: the same plan as a local run, submitted as job arrays, one per stage
 * (baselines, prune, post-prune training), each depending on the previous stage, and a merge
 * job that folds the per-cell results into the experiment's CSV. `--resume` resubmits only the
 * cells that are not completed.
 */
export async function slurmCommand(common: RunExperimentOptions, values: Record<string, unknown>, io: CliIo): Promise<number> {
  const { plan, runDir, todo, done } = await prepareRun(common);
  io.out(formatPlan(plan, todo, done));
  const options: SlurmOptions = {
    ...(str(values['slurm-partition'], 'slurm-partition') ? { partition: str(values['slurm-partition'], 'slurm-partition')! } : {}),
    ...(str(values['slurm-gres'], 'slurm-gres') ? { gres: str(values['slurm-gres'], 'slurm-gres')! } : {}),
    ...(str(values['slurm-time'], 'slurm-time') ? { time: str(values['slurm-time'], 'slurm-time')! } : {}),
    ...(str(values['slurm-mem'], 'slurm-mem') ? { mem: str(values['slurm-mem'], 'slurm-mem')! } : {}),
    ...(num(values['max-parallel'], 'max-parallel') !== undefined ? { maxParallel: num(values['max-parallel'], 'max-parallel')! } : {}),
    ...(values['sbatch-arg'] ? { sbatchArgs: values['sbatch-arg'] as string[] } : {}),
    jobName: `pb-${plan.experiment}`,
  };
  const node = shellQuote(process.execPath);
  const bin = shellQuote(BIN);
  const dir = shellQuote(runDir);
  const backend = common.backend ? ` --backend ${shellQuote(common.backend)}` : '';
  const cellCommand = `${node} ${bin} run-cell --run-dir ${dir} --index "$CELL_INDEX" --no-progress${backend}`;
  const mergeCommand = `${node} ${bin} merge --run-dir ${dir}`;
  const cells = plan.cells.map((c) => ({ id: c.id, stage: c.stage }));
  let onlyCellIds: string[] | undefined;
  if (values.resume) {
    if (!existsSync(slurmLayout.cellsFile(runDir))) throw new ConfigError(`--resume: ${runDir} was never submitted to Slurm`, 'resume');
    onlyCellIds = [];
    for (const c of plan.cells) if ((await readCellStatus(runDir, c.id))?.state !== 'completed') onlyCellIds.push(c.id);
    if (onlyCellIds.length === 0) {
      io.out('every cell has completed: nothing to resubmit');
      return 0;
    }
  }
  const submission = await submitSweepToSlurm({
    runDir,
    cells,
    cellCommand,
    mergeCommand,
    workDir: REPO_ROOT,
    options,
    logger: common.logger,
    ...(common.dryRun ? { dryRun: true } : {}),
    ...(onlyCellIds ? { onlyCellIds } : {}),
  });
  if (common.dryRun) {
    for (const c of submission.commands ?? []) io.out(c);
    io.out(`(dry run: scripts above; nothing submitted)`);
    return 0;
  }
  for (const s of submission.stages) for (const a of s.arrays) io.out(`stage ${s.stage}: job ${a.jobId} (${a.cellIds.length} cells)`);
  io.out(`merge job ${submission.mergeJobId}; logs in ${join(runDir, 'slurm', 'logs')}; follow with: prunebench status ${runDir}`);
  return 0;
}

/** Slurm's view of each cell (null when the run never went to Slurm). */
export async function slurmStatusCommand(runDir: string): Promise<Map<string, string> | null> {
  if (!existsSync(slurmLayout.submissionFile(runDir))) return null;
  const states = await slurmStatus(runDir);
  return new Map(states.map((s) => [s.cellId, `${s.state}${s.jobId ? ` (${s.jobId}${s.exitCode ? `, exit ${s.exitCode}` : ''})` : ''}`]));
}
