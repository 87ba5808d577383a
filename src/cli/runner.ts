import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { findExperiment } from '../../experiments/index.ts';
import { initBackend } from '../backend/index.ts';
import { writeFileAtomic } from '../models/index.ts';
import {
  applyOverrides,
  cellDir,
  expandCells,
  identityRow,
  matchesGlob,
  runCell,
  selectCells,
  validateConfig,
  type Cell,
  type ExperimentConfig,
  type PresetName,
  type RunContext,
} from '../protocols/index.ts';
import { rebuildResultsCsv, writeRunRecord, type RunRecord, type RunRow } from '../results/index.ts';
import { ConfigError, PrunebenchError } from '../util/errors.ts';
import { configHash } from '../util/hash.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import { BIN, REPO_ROOT, runEnvironment } from './env.ts';
import { loadExperimentData } from './experiment-data.ts';

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
}

let backendAnnounced = false;

const planFile = (runDir: string): string => join(runDir, 'plan.json');
const statusFile = (runDir: string, id: string): string => join(cellDir(runDir, id), 'status.json');

export function defaultRunDir(experiment: string, preset: string): string {
  return join('runs', `${experiment}-${preset}`);
}

/** Identity of a config for resuming: seeds are per cell, so they are left out. */
export function resumeHash(config: ExperimentConfig): string {
  return configHash({ ...config, seeds: [] });
}

export function resolveConfig(opts: { experiment: string; preset: PresetName; seeds?: number[]; set?: string[] }): ExperimentConfig {
  let config = structuredClone(findExperiment(opts.experiment).presets[opts.preset]);
  if (opts.seeds) config.seeds = opts.seeds;
  config = applyOverrides(config, opts.set ?? []);
  validateConfig(config);
  return Object.freeze(config) as ExperimentConfig;
}

export async function readPlan(runDir: string): Promise<RunPlan> {
  try {
    return JSON.parse(await readFile(planFile(runDir), 'utf8')) as RunPlan;
  } catch {
    throw new ConfigError(`${planFile(runDir)} not found: is ${runDir} a prunebench run directory?`, 'run-dir');
  }
}

export async function readCellStatus(runDir: string, id: string): Promise<CellStatus | null> {
  try {
    return JSON.parse(await readFile(statusFile(runDir, id), 'utf8')) as CellStatus;
  } catch {
    return null;
  }
}

async function writeCellStatus(runDir: string, id: string, status: CellStatus): Promise<void> {
  await mkdir(cellDir(runDir, id), { recursive: true });
  await writeFileAtomic(statusFile(runDir, id), JSON.stringify(status));
}

/** A failed run's row: the cell's identity, status=failed and the error; no measurements. */
function failedRecord(plan: RunPlan, cell: Cell, error: string, startedAt: string, env: ReturnType<typeof runEnvironment>): RunRecord {
  const row = identityRow({ config: plan.config, configHash: plan.configHash, env, cell, startedAt });
  return { row: { ...row, status: 'failed', error, finished_at: new Date().toISOString() }, config: plan.config, curve: [], error: { message: error } };
}

/**
 * Runs one cell of a planned run in this process: checks its dependencies, runs it, records the
 * result (or the failure) and the status marker. Never throws for a cell failure: returns false.
 */
