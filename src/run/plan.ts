import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { findExperiment } from '../../experiments/index.ts';
import { BACKEND_NAMES, isBackendName } from '../backend/index.ts';
import { ensureDir, writeFileAtomic } from '../util/fs.ts';
import { applyOverrides, cellDir, expandCells, identityRow, selectCells, validateConfig, widthsLabel, type Cell, type ExperimentConfig, type PresetName, type RunEnvironment } from '../protocols/index.ts';
import { rebuildResultsCsv, runFileName, runRecordsDir, writeRunRecord, type RunRecord, type RunRow } from '../results/index.ts';
import { ConfigError, fsErrorReason } from '../util/errors.ts';
import { recordedCellIds, recordedCells, resumeHash } from './recorded.ts';
import type { Logger } from '../util/log.ts';
import { zooBaselinesFor } from '../zoo/match.ts';

/**
 * A run's plan and its per-cell state on disk, shared by every executor: `run` resolves the
 * config once, freezes it into <run-dir>/plan.json, and each cell (in this process, a child
 * process or a Slurm task) reads it from there and leaves <run-dir>/cells/<id>/status.json.
 */
/** What `run` resolved and froze: children (local jobs, Slurm tasks) read it from the run dir. */
export interface RunPlan {
  experiment: string;
  preset: PresetName;
  config: ExperimentConfig;
  configHash: string;
  cells: Cell[];
  resultsDir: string;
  dataDir?: string;
  backend?: string;
  /** Compute threads per cell process (onednn); absent = the backend's default (1). */
  threads?: number;
  /** `--baselines DIR`: the model zoo consulted (cells it serves carry `zoo`), and the entries it has but this run cannot use. */
  baselines?: { dir: string; notes: string[] };
  createdAt: string;
}

export interface CellStatus {
  state: 'running' | 'completed' | 'failed';
  exitCode?: number;
  resultFile?: string;
  configHash: string;
  runId?: string;
  error?: string;
  seconds?: number;
  /** While running: the process and host training the cell, so that a second run does not train it too. */
  pid?: number;
  host?: string;
}

/**
 * The pid of another live process on this host that is running the cell, if any. A 'running'
 * status left by a process that died (a crash, a kill) does not count: resuming is the point.
 */
export function liveRunner(s: CellStatus | null): number | null {
  if (s?.state !== 'running' || s.pid === undefined || s.host !== hostname() || s.pid === process.pid) return null;
  return processAlive(s.pid) ? s.pid : null;
}

