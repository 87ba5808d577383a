import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../../util/errors.ts';
import { findOnPath } from './detect.ts';
import { SlurmError } from './errors.ts';
import { runCommand } from './exec.ts';
import { slurmLayout, type SlurmTaskRecord } from './layout.ts';
import { parseArrayTaskIds } from './quote.ts';
import { readSubmissionHistory } from './submit.ts';
import type { CellState, CellStatus, CellStatusMarker, SweepCell } from './types.ts';

/** One line of `scontrol -o show job`, reduced to what status needs. */
export interface ScontrolJobRecord {
  jobId: string;
  arrayJobId?: string;
  /** Task ids this record stands for: one for a started task, several for a pending array remainder. */
  arrayTaskIds: number[];
  jobState: string;
  exitCode: string;
  reason: string;
  command?: string;
}

function field(line: string, key: string): string | undefined {
  return new RegExp(`(?:^|\\s)${key}=(\\S*)`).exec(line)?.[1];
}

/**
 * Parse `scontrol -o show job <id>` output: one record per line. Only fields whose values never
 * contain spaces are read by key; Command (a path that may contain spaces) is read up to " WorkDir=".
 */
export function parseScontrolJobs(stdout: string): ScontrolJobRecord[] {
  const out: ScontrolJobRecord[] = [];
  for (const line of stdout.split('\n')) {
    const jobId = field(line, 'JobId');
    if (!jobId) continue;
    const arrayJobId = field(line, 'ArrayJobId');
    const taskField = field(line, 'ArrayTaskId');
    out.push({
      jobId,
      ...(arrayJobId !== undefined ? { arrayJobId } : {}),
      arrayTaskIds: taskField !== undefined ? parseArrayTaskIds(taskField) : [],
      jobState: field(line, 'JobState') ?? 'UNKNOWN',
      exitCode: field(line, 'ExitCode') ?? '',
      reason: field(line, 'Reason') ?? '',
      ...(() => {
        const m = /(?:^|\s)Command=(.*?) WorkDir=/.exec(line);
        return m ? { command: m[1]! } : {};
      })(),
    });
  }
  return out;
}

const PENDING = new Set(['PENDING', 'REQUEUED', 'REQUEUE_FED', 'REQUEUE_HOLD', 'RESV_DEL_HOLD', 'CONFIGURING', 'RESIZING']);
const RUNNING = new Set(['RUNNING', 'COMPLETING', 'STAGE_OUT', 'SIGNALING', 'SUSPENDED', 'STOPPED']);
const FAILED = new Set(['FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE', 'PREEMPTED', 'SPECIAL_EXIT', 'REVOKED']);

/** Our state for a Slurm JobState (e.g. `FAILED`, or `CANCELLED+` as scontrol may print it). */
export function cellStateOfJobState(jobState: string): CellState {
  const s = jobState.replace(/[^A-Z_]/g, '');
  if (PENDING.has(s)) return 'pending';
  if (RUNNING.has(s)) return 'running';
  if (s === 'COMPLETED') return 'completed';
  if (FAILED.has(s)) return 'failed';
  return 'unknown';
}

type SlurmView = { kind: 'known'; byTask: Map<number, ScontrolJobRecord> } | { kind: 'forgotten' } | { kind: 'unreachable'; why: string };

