import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { cellCheckpointDir, cellDir, runOrder, type Cell } from '../protocols/index.ts';
import { rebuildResultsCsv, writeRunRecord, type RunRow } from '../results/index.ts';
import { readCheckpointState } from '../train/index.ts';
import { ConfigError } from '../util/errors.ts';
import { silentLogger } from '../util/log.ts';
import { formatDuration } from '../util/progress.ts';
import { runPlannedCell } from './cell.ts';
import { BIN, REPO_ROOT, runEnvironment } from './env.ts';
import { loadExperimentData } from './experiment-data.ts';
import { carryDoneRecords, failedRecord, formatPlan, prepareRun, readCellStatus, writeCellStatus, type RunExperimentOptions } from './plan.ts';
import { cellWork, fineTuneWorkPerMac, SweepEta, tableShapeOf } from './sweep-eta.ts';
import type { ExecuteOptions, Executor, LocalResult, RunSummary } from './types.ts';

/**
 * The local executor. Runs the planned cells locally, up to `jobs` at once in separate processes
 * (in this process when jobs = 1), each as soon as its dependencies completed. A failed cell is recorded and the
 * sweep goes on; cells that depend on it are recorded as failed with the reason.
 */
export async function runExperiment(opts: RunExperimentOptions): Promise<RunSummary> {
  // Refused, not rounded up to 1: `--jobs 0` is a mistake, not a request.
  if (opts.jobs !== undefined && !(Number.isInteger(opts.jobs) && opts.jobs >= 1)) throw new ConfigError(`--jobs expects a positive integer, got ${opts.jobs}`, 'jobs');
  const t0 = performance.now();
  const { plan, runDir, todo, done, recorded, previousResultsDir } = await prepareRun(opts);
  opts.print(formatPlan(plan, todo, done, recorded));
  const skippedAsRecorded = new Set(opts.skipRecorded ? recorded.map((c) => c.id) : []);
  const summary: RunSummary = { runDir, csv: join(plan.resultsDir, `${plan.experiment}.csv`), cells: [], seconds: 0 };
  if (opts.dryRun) {
    summary.cells = plan.cells.map((c) => ({ id: c.id, state: 'planned' }));
    return summary;
  }
  // Done cells count in this run's CSV too, even when an earlier run wrote them elsewhere.
  await carryDoneRecords(plan, runDir, done, previousResultsDir);
  if (todo.length > 0) {
    // Fail fast, once, when the data set cannot be found: no cell could run without it.
    await loadExperimentData(plan.config, { logger: silentLogger, ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) });
  }
  const jobs = opts.jobs ?? Math.max(1, cpus().length);
  const state = new Map<string, 'completed' | 'failed' | 'pending' | 'running'>();
  for (const c of plan.cells) state.set(c.id, 'pending');
  for (const c of done) state.set(c.id, 'completed');
  const running = new Map<string, Promise<void>>();
  const startedAt = new Map<string, number>();
  // The sweep's time left, printed as cells finish; a sweep never fails for want of an estimate.
  let eta: SweepEta | null = null;
  try {
    eta = new SweepEta(plan.cells, cellWork(plan.config, tableShapeOf(), new Set(plan.cells.filter((c) => c.zoo).map((c) => c.id))), jobs, fineTuneWorkPerMac(plan.config, plan.cells));
  } catch (e) {
    opts.logger.warn(`no time-left estimate for this sweep: ${String((e as Error)?.message ?? e)}`);
  }
  const progressLine = (): string => {
    const doneCount = [...state.values()].filter((s) => s === 'completed').length;
    const pending = new Set([...state].filter(([, s]) => s === 'pending').map(([id]) => id));
    const runningFor = new Map([...state].filter(([, s]) => s === 'running').map(([id]) => [id, (performance.now() - (startedAt.get(id) ?? performance.now())) / 1000] as const));
    const left = eta?.remainingSeconds(pending, runningFor) ?? null;
    return `; ${doneCount} of ${plan.cells.length} cells done${left !== null && pending.size + runningFor.size > 0 ? `, ~${formatDuration(left)} left at this run's pace` : ''}`;
  };
  // Cell processes die with the sweep: a `kill` of this process (not only Ctrl-C, which reaches
  // the whole process group) must not leave them training on, unseen, beside a rerun.
  const children = new Set<ChildProcess>();
  const forward = (signal: NodeJS.Signals): void => {
    for (const c of children) c.kill(signal);
    // One line that says what stopped and how to go on (not a stack, not silence); the newline
    // ends a progress bar's line.
    const stopped = [...state].filter(([, s]) => s === 'running').map(([id]) => id);
    opts.logger.info(
      `\n${signal === 'SIGINT' ? 'interrupted' : 'stopped'}: ${stopped.length ? stopped.join(', ') : 'no cell was running'}; ` +
        `run the same command again to resume (each cell from its last checkpoint; ${[...state.values()].filter((s) => s === 'completed').length} of ${plan.cells.length} cells are done)`,
    );
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  const onSigint = (): void => forward('SIGINT');
  const onSigterm = (): void => forward('SIGTERM');
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigterm);
  const launch = async (cell: Cell): Promise<void> => {
    state.set(cell.id, 'running');
    startedAt.set(cell.id, performance.now());
    // Logged before any await, so that cells launched together are logged in the runner's order.
    opts.logger.info(`[${new Date().toISOString().slice(11, 19)}] start ${cell.id}`);
    // A resumed cell trains only the epochs its checkpoint lacks: the time-left estimate must know.
    const checkpoint = await readCheckpointState(cellCheckpointDir(runDir, cell.id));
    if (checkpoint?.epochs) eta?.start(cell.id, checkpoint.epoch / checkpoint.epochs);
    const finish = async (ok: boolean): Promise<void> => {
      const s = await readCellStatus(runDir, cell.id);
      const completed = ok && s?.state === 'completed';
      state.set(cell.id, completed ? 'completed' : 'failed');
      // This process's time on the cell (status.seconds): for a resumed cell, its remaining epochs only.
      if (completed) eta?.complete(cell, s?.seconds ?? (performance.now() - startedAt.get(cell.id)!) / 1000);
      // The pruned model's size makes its fine-tune's work exact (the estimate had a stand-in shape).
      if (completed && cell.protocol === 'prune') eta?.refine(cell.id, await prunedMacs(runDir, cell.id));
      opts.logger.info(`[${new Date().toISOString().slice(11, 19)}] ${completed ? 'done' : 'FAILED'} ${cell.id}${s?.seconds ? ` (${s.seconds.toFixed(0)} s)` : ''}${s?.error ? `: ${s.error}` : ''}${progressLine()}`);
    };
    if (jobs === 1) {
      return runPlannedCell({ runDir, cellId: cell.id, progress: opts.progress, logger: opts.logger, ...(opts.dataDir ? { dataDir: opts.dataDir } : {}), ...(opts.backend ? { backend: opts.backend } : {}), ...(opts.threads ? { threads: opts.threads } : {}) }).then(finish);
    }
    return new Promise<void>((resolveDone) => {
      const child = spawn(process.execPath, [BIN, 'run-cell', '--run-dir', runDir, '--cell', cell.id, '--no-progress'], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
      children.add(child);
      child.on('exit', (code) => {
        children.delete(child);
        void finish(code === 0).then(resolveDone);
      });
      child.on('error', (e) => {
        opts.logger.warn(`could not start a process for ${cell.id}: ${e.message}`);
        void finish(false).then(resolveDone);
      });
    });
  };
  // Rows of cells that never ran (a dependency failed) name no backend.
  const env = runEnvironment(opts.backend ?? '');
  try {
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
      const ready = plan.cells.filter((c) => state.get(c.id) === 'pending' && c.dependsOn.every((d) => state.get(d) === 'completed')).sort(runOrder);
      for (const cell of ready) {
        if (running.size >= jobs) break;
        const p = launch(cell).finally(() => running.delete(cell.id));
        running.set(cell.id, p);
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
  }
  await rebuildResultsCsv(plan.resultsDir, plan.experiment);
  for (const c of plan.cells) {
    const s = await readCellStatus(runDir, c.id);
    let top1: number | undefined;
    if (s?.state === 'completed') {
      const row = JSON.parse(await readFile(join(cellDir(runDir, c.id), 'result.json'), 'utf8')) as RunRow;
      top1 = Number(row.top1_final);
    }
    const state = s?.state === 'completed' ? 'completed' : s?.state === 'failed' ? 'failed' : skippedAsRecorded.has(c.id) ? 'recorded' : 'skipped';
    summary.cells.push({ id: c.id, state, ...(s?.seconds !== undefined ? { seconds: s.seconds } : {}), ...(top1 !== undefined ? { top1 } : {}), ...(s?.error ? { error: s.error } : {}), ...(c.zoo ? { zoo: c.zoo.entry } : {}) });
  }
  summary.seconds = (performance.now() - t0) / 1000;
  return summary;
}


/** The local executor behind the common interface (results go to `results/` unless given). */
export const localExecutor: Executor = {
  name: 'local',
  async run(opts: ExecuteOptions): Promise<LocalResult> {
    return { executor: 'local', summary: await runExperiment({ ...opts, resultsDir: opts.resultsDir ?? 'results' }) };
  },
  async cellStates() {
    return null;
  },
};

/** The MACs a prune cell's model trains at (its row's `macs`; dense for masked models), or 0 when unreadable. */
async function prunedMacs(runDir: string, cellId: string): Promise<number> {
  try {
    const row = JSON.parse(await readFile(join(cellDir(runDir, cellId), 'result.json'), 'utf8')) as RunRow;
    return Number(row.macs) || 0;
  } catch {
    return 0;
  }
}
