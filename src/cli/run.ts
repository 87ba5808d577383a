import { join } from 'node:path';
// The run code (TensorFlow.js, the backends) is imported by each command's run(), not here: see main.ts.
import type { CellStateLine, ExecuteOptions, ExecuteResult, RunSummary, SlurmOptions } from '../run/index.ts';
import { isPreset, PRESETS, type PresetName } from '../protocols/preset-names.ts';
import { ConfigError } from '../util/errors.ts';
import { stderrLogger } from '../util/log.ts';
import { formatDuration } from '../util/progress.ts';
import { existingDir, int, intList, str, type CliIo, type Command } from './commands.ts';

/** The CLI side of execution: flags in, lines out. The executors live in src/run/. */

const logger = stderrLogger;

export function formatSummary(s: RunSummary): string {
  const w = Math.max(10, ...s.cells.map((c) => c.id.length));
  const lines = [`${'cell'.padEnd(w)}  state      top-1 %   time`];
  for (const c of s.cells) {
    lines.push(`${c.id.padEnd(w)}  ${c.state.padEnd(9)}  ${c.top1 !== undefined ? c.top1.toFixed(2).padStart(7) : '      -'}  ${c.seconds !== undefined ? `${c.seconds.toFixed(0)} s` : ''}${c.zoo ? `  from zoo entry ${c.zoo}` : ''}${c.error ? `  ${c.error}` : ''}`);
  }
  const failed = s.cells.filter((c) => c.state === 'failed').length;
  lines.push(`${s.cells.length} cells, ${failed} failed, ${s.seconds.toFixed(0)} s; results: ${s.csv}; run dir: ${s.runDir}`);
  return lines.join('\n');
}

/** The flag that sets each Slurm option: errors of the executor name the flag, not the option key. */
const SLURM_FLAG: Record<string, string> = { partition: 'slurm-partition', gres: 'slurm-gres', time: 'slurm-time', mem: 'slurm-mem', maxParallel: 'max-parallel', sbatchArgs: 'sbatch-arg' };

function slurmOptionsOf(values: Record<string, unknown>): SlurmOptions {
  const partition = str(values['slurm-partition'], 'slurm-partition');
  const gres = str(values['slurm-gres'], 'slurm-gres');
  const time = str(values['slurm-time'], 'slurm-time');
  const mem = str(values['slurm-mem'], 'slurm-mem');
  const maxParallel = int(values['max-parallel'], 'max-parallel', 1);
  return {
    ...(partition ? { partition } : {}),
    ...(gres ? { gres } : {}),
    ...(time ? { time } : {}),
    ...(mem ? { mem } : {}),
    ...(maxParallel !== undefined ? { maxParallel } : {}),
    ...(values['sbatch-arg'] ? { sbatchArgs: values['sbatch-arg'] as string[] } : {}),
  };
}

function printResult(result: ExecuteResult, io: CliIo): void {
  if (result.executor === 'local') {
    io.out(formatSummary(result.summary));
    return;
  }
  if (result.submission === null) {
    io.out('every cell has completed: nothing to submit');
    return;
  }
  if (result.dryRun) {
    io.out(`(dry run: the scripts and sbatch commands above were not written or submitted)`);
    return;
  }
  for (const s of result.submission.stages) for (const a of s.arrays) io.out(`stage ${s.stage}: job ${a.jobId} (${a.cellIds.length} cells: ${a.cellIds.join(', ')})`);
  io.out(`merge job ${result.submission.mergeJobId}; logs in ${join(result.runDir, 'slurm', 'logs')}; follow with: prunebench status ${result.runDir}`);
}

const runOptions = {
  preset: { type: 'string' },
  seeds: { type: 'string' },
  only: { type: 'string', multiple: true },
  set: { type: 'string', multiple: true },
  'dry-run': { type: 'boolean' },
  'skip-recorded': { type: 'boolean' },
  jobs: { type: 'string' },
  executor: { type: 'string' },
  resume: { type: 'boolean' },
  'results-dir': { type: 'string' },
  'run-dir': { type: 'string' },
  'data-dir': { type: 'string' },
  backend: { type: 'string' },
  threads: { type: 'string' },
  baselines: { type: 'string' },
  report: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  'slurm-partition': { type: 'string' },
  'slurm-gres': { type: 'string' },
  'slurm-time': { type: 'string' },
  'slurm-mem': { type: 'string' },
  'max-parallel': { type: 'string' },
  'sbatch-arg': { type: 'string', multiple: true },
} as const;