async function queryArray(arrayJobId: string, script: string | undefined): Promise<SlurmView> {
  const r = await runCommand('scontrol', ['-o', 'show', 'job', arrayJobId]);
  if (r.code !== 0) {
    // Aged out of slurmctld (MinJobAge) or never known: the files are all that remains.
    if (/invalid job id/i.test(r.stderr)) return { kind: 'forgotten' };
    return { kind: 'unreachable', why: r.stderr.trim() || `exit ${r.code}` };
  }
  const byTask = new Map<number, ScontrolJobRecord>();
  for (const rec of parseScontrolJobs(r.stdout)) {
    if ((rec.arrayJobId ?? rec.jobId) !== arrayJobId) continue;
    // A job id reused after the controller's state was wiped belongs to another job.
    if (script !== undefined && rec.command !== undefined && rec.command !== script) return { kind: 'forgotten' };
    for (const t of rec.arrayTaskIds) byTask.set(t, rec);
  }
  return { kind: 'known', byTask };
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * The state of every cell of a Slurm sweep, in cells.json order. Slurm's view (`scontrol -o show
 * job`; no slurmdbd or sacct needed) wins while slurmctld still knows the task; after that the
 * batch script's record (cells/<id>/slurm-task.json, when its job id is the latest submission's),
 * then the cell command's marker (cells/<id>/status.json). `missing`: never submitted, or
 * Slurm has forgotten it and no file says what happened; `unknown`: Slurm could not be asked (or
 * the marker says running although Slurm no longer knows the task) and no file settles it.
 */
export async function slurmStatus(runDir: string): Promise<CellStatus[]> {
  const dir = isAbsolute(runDir) ? runDir : resolve(runDir);
  const cellsFile = slurmLayout.cellsFile(dir);
  if (!existsSync(cellsFile)) throw new ConfigError(`${cellsFile} does not exist: ${dir} is not a submitted Slurm sweep`, 'runDir');
  const cells = JSON.parse(readFileSync(cellsFile, 'utf8')) as SweepCell[];
  const index = new Map(cells.map((c, i) => [c.id, i]));

  const latest = new Map<string, { arrayJobId: string; taskId: number; script: string | undefined }>();
  for (const sub of readSubmissionHistory(dir)) {
    for (const st of sub.stages) {
      for (const a of st.arrays) {
        for (const id of a.cellIds) {
          const i = index.get(id);
          if (i !== undefined) latest.set(id, { arrayJobId: a.jobId, taskId: i - a.offset, script: a.script });
        }
      }
    }
  }

  const canAsk = findOnPath('scontrol') !== undefined && !(process.env.SLURM_CONF && !existsSync(process.env.SLURM_CONF));
  const views = new Map<string, SlurmView>();
  for (const { arrayJobId, script } of latest.values()) {
    if (views.has(arrayJobId)) continue;
    views.set(arrayJobId, canAsk ? await queryArray(arrayJobId, script) : { kind: 'unreachable', why: 'scontrol not available' });
  }

  return cells.map((cell): CellStatus => {
    const sub = latest.get(cell.id);
    const jobId = sub ? `${sub.arrayJobId}_${sub.taskId}` : undefined;
    const marker = readJson<CellStatusMarker>(slurmLayout.statusMarker(dir, cell.id));
    const resultName = typeof marker?.resultFile === 'string' ? marker.resultFile : 'result.json';
    const resultPath = isAbsolute(resultName) ? resultName : join(slurmLayout.cellDir(dir, cell.id), resultName);
    const base = { cellId: cell.id, ...(jobId ? { jobId } : {}), resultFile: existsSync(resultPath) };

    const view = sub ? views.get(sub.arrayJobId) : undefined;
    if (sub && view?.kind === 'known') {
      const rec = view.byTask.get(sub.taskId);
      if (rec) {
        const state = cellStateOfJobState(rec.jobState);
        return { ...base, state, ...(state === 'completed' || state === 'failed' ? { exitCode: rec.exitCode } : {}) };
      }
    }
    const task = readJson<SlurmTaskRecord>(slurmLayout.taskRecord(dir, cell.id));
    if (task && jobId && task.jobId === jobId && Number.isInteger(task.exitCode)) {
      return { ...base, state: task.exitCode === 0 ? 'completed' : 'failed', exitCode: String(task.exitCode) };
    }
    if (marker && (marker.state === 'completed' || marker.state === 'failed')) {
      return { ...base, state: marker.state, ...(marker.exitCode !== undefined ? { exitCode: String(marker.exitCode) } : {}) };
    }
    if (marker?.state === 'running' || (sub && view?.kind === 'unreachable')) return { ...base, state: 'unknown' };
    return { ...base, state: 'missing' };
  });
}

/**
 * Wait until none of `jobIds` (plain or array job ids) is pending or running, polling `scontrol`.
 * Throws a SlurmError naming the unfinished jobs after `timeoutMs`.
 */
export async function waitForSlurmJobs(opts: { jobIds: string[]; timeoutMs?: number; pollMs?: number }): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
  for (;;) {
    const busy: string[] = [];
    for (const id of opts.jobIds) {
      const r = await runCommand('scontrol', ['-o', 'show', 'job', id]);
      if (r.code !== 0) {
        if (/invalid job id/i.test(r.stderr)) continue;
        throw new SlurmError(`scontrol -o show job ${id} failed: ${r.stderr.trim()}`, 'scontrol', r.stderr);
      }
      for (const rec of parseScontrolJobs(r.stdout)) {
        const s = cellStateOfJobState(rec.jobState);
        if (s === 'pending' || s === 'running') busy.push(`${rec.jobId}(${rec.jobState}${rec.reason && rec.reason !== 'None' ? `: ${rec.reason}` : ''})`);
      }
    }
    if (busy.length === 0) return;
    if (Date.now() > deadline) throw new SlurmError(`Slurm jobs still unfinished after ${opts.timeoutMs ?? 600_000} ms: ${busy.join(', ')}`, 'scontrol');
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
  }
}
