import { readFileSync, existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../../util/errors.ts';
import { ensureDirSync, writeFileAtomicSync } from '../../util/fs.ts';
import { canonicalJson } from '../../util/hash.ts';
import { stderrLogger, type Logger } from '../../util/log.ts';
import { detectSlurm } from './detect.ts';
import { SlurmError } from './errors.ts';
import { runCommand } from './exec.ts';
import { slurmLayout } from './layout.ts';
import { arraySpec, shellJoin } from './quote.ts';
import { buildSlurmScripts, DEFAULT_MAX_ARRAY_SIZE, orderCells, validateCells, validateSlurmOptions } from './scripts.ts';
import type { SlurmArraySubmission, SlurmSubmission, SubmitSweepOptions, SweepCell } from './types.ts';

/** `MaxArraySize` from `scontrol show config`; DEFAULT_MAX_ARRAY_SIZE (1001) when it cannot be read. */
export async function readMaxArraySize(logger: Logger = stderrLogger): Promise<number> {
  const r = await runCommand('scontrol', ['show', 'config']);
  const m = r.code === 0 ? /^MaxArraySize\s*=\s*(\d+)/m.exec(r.stdout) : null;
  if (!m) {
    logger.warn(`could not read MaxArraySize from 'scontrol show config' (${r.stderr.trim() || `exit ${r.code}`}); assuming ${DEFAULT_MAX_ARRAY_SIZE}`);
    return DEFAULT_MAX_ARRAY_SIZE;
  }
  return Number(m[1]);
}


/** Every submission to this run dir, oldest first ([] when none). */
export function readSubmissionHistory(runDir: string): SlurmSubmission[] {
  const hist = slurmLayout.historyFile(runDir);
  if (existsSync(hist)) return JSON.parse(readFileSync(hist, 'utf8')) as SlurmSubmission[];
  const latest = slurmLayout.submissionFile(runDir);
  if (existsSync(latest)) return [JSON.parse(readFileSync(latest, 'utf8')) as SlurmSubmission];
  return [];
}

async function sbatch(args: string[]): Promise<string> {
  const r = await runCommand('sbatch', args);
  const id = r.stdout.trim().split(';')[0] ?? '';
  if (r.code !== 0 || !/^\d+$/.test(id)) {
    throw new SlurmError(`sbatch failed (exit ${r.code}) for ${shellJoin(['sbatch', ...args])}: ${r.stderr.trim() || r.stdout.trim()}`, 'sbatch', r.stderr);
  }
  return id;
}

/**
 * Submit a sweep: each stage as one or more job arrays (chunks of at most MaxArraySize cells),
 * stage s after every array of stage s-1 (`afterany`: a failed cell does not block the rest; a
 * cell whose input is missing must fail by itself), then one merge job after every array.
 *
 * Writes runDir/cells.json, runDir/slurm/*.sbatch, runDir/slurm/submission.json (and appends to
 * submissions.json). With `onlyCellIds` (resume) only those cells are submitted, with the same
 * chunks and task ids as before, so cells.json must not have changed. With `dryRun` nothing is
 * written or submitted: the scripts and sbatch command lines go to the logger. `onlyCellIds`
 * without a cells.json submits part of a new sweep (the other cells completed elsewhere).
 */
export async function submitSweepToSlurm(opts: SubmitSweepOptions): Promise<SlurmSubmission> {
  const logger = opts.logger ?? stderrLogger;
  validateSlurmOptions(opts.options);
  validateCells(opts.cells);
  const runDir = isAbsolute(opts.runDir) ? opts.runDir : resolve(opts.runDir);
  const workDir = isAbsolute(opts.workDir) ? opts.workDir : resolve(opts.workDir);
  if (!opts.dryRun) detectSlurm();
  const maxArraySize =
    opts.options.maxArraySize ?? (opts.dryRun ? DEFAULT_MAX_ARRAY_SIZE : await readMaxArraySize(logger));
  const options = { ...opts.options, maxArraySize };
  const built = buildSlurmScripts({ ...opts, runDir, workDir, options });

  const ordered = orderCells(opts.cells);
  const cellsJson = JSON.stringify(ordered, null, 1) + '\n';
  let selected: Set<string>;
  if (opts.onlyCellIds !== undefined) {
    const known = new Set(ordered.map((c) => c.id));
    const unknown = opts.onlyCellIds.filter((id) => !known.has(id));
    if (unknown.length > 0) throw new ConfigError(`cells to resubmit are not in this sweep: ${unknown.join(', ')}`, 'onlyCellIds');
    if (opts.onlyCellIds.length === 0) throw new ConfigError('onlyCellIds is empty: nothing to resubmit', 'onlyCellIds');
    // No cells.json yet: a first submission of part of the sweep (the rest completed elsewhere,
    // e.g. locally); cells.json is written below and the task ids index it.
    const file = slurmLayout.cellsFile(runDir);
    const before = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as SweepCell[]) : ordered;
    if (canonicalJson(before) !== canonicalJson(ordered)) {
      throw new ConfigError(`cannot resume: the sweep's cells differ from ${file}; CELL_INDEX would point at other cells. Submit to a new run dir.`, 'onlyCellIds');
    }
    selected = new Set(opts.onlyCellIds);
  } else {
    selected = new Set(ordered.map((c) => c.id));
  }

  if (!opts.dryRun) {
    ensureDirSync(slurmLayout.logsDir(runDir));
    ensureDirSync(slurmLayout.cellsDir(runDir));
    writeFileAtomicSync(slurmLayout.cellsFile(runDir), cellsJson);
    built.stages.forEach(({ stage, arrays }) =>
      arrays.forEach((a, part) => writeFileAtomicSync(slurmLayout.arrayScript(runDir, stage, part), a.script, 0o755)),
    );
    writeFileAtomicSync(slurmLayout.mergeScript(runDir), built.mergeScript, 0o755);
  }

  const commands: string[] = [];
  const submitted: string[] = [];
  const submit = async (args: string[], placeholder: string): Promise<string> => {
    commands.push(shellJoin(['sbatch', ...args]));
    if (opts.dryRun) return placeholder;
    try {
      const id = await sbatch(args);
      submitted.push(id);
      return id;
    } catch (e) {
      if (submitted.length > 0) {
        await runCommand('scancel', submitted);
        logger.warn(`cancelled the jobs already submitted for this sweep: ${submitted.join(', ')}`);
      }
      throw e;
    }
  };

  const stages: SlurmSubmission['stages'] = [];
  let previous: string[] = [];
  for (const { stage, arrays } of built.stages) {
    const done: SlurmArraySubmission[] = [];
    for (const [part, a] of arrays.entries()) {
      const taskIds = a.cellIds.flatMap((id, i) => (selected.has(id) ? [i] : []));
      if (taskIds.length === 0) continue;
      const script = slurmLayout.arrayScript(runDir, stage, part);
      const args = ['--parsable', `--array=${arraySpec(taskIds, options.maxParallel)}`];
      if (previous.length > 0) args.push(`--dependency=afterany:${previous.join(':')}`);
      args.push(script);
      if (opts.dryRun) logger.info(`# ${script}\n${a.script}`);
      const jobId = await submit(args, `dry-run-s${stage}-p${part}`);
      logger.info(`stage ${stage} part ${part + 1}/${arrays.length}: job ${jobId}, array ${args[1]!.slice(8)} (cells ${a.offset}..${a.offset + a.size - 1} of cells.json)`);
      done.push({ jobId, cellIds: taskIds.map((i) => a.cellIds[i]!), offset: a.offset, script });
    }
    if (done.length > 0) {
      stages.push({ stage, arrays: done });
      previous = done.map((d) => d.jobId);
    }
  }
  const all = stages.flatMap((s) => s.arrays.map((a) => a.jobId));
  const mergeScript = slurmLayout.mergeScript(runDir);
  if (opts.dryRun) logger.info(`# ${mergeScript}\n${built.mergeScript}`);
  const mergeJobId = await submit(['--parsable', `--dependency=afterany:${all.join(':')}`, mergeScript], 'dry-run-merge');
  logger.info(`merge: job ${mergeJobId}, after ${all.join(', ')}`);

  const submission: SlurmSubmission = { runDir, stages, mergeJobId, submittedAt: new Date().toISOString(), commands };
  if (opts.dryRun) {
    for (const c of commands) logger.info(c);
    return { ...submission, dryRun: true };
  }
  const history = [...readSubmissionHistory(runDir), submission];
  writeFileAtomicSync(slurmLayout.historyFile(runDir), JSON.stringify(history, null, 1) + '\n');
  writeFileAtomicSync(slurmLayout.submissionFile(runDir), JSON.stringify(submission, null, 1) + '\n');
  return submission;
}