export async function runPlannedCell(opts: { runDir: string; cellId?: string; index?: number; dataDir?: string; backend?: string; progress: boolean; logger: Logger }): Promise<boolean> {
  const plan = await readPlan(opts.runDir);
  let id = opts.cellId;
  if (id === undefined && opts.index !== undefined) {
    // Slurm tasks index the stage-ordered cells.json written at submission.
    const cells = JSON.parse(await readFile(join(opts.runDir, 'cells.json'), 'utf8')) as { id: string }[];
    id = cells[opts.index]?.id;
    if (!id) throw new ConfigError(`--index ${opts.index} is outside the ${cells.length} cells of ${opts.runDir}`, 'index');
  }
  const cell = plan.cells.find((c) => c.id === id);
  if (!cell) throw new ConfigError(`Cell ${id} is not part of the run in ${opts.runDir}`, 'cell');
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  await writeCellStatus(opts.runDir, cell.id, { state: 'running', configHash: plan.configHash });
  const backendName = opts.backend ?? plan.backend;
  // Say which backend was chosen (and why) once per process, not once per cell.
  const backend = await initBackend({ ...(backendName ? { backend: backendName } : {}), logger: backendAnnounced ? silentLogger : opts.logger });
  backendAnnounced = true;
  const env = runEnvironment(backend.name);
  let record: RunRecord;
  try {
    // Fault injection for tests of failure handling (local and Slurm): cells matching the glob
    // list in PRUNEBENCH_FAIL_CELLS fail on purpose, before doing any work.
    const inject = process.env.PRUNEBENCH_FAIL_CELLS;
    if (inject && inject.split(',').some((g) => matchesGlob(cell.id, g.trim()))) {
      throw new PrunebenchError(`injected failure (PRUNEBENCH_FAIL_CELLS=${inject})`);
    }
    for (const dep of cell.dependsOn) {
      const s = await readCellStatus(opts.runDir, dep);
      if (s?.state !== 'completed') throw new PrunebenchError(`dependency ${dep} has not completed (${s?.state ?? 'not run'})`);
    }
    const dataDir = opts.dataDir ?? plan.dataDir;
    const { data, dataset } = await loadExperimentData(plan.config, { logger: opts.logger, ...(dataDir ? { dataDir } : {}) });
    const ctx: RunContext = { config: plan.config, configHash: plan.configHash, runDir: opts.runDir, resultsDir: plan.resultsDir, data, dataset, env, logger: opts.logger, ...(opts.progress ? {} : { progressStream: null }) };
    record = await runCell(ctx, cell);
  } catch (e) {
    const message = (e as Error).message;
    opts.logger.warn(`cell ${cell.id} failed: ${message}`);
    record = failedRecord(plan, cell, message, startedAt, env);
    if ((e as Error).stack) record.error = { message, stack: (e as Error).stack! };
  }
  const ok = record.row.status === 'ok';
  await writeRunRecord(plan.resultsDir, record);
  await writeFileAtomic(join(cellDir(opts.runDir, cell.id), 'result.json'), JSON.stringify(record.row));
  await writeCellStatus(opts.runDir, cell.id, {
    state: ok ? 'completed' : 'failed',
    exitCode: ok ? 0 : 1,
    resultFile: 'result.json',
    configHash: plan.configHash,
    runId: String(record.row.run_id),
    seconds: (performance.now() - t0) / 1000,
    ...(ok ? {} : { error: String(record.row.error) }),
  });
  await rebuildResultsCsv(plan.resultsDir, plan.experiment);
  return ok;
}

export interface RunSummary {
  runDir: string;
  csv: string;
  cells: { id: string; state: 'completed' | 'failed' | 'skipped' | 'planned'; seconds?: number; top1?: number; error?: string }[];
  seconds: number;
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
  progress: boolean;
  logger: Logger;
  /** Prints the plan and the summary (the CLI's stdout). */
  print: (line: string) => void;
}

/** Plan the cells, write plan.json, and decide which are already done. */
export async function prepareRun(opts: RunExperimentOptions): Promise<{ plan: RunPlan; runDir: string; todo: Cell[]; done: Cell[] }> {
  const config = resolveConfig(opts);
  const cells = selectCells(expandCells(config), opts.only);
  const runDir = resolve(opts.runDir ?? defaultRunDir(opts.experiment, opts.preset));
  const hash = resumeHash(config);
  if (existsSync(planFile(runDir))) {
    const previous = await readPlan(runDir);
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
    createdAt: new Date().toISOString(),
  };
  const done: Cell[] = [];
  const todo: Cell[] = [];
  for (const c of cells) {
    const s = await readCellStatus(runDir, c.id);
    (s?.state === 'completed' && s.configHash === hash ? done : todo).push(c);
  }
  if (!opts.dryRun) {
    await mkdir(runDir, { recursive: true });
    await writeFileAtomic(planFile(runDir), JSON.stringify(plan, null, 1));
  }
  return { plan, runDir, todo, done };
}