export const run: Command = {
  name: 'run',
  summary: 'run an experiment: cells (config x seed), resumable, local or on Slurm',
  usage: `usage: prunebench run <experiment> [--preset ${PRESETS.join('|')}] [--seeds 1,2,3] [--only cell-glob]...
         [--set key=value]... [--dry-run] [--skip-recorded] [--jobs K] [--results-dir D] [--run-dir D] [--data-dir D]
         [--backend B] [--threads N] [--baselines ZOO] [--no-progress] [--report] [--executor local|slurm] [--resume]
         [--slurm-partition P] [--slurm-gres gpu:1] [--slurm-time HH:MM:SS] [--slurm-mem M]
         [--max-parallel K] [--sbatch-arg ARG]...
A cell completed in the run dir is skipped, an interrupted cell resumes from its last checkpoint, a
failed cell is recorded (status=failed) and the sweep goes on. --skip-recorded also skips the cells
whose ok result (same preset and config) is already among the results dir's records, for a run dir
that was lost: a cell that a remaining cell needs (a prune cell's weights) still runs. --jobs K runs up to K cells at
once in separate processes (default: number of cores); --threads N gives each cell process N
compute threads (onednn; default 1: parallelism comes from --jobs). --set overrides a config key
(baseline.epochs=10, data.trainSubset=5000, widthMultiplier=0.5, arms.0.pruneRatio=0.5,
arms.0.thresholdRule=reference for a slimming arm). An arm whose method cannot act on its model
is refused before anything runs. --baselines ZOO takes the baselines a model zoo holds (same
model, width, data, preset, seed, sparsity and baseline hash; see prunebench zoo) instead of
training them: their files are checked against their sha256 first, and their rows are written
with the record saying where they came from.
Results: <results-dir>/<experiment>.csv plus one JSON record per run.`,
  positionals: { max: 1, what: 'an experiment name' },
  options: runOptions,
  async run({ values, positionals }, io) {
    const experiment = positionals[0];
    if (!experiment) throw new ConfigError('run needs an experiment name; see prunebench list', 'experiment');
    const preset = str(values.preset, 'preset') ?? 'small';
    if (!isPreset(preset)) throw new ConfigError(`--preset expects one of ${PRESETS.join(', ')}, got "${preset}"`, 'preset');
    const resultsDir = str(values['results-dir'], 'results-dir');
    const { executorFor } = await import('../run/index.ts');
    const executor = executorFor(str(values.executor, 'executor') ?? 'local');
    if (executor.name !== 'slurm') {
      // Slurm's flags mean nothing to the local pool (which always resumes): refused, not dropped.
      const slurmOnly = ['resume', 'slurm-partition', 'slurm-gres', 'slurm-time', 'slurm-mem', 'max-parallel', 'sbatch-arg'].filter((k) => values[k] !== undefined);
      if (slurmOnly.length > 0) {
        throw new ConfigError(`${slurmOnly.map((k) => `--${k}`).join(', ')} ${slurmOnly.length === 1 ? 'applies' : 'apply'} to --executor slurm; the local executor resumes by itself (run the same command again)`, slurmOnly[0]!);
      }
    }
    const opts: ExecuteOptions = {
      experiment,
      preset: preset as PresetName,
      progress: !values['no-progress'],
      logger,
      print: io.out,
      dryRun: Boolean(values['dry-run']),
      skipRecorded: Boolean(values['skip-recorded']),
      resume: Boolean(values.resume),
      ...(resultsDir !== undefined ? { resultsDir } : {}),
      ...(intList(values.seeds, 'seeds') ? { seeds: intList(values.seeds, 'seeds')! } : {}),
      ...(values.only ? { only: values.only as string[] } : {}),
      ...(values.set ? { set: values.set as string[] } : {}),
      ...(str(values['run-dir'], 'run-dir') ? { runDir: str(values['run-dir'], 'run-dir')! } : {}),
      ...(existingDir(values['data-dir'], 'data-dir') ? { dataDir: existingDir(values['data-dir'], 'data-dir')! } : {}),
      ...(existingDir(values.baselines, 'baselines') ? { baselines: existingDir(values.baselines, 'baselines')! } : {}),
      ...(str(values.backend, 'backend') ? { backend: str(values.backend, 'backend')! } : {}),
      ...(int(values.jobs, 'jobs', 1) !== undefined ? { jobs: int(values.jobs, 'jobs', 1)! } : {}),
      ...(int(values.threads, 'threads', 1) !== undefined ? { threads: int(values.threads, 'threads', 1)! } : {}),
      ...(executor.name === 'slurm' ? { slurm: slurmOptionsOf(values) } : {}),
    };
    let result: ExecuteResult;
    try {
      result = await executor.run(opts);
    } catch (e) {
      // Name the CLI flag, not the library's option key.
      const flag = e instanceof ConfigError && e.key ? SLURM_FLAG[e.key] : undefined;
      if (flag) throw new ConfigError(`--${flag}: ${(e as ConfigError).message}`, flag);
      throw e;
    }
    if (opts.dryRun && result.executor === 'local') return 0;
    printResult(result, io);
    if (result.executor === 'slurm') return 0;
    if (values.report) {
      const { buildReport } = await import('../report/index.ts');
      const r = await buildReport({ experiment, preset, resultsDir: resultsDir ?? 'results', logger });
      io.out(`report: ${r.dir}/index.html (${r.files.length} files)`);
    }
    return result.summary.cells.some((c) => c.state === 'failed') ? 1 : 0;
  },
};