/** True when a cell says it is running on this host but its process has gone (killed, crashed, machine restarted). */
export function runnerGone(s: CellStatus | null): boolean {
  return s?.state === 'running' && s.pid !== undefined && s.host === hostname() && !processAlive(s.pid);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const planFile = (runDir: string): string => join(runDir, 'plan.json');
const statusFile = (runDir: string, id: string): string => join(cellDir(runDir, id), 'status.json');

export function defaultRunDir(experiment: string, preset: string): string {
  return join('runs', `${experiment}-${preset}`);
}

export { resumeHash } from './recorded.ts';

export function resolveConfig(opts: { experiment: string; preset: PresetName; seeds?: number[]; set?: string[] }): ExperimentConfig {
  let config = structuredClone(findExperiment(opts.experiment).presets[opts.preset]);
  if (opts.seeds) config.seeds = opts.seeds;
  config = applyOverrides(config, opts.set ?? []);
  validateConfig(config);
  return Object.freeze(config) as ExperimentConfig;
}

export async function readPlan(runDir: string): Promise<RunPlan> {
  let text: string;
  try {
    text = await readFile(planFile(runDir), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ConfigError(`${planFile(runDir)} not found: is ${runDir} a prunebench run directory?`, 'run-dir');
    throw new ConfigError(`${planFile(runDir)} cannot be read (${fsErrorReason(e)})`, 'run-dir');
  }
  let plan: RunPlan;
  try {
    plan = JSON.parse(text) as RunPlan;
  } catch (e) {
    throw new ConfigError(`${planFile(runDir)} is not valid JSON (${(e as Error).message})`, 'run-dir');
  }
  if (!plan || typeof plan !== 'object' || !Array.isArray(plan.cells) || typeof plan.resultsDir !== 'string' || typeof plan.experiment !== 'string') {
    throw new ConfigError(`${planFile(runDir)} is not a run plan (expected {experiment, preset, config, cells: [...], resultsDir, ...})`, 'run-dir');
  }
  return plan;
}

export async function readCellStatus(runDir: string, id: string): Promise<CellStatus | null> {
  try {
    return JSON.parse(await readFile(statusFile(runDir, id), 'utf8')) as CellStatus;
  } catch {
    return null;
  }
}

export async function writeCellStatus(runDir: string, id: string, status: CellStatus): Promise<void> {
  await ensureDir(cellDir(runDir, id));
  await writeFileAtomic(statusFile(runDir, id), JSON.stringify(status));
}

/** A failed run's row: the cell's identity, status=failed and the error; no measurements. */
export function failedRecord(plan: RunPlan, cell: Cell, error: string, startedAt: string, env: RunEnvironment): RunRecord {
  const row = identityRow({ config: plan.config, configHash: plan.configHash, env, cell, startedAt });
  return { row: { ...row, status: 'failed', error, finished_at: new Date().toISOString() }, config: plan.config, curve: [], error: { message: error } };
}
export interface RunExperimentOptions {
  experiment: string;
  preset: PresetName;
  seeds?: number[];
  only?: string[];
  set?: string[];
  dryRun?: boolean;
  jobs?: number;
  resultsDir: string;
  runDir?: string;
  dataDir?: string;
  backend?: string;
  /** Compute threads per cell process (onednn backend). */
  threads?: number;
  /** A model zoo whose matching trained baselines replace training them (see src/zoo). */
  baselines?: string;
  /** Skip the cells whose result the results dir already records (see recordedCells). */
  skipRecorded?: boolean;
  progress: boolean;
  logger: Logger;
  /** Prints the plan and the summary (the CLI's stdout). */
  print: (line: string) => void;
}


/** Throw a ConfigError naming `flag` unless `dir` is a folder or could be created as one. */
function checkCreatable(dir: string, flag: string): void {
  let at = resolve(dir);
  for (;;) {
    let s;
    try {
      s = statSync(at);
    } catch {
      const up = dirname(at);
      if (up === at) return;
      at = up;
      continue;
    }
    if (!s.isDirectory()) throw new ConfigError(`--${flag} ${dir}: ${at} is not a folder`, flag);
    try {
      accessSync(at, constants.W_OK);
    } catch {
      throw new ConfigError(`--${flag} ${dir}: ${at} is not writable`, flag);
    }
    return;
  }
}

/** Plan the cells, write plan.json, and decide which are already done. */
export async function prepareRun(opts: RunExperimentOptions): Promise<{ plan: RunPlan; runDir: string; todo: Cell[]; done: Cell[]; recorded: Cell[]; previousResultsDir?: string }> {
  // Checked here, not when the first cell starts: a dry run must refuse it, and a real one must
  // not leave a cell marked interrupted by a typo.
  if (opts.backend !== undefined && !isBackendName(opts.backend)) throw new ConfigError(`Unknown backend "${opts.backend}" (--backend); expected one of: ${BACKEND_NAMES.join(', ')}`, 'backend');
  const config = resolveConfig(opts);
  const cells = selectCells(expandCells(config), opts.only);
  const runDir = resolve(opts.runDir ?? defaultRunDir(opts.experiment, opts.preset));
  const hash = resumeHash(config);
  let previousResultsDir: string | undefined;
  if (existsSync(planFile(runDir))) {
    const previous = await readPlan(runDir);
    previousResultsDir = previous.resultsDir;
    if (previous.configHash !== hash) {
      throw new ConfigError(`${runDir} holds a run of another config (hash ${previous.configHash}, now ${hash}); use --run-dir for a new run or delete it`, 'run-dir');
    }
  }
  const plan: RunPlan = {
    experiment: opts.experiment,
    preset: opts.preset,
    config,
    configHash: hash,
    cells,
    resultsDir: resolve(opts.resultsDir),
    ...(opts.dataDir ? { dataDir: resolve(opts.dataDir) } : {}),
    ...(opts.backend ? { backend: opts.backend } : {}),
    ...(opts.threads ? { threads: opts.threads } : {}),
    createdAt: new Date().toISOString(),
  };
  const done: Cell[] = [];
  let todo: Cell[] = [];
  for (const c of cells) {
    const s = await readCellStatus(runDir, c.id);
    (s?.state === 'completed' && s.configHash === hash ? done : todo).push(c);
  }
  // Found in the results, not in this run dir; skipped with --skip-recorded, else only named.
  const recorded = recordedCells(todo, await recordedCellIds(plan));
  if (opts.skipRecorded) {
    const skipped = new Set(recorded.map((c) => c.id));
    todo = todo.filter((c) => !skipped.has(c.id));
    done.push(...recorded);
  }
  if (opts.baselines !== undefined) {
    // Checked here, so that a bad file stops the run before anything trains.
    const zoo = await zooBaselinesFor(config, todo, opts.baselines, { verify: true });
    for (const c of todo) {
      const z = zoo.served.get(c.id);
      if (z) c.zoo = z;
    }
    plan.baselines = { dir: zoo.zooDir, notes: zoo.notes };
  }
  if (!opts.dryRun) {
    const busy: string[] = [];
    for (const c of todo) {
      const pid = liveRunner(await readCellStatus(runDir, c.id));
      if (pid !== null) busy.push(`${c.id} (process ${pid})`);
    }
    if (busy.length) {
      throw new ConfigError(`${runDir} is being run by another process: ${busy.join(', ')}; stop it or wait for it (two processes training one cell would overwrite each other's checkpoints)`, 'run-dir');
    }
    // A bad path fails here, before any cell runs, naming its flag. The results dir is only
    // checked: it is created with the first result.
    checkCreatable(plan.resultsDir, 'results-dir');
    try {
      await ensureDir(runDir);
    } catch (e) {
      throw new ConfigError(`--run-dir ${runDir}: cannot create the folder (${fsErrorReason(e)})`, 'run-dir');
    }
    await writeFileAtomic(planFile(runDir), JSON.stringify(plan, null, 1));
  }
  return { plan, runDir, todo, done, recorded, ...(previousResultsDir !== undefined ? { previousResultsDir } : {}) };
}


/**
 * The records of cells done in an earlier run of this run dir, written into `plan.resultsDir`
 * where they are not there yet (a rerun with another --results-dir), so that its CSV holds every
 * done cell, as `merge` would. Copied from the earlier results dir where the record still is;
 * else rebuilt from the cell's result.json (its row, without curve or architecture). Returns the
 * number of records written.
 */
export async function carryDoneRecords(plan: RunPlan, runDir: string, done: Cell[], previousResultsDir: string | undefined): Promise<number> {
  let written = 0;
  for (const c of done) {
    const s = await readCellStatus(runDir, c.id);
    if (!s?.runId) continue;
    const name = runFileName(s.runId);
    if (existsSync(join(runRecordsDir(plan.resultsDir, plan.experiment), name))) continue;
    let record: RunRecord | undefined;
    if (previousResultsDir !== undefined) {
      try {
        record = JSON.parse(await readFile(join(runRecordsDir(previousResultsDir, plan.experiment), name), 'utf8')) as RunRecord;
      } catch {
        record = undefined;
      }
    }
    if (!record) {
      const row = JSON.parse(await readFile(join(cellDir(runDir, c.id), s.resultFile ?? 'result.json'), 'utf8')) as RunRow;
      record = { row, config: plan.config, curve: [] };
    }
    await writeRunRecord(plan.resultsDir, record);
    written++;
  }
  return written;
}

export function formatPlan(plan: RunPlan, todo: Cell[], done: Cell[], recorded: Cell[] = []): string {
  const c = plan.config;
  const recordedIds = new Set(recorded.map((r) => r.id));
  const skipped = done.filter((d) => recordedIds.has(d.id)).length;
  const fromZoo = todo.filter((t) => t.zoo);
  const lines = [
    `experiment ${plan.experiment} (preset ${plan.preset}): ${c.description}`,
    `data ${c.data.dataset}${c.data.trainSubset ? ` (train subset ${c.data.trainSubset})` : ''}${c.data.testSubset ? ` (test subset ${c.data.testSubset})` : ''}, width ${widthsLabel(c)}, baseline ${c.baseline.epochs} epochs, fine-tune ${c.fineTune.epochs} epochs, seeds ${c.seeds.join(',')}`,
    `${plan.cells.length} cells: ${done.length} already done${skipped ? ` (${skipped} of them recorded in ${plan.resultsDir}, not in this run dir)` : ''}, ${todo.length} to run${plan.baselines ? `, ${fromZoo.length} of them baselines taken from the zoo ${plan.baselines.dir} (${fromZoo.length * c.baseline.epochs} epochs not trained)` : ''}`,
  ];
  const doneIds = new Set(done.map((d) => d.id));
  for (const cell of plan.cells) {
    const state = doneIds.has(cell.id) ? 'done' : cell.zoo ? 'zoo ' : 'todo';
    const note = recordedIds.has(cell.id) ? (doneIds.has(cell.id) ? '  (recorded in the results)' : '  (its result is recorded already)') : '';
    lines.push(`  [${state}] stage ${cell.stage}  ${cell.id}${cell.dependsOn.length ? `  <- ${cell.dependsOn.join(', ')}` : ''}${cell.zoo && !doneIds.has(cell.id) ? `  (from zoo entry ${cell.zoo.entry})` : ''}${note}`);
  }
  const unskipped = recorded.length - skipped;
  if (unskipped > 0) lines.push(`  ${unskipped} of the cells to run have a result recorded in ${plan.resultsDir} already (from another run dir?); --skip-recorded skips them`);
  for (const n of plan.baselines?.notes ?? []) lines.push(`  zoo: ${n}`);
  return lines.join('\n');
}

/** Folds per-cell results into the CSV and names missing or failed cells (the Slurm merge job). */
export async function mergeRun(runDir: string): Promise<{ csv: string; rows: number; missing: string[]; failed: string[] }> {
  const plan = await readPlan(runDir);
  const { path, rows } = await rebuildResultsCsv(plan.resultsDir, plan.experiment);
  const missing: string[] = [];
  const failed: string[] = [];
  // A cell the submission skipped (--skip-recorded) has no status here but is not missing.
  const recorded = await recordedCellIds(plan);
  for (const c of plan.cells) {
    const s = await readCellStatus(runDir, c.id);
    if (s?.state === 'failed') failed.push(c.id);
    else if ((!s || s.state === 'running') && !recorded.has(c.id)) missing.push(c.id);
  }
  return { csv: path, rows, missing, failed };
}