export function formatPlan(plan: RunPlan, todo: Cell[], done: Cell[]): string {
  const c = plan.config;
  const lines = [
    `experiment ${plan.experiment} (preset ${plan.preset}): ${c.description}`,
    `data ${c.data.dataset}${c.data.trainSubset ? ` (train subset ${c.data.trainSubset})` : ''}${c.data.testSubset ? ` (test subset ${c.data.testSubset})` : ''}, width x${c.widthMultiplier}, baseline ${c.baseline.epochs} epochs, fine-tune ${c.fineTune.epochs} epochs, seeds ${c.seeds.join(',')}`,
    `${plan.cells.length} cells: ${done.length} already done, ${todo.length} to run`,
  ];
  const doneIds = new Set(done.map((d) => d.id));
  for (const cell of plan.cells) lines.push(`  [${doneIds.has(cell.id) ? 'done' : 'todo'}] stage ${cell.stage}  ${cell.id}${cell.dependsOn.length ? `  <- ${cell.dependsOn.join(', ')}` : ''}`);
  return lines.join('\n');
}

/**
 * Runs the planned cells locally, up to `jobs` at once in separate processes (in this process
 * when jobs = 1), each as soon as its dependencies completed. A failed cell is recorded and the
 * sweep goes on; cells that depend on it are recorded as failed with the reason.
 */