export const runCell: Command = {
  name: 'run-cell',
  summary: 'run one cell of a planned run (used by --jobs and Slurm tasks)',
  usage: 'usage: prunebench run-cell --run-dir D (--cell ID | --index N) [--data-dir D] [--backend B] [--threads N] [--no-progress]',
  options: { 'run-dir': { type: 'string' }, cell: { type: 'string' }, index: { type: 'string' }, 'data-dir': { type: 'string' }, backend: { type: 'string' }, threads: { type: 'string' }, 'no-progress': { type: 'boolean' } },
  async run({ values }) {
    const runDir = str(values['run-dir'], 'run-dir');
    if (!runDir) throw new ConfigError('--run-dir is required', 'run-dir');
    const cellId = str(values.cell, 'cell');
    const index = int(values.index, 'index', 0);
    if (cellId === undefined && index === undefined) throw new ConfigError('give --cell ID or --index N', 'cell');
    const { runPlannedCell } = await import('../run/index.ts');
    const ok = await runPlannedCell({
      runDir,
      progress: !values['no-progress'],
      logger,
      ...(cellId !== undefined ? { cellId } : {}),
      ...(index !== undefined ? { index } : {}),
      ...(existingDir(values['data-dir'], 'data-dir') ? { dataDir: existingDir(values['data-dir'], 'data-dir')! } : {}),
      ...(str(values.backend, 'backend') ? { backend: str(values.backend, 'backend')! } : {}),
      ...(int(values.threads, 'threads', 1) !== undefined ? { threads: int(values.threads, 'threads', 1)! } : {}),
    });
    return ok ? 0 : 1;
  },
};

export const merge: Command = {
  name: 'merge',
  summary: "fold a run's per-cell results into the experiment CSV and name missing or failed cells",
  usage: 'usage: prunebench merge --run-dir D',
  options: { 'run-dir': { type: 'string' } },
  async run({ values }, io) {
    const runDir = str(values['run-dir'], 'run-dir');
    if (!runDir) throw new ConfigError('--run-dir is required', 'run-dir');
    const { mergeRun } = await import('../run/index.ts');
    const r = await mergeRun(runDir);
    io.out(`merged ${r.rows} rows into ${r.csv}`);
    if (r.failed.length) io.out(`failed cells: ${r.failed.join(', ')}`);
    if (r.missing.length) io.out(`missing cells: ${r.missing.join(', ')}`);
    if (!r.failed.length && !r.missing.length) io.out('all cells completed');
    return r.failed.length || r.missing.length ? 1 : 0;
  },
};

export const status: Command = {
  name: 'status',
  summary: 'per-cell state of a run (from Slurm when it ran there, and from the result files)',
  usage: 'usage: prunebench status <run-dir>',
  positionals: { max: 1, what: 'a run folder' },
  options: {},
  async run({ positionals }, io) {
    const runDir = positionals[0];
    if (!runDir) throw new ConfigError('status needs a run directory', 'run-dir');
    const { runStatus } = await import('../run/index.ts');
    const cells = await runStatus(runDir);
    for (const c of cells) {
      const progress = describeProgress(c);
      io.out(`${c.id.padEnd(40)} ${c.state.padEnd(12)}${progress ? ` ${progress}` : ''}${c.executor ? ` slurm: ${c.executor}` : ''}${c.error ? `  ${c.error}` : ''}`);
    }
    // The sweep at a glance, after the per-cell lines: how many cells are in each state.
    const counts = new Map<string, number>();
    for (const c of cells) counts.set(c.state, (counts.get(c.state) ?? 0) + 1);
    io.out(`${cells.length} cells: ${[...counts].map(([state, n]) => `${n} ${state}`).join(', ')}`);
    return 0;
  },
};

/** "epoch 5/32, test 61.20%, 4:36 per epoch, ~2:07:00 left" for a running cell; where an interrupted one resumes. */
function describeProgress(c: CellStateLine): string {
  const p = c.progress;
  if (!p) return c.state === 'interrupted' ? 'no checkpoint yet: `prunebench run` starts it over' : '';
  const of = p.epochs !== undefined ? `${p.epoch}/${p.epochs}` : `${p.epoch}`;
  if (c.state === 'interrupted') return `stopped after epoch ${of}: \`prunebench run\` resumes it there`;
  const parts = [`epoch ${of}`];
  if (p.testAcc !== undefined) parts.push(`test ${p.testAcc.toFixed(2)}%`);
  parts.push(`${formatDuration(p.secondsPerEpoch)} per epoch`);
  if (p.secondsLeft !== undefined) parts.push(`~${formatDuration(p.secondsLeft)} left`);
  return parts.join(', ');
}
