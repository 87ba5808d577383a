import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { BACKEND_NAMES, initBackend, isBackendName } from '../backend/index.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { cellDir, matchesGlob, runCell, type RunContext } from '../protocols/index.ts';
import { rebuildResultsCsv, writeRunRecord, type RunRecord } from '../results/index.ts';
import { ConfigError, fsErrorReason, PrunebenchError } from '../util/errors.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import { runEnvironment } from './env.ts';
import { loadExperimentData } from './experiment-data.ts';
import { failedRecord, liveRunner, readCellStatus, readPlan, writeCellStatus } from './plan.ts';

let backendAnnounced = false;

/**
 * Runs one cell of a planned run in this process: checks its dependencies, runs it, records the
 * result (or the failure) and the status marker. Never throws for a cell failure: returns false.
 */
export async function runPlannedCell(opts: { runDir: string; cellId?: string; index?: number; dataDir?: string; backend?: string; threads?: number; progress: boolean; logger: Logger }): Promise<boolean> {
  const plan = await readPlan(opts.runDir);
  let id = opts.cellId;
  if (id === undefined && opts.index !== undefined) {
    // Slurm tasks index the stage-ordered cells.json written at submission.
    const file = join(opts.runDir, 'cells.json');
    let cells: { id: string }[];
    try {
      cells = JSON.parse(await readFile(file, 'utf8')) as { id: string }[];
    } catch (e) {
      throw new ConfigError(`--index needs ${file}, written when the run was submitted to Slurm: ${fsErrorReason(e)}; use --cell ID instead`, 'index');
    }
    id = cells[opts.index]?.id;
    if (!id) throw new ConfigError(`--index ${opts.index} is outside the ${cells.length} cells of ${opts.runDir}`, 'index');
  }
  const cell = plan.cells.find((c) => c.id === id);
  if (!cell) throw new ConfigError(`Cell ${id} is not part of the run in ${opts.runDir}`, 'cell');
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const other = liveRunner(await readCellStatus(opts.runDir, cell.id));
  if (other !== null) throw new ConfigError(`Cell ${cell.id} of ${opts.runDir} is being run by process ${other}; stop it or wait for it`, 'cell');
  const backendName = opts.backend ?? plan.backend;
  // Before the cell is marked running: a typo must not leave it looking interrupted.
  if (backendName !== undefined && !isBackendName(backendName)) throw new ConfigError(`Unknown backend "${backendName}" (--backend); expected one of: ${BACKEND_NAMES.join(', ')}`, 'backend');
  await writeCellStatus(opts.runDir, cell.id, { state: 'running', configHash: plan.configHash, pid: process.pid, host: hostname() });
  // Say which backend was chosen (and why) once per process, not once per cell.
  const threads = opts.threads ?? plan.threads;
  const backend = await initBackend({ ...(backendName ? { backend: backendName } : {}), ...(threads ? { threads } : {}), logger: backendAnnounced ? silentLogger : opts.logger });
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
  // A baseline taken from the zoo keeps the backend it was trained on (its row's, too).
  if (backend.detail && !record.baselineSource) record.backendDetail = backend.detail;
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