export async function runExperiment(opts: RunExperimentOptions): Promise<RunSummary> {
  const t0 = performance.now();
  const { plan, runDir, todo, done } = await prepareRun(opts);
  opts.print(formatPlan(plan, todo, done));
  const summary: RunSummary = { runDir, csv: join(plan.resultsDir, `${plan.experiment}.csv`), cells: [], seconds: 0 };
  if (opts.dryRun) {
    summary.cells = plan.cells.map((c) => ({ id: c.id, state: 'planned' }));
    return summary;
  }
  if (todo.length > 0) {
    // Fail fast, once, when the data set cannot be found: no cell could run without it.
    await loadExperimentData(plan.config, { logger: silentLogger, ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) });
  }
  const jobs = Math.max(1, opts.jobs ?? cpus().length);
  const state = new Map<string, 'completed' | 'failed' | 'pending' | 'running'>();
  for (const c of plan.cells) state.set(c.id, 'pending');
  for (const c of done) state.set(c.id, 'completed');
  const running = new Map<string, Promise<void>>();
  const launch = (cell: Cell): Promise<void> => {
    state.set(cell.id, 'running');
    opts.logger.info(`[${new Date().toISOString().slice(11, 19)}] start ${cell.id}`);
    const finish = async (ok: boolean): Promise<void> => {
      const s = await readCellStatus(runDir, cell.id);
      const completed = ok && s?.state === 'completed';
      state.set(cell.id, completed ? 'completed' : 'failed');
      opts.logger.info(`[${new Date().toISOString().slice(11, 19)}] ${completed ? 'done' : 'FAILED'} ${cell.id}${s?.seconds ? ` (${s.seconds.toFixed(0)} s)` : ''}${s?.error ? `: ${s.error}` : ''}`);
    };
    if (jobs === 1) {
      return runPlannedCell({ runDir, cellId: cell.id, progress: opts.progress, logger: opts.logger, ...(opts.dataDir ? { dataDir: opts.dataDir } : {}), ...(opts.backend ? { backend: opts.backend } : {}) }).then(finish);
    }
    return new Promise<void>((resolveDone) => {
      const child = spawn(process.execPath, [BIN, 'run-cell', '--run-dir', runDir, '--cell', cell.id, '--no-progress'], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
      child.on('exit', (code) => void finish(code === 0).then(resolveDone));
      child.on('error', (e) => {
        opts.logger.warn(`could not start a process for ${cell.id}: ${e.message}`);
        void finish(false).then(resolveDone);
      });
    });
  };
  // Rows of cells that never ran (a dependency failed) name no backend.
  const env = runEnvironment(opts.backend ?? '');
  for (;;) {
    // Cells whose dependency failed can never run: record them as failed, with the reason.
    for (const c of plan.cells) {
      if (state.get(c.id) !== 'pending') continue;
      const failedDep = c.dependsOn.find((d) => state.get(d) === 'failed');
      if (failedDep) {
        state.set(c.id, 'failed');
        const record = failedRecord(plan, c, `dependency ${failedDep} failed`, new Date().toISOString(), env);
        await writeRunRecord(plan.resultsDir, record);
        await writeCellStatus(runDir, c.id, { state: 'failed', exitCode: 1, configHash: plan.configHash, error: String(record.row.error) });
        opts.logger.warn(`skip ${c.id}: dependency ${failedDep} failed`);
      }
    }
    const ready = plan.cells.filter((c) => state.get(c.id) === 'pending' && c.dependsOn.every((d) => state.get(d) === 'completed'));
    for (const cell of ready) {
      if (running.size >= jobs) break;
      const p = launch(cell).finally(() => running.delete(cell.id));
      running.set(cell.id, p);
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  await rebuildResultsCsv(plan.resultsDir, plan.experiment);
  for (const c of plan.cells) {
    const s = await readCellStatus(runDir, c.id);
    let top1: number | undefined;
    if (s?.state === 'completed') {
      const row = JSON.parse(await readFile(join(cellDir(runDir, c.id), 'result.json'), 'utf8')) as RunRow;
      top1 = Number(row.top1_final);
    }
    summary.cells.push({ id: c.id, state: s?.state === 'completed' ? 'completed' : s?.state === 'failed' ? 'failed' : 'skipped', ...(s?.seconds !== undefined ? { seconds: s.seconds } : {}), ...(top1 !== undefined ? { top1 } : {}), ...(s?.error ? { error: s.error } : {}) });
  }
  summary.seconds = (performance.now() - t0) / 1000;
  return summary;
}

export function formatSummary(s: RunSummary): string {
  const w = Math.max(10, ...s.cells.map((c) => c.id.length));
  const lines = [`${'cell'.padEnd(w)}  state      top-1 %   time`];
  for (const c of s.cells) {
    lines.push(`${c.id.padEnd(w)}  ${c.state.padEnd(9)}  ${c.top1 !== undefined ? c.top1.toFixed(2).padStart(7) : '      -'}  ${c.seconds !== undefined ? `${c.seconds.toFixed(0)} s` : ''}${c.error ? `  ${c.error}` : ''}`);
  }
  const failed = s.cells.filter((c) => c.state === 'failed').length;
  lines.push(`${s.cells.length} cells, ${failed} failed, ${s.seconds.toFixed(0)} s; results: ${s.csv}; run dir: ${s.runDir}`);
  return lines.join('\n');
}

/** Folds per-cell results into the CSV and names missing or failed cells (the Slurm merge job). */
export async function mergeRun(runDir: string): Promise<{ csv: string; rows: number; missing: string[]; failed: string[] }> {
  const plan = await readPlan(runDir);
  const { path, rows } = await rebuildResultsCsv(plan.resultsDir, plan.experiment);
  const missing: string[] = [];
  const failed: string[] = [];
  for (const c of plan.cells) {
    const s = await readCellStatus(runDir, c.id);
    if (!s || s.state === 'running') missing.push(c.id);
    else if (s.state === 'failed') failed.push(c.id);
  }
  return { csv: path, rows, missing, failed };
}
