import { chmodSync, mkdirSync, mkdtempSync as mkdtempRaw, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BackendError } from '../../util/errors.ts';
import { detectSlurm } from './detect.ts';
import { SlurmError } from './errors.ts';
import { slurmLayout } from './layout.ts';
import { cellStateOfJobState, parseScontrolJobs, slurmStatus } from './status.ts';
import type { SlurmSubmission, SweepCell } from './types.ts';

const tmpDirs: string[] = [];
/** mkdtemp, removed after the file's tests. */
function mkdtempSync(prefix: string): string {
  const d = mkdtempRaw(prefix);
  tmpDirs.push(d);
  return d;
}
afterAll(() => tmpDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

/** Captured from a real Slurm 22.05: array 16 (0-4%2, task 1 exits 3) and array 17 depending on it. */
const MIXED = fixture('scontrol-mixed.txt');
const DONE = fixture('scontrol-done.txt');

describe('parseScontrolJobs', () => {
  it('expands the pending remainder of an array and keeps started tasks separate', () => {
    const recs = parseScontrolJobs(MIXED);
    const byTask = recs.filter((r) => r.arrayJobId === '16').flatMap((r) => r.arrayTaskIds.map((t) => `${t}:${r.jobState}`));
    expect(byTask.sort()).toEqual(['0:RUNNING', '1:RUNNING', '2:PENDING', '3:PENDING', '4:PENDING']);
    const dep = recs.find((r) => r.jobId === '17')!;
    expect(dep).toMatchObject({ arrayTaskIds: [0, 1, 2], jobState: 'PENDING', reason: 'Dependency' });
    // Paths with spaces survive: Command is read up to " WorkDir=".
    expect(recs[0]!.command).toBe('/tmp/cap dir/job.sbatch');
  });

  it('reads final states and exit codes', () => {
    const recs = parseScontrolJobs(DONE);
    const states = Object.fromEntries(recs.map((r) => [r.arrayTaskIds[0], `${r.jobState} ${r.exitCode}`]));
    expect(states).toEqual({ 0: 'COMPLETED 0:0', 1: 'FAILED 3:0', 2: 'COMPLETED 0:0', 3: 'COMPLETED 0:0', 4: 'COMPLETED 0:0' });
  });

  it('maps Slurm job states onto cell states', () => {
    expect(['PENDING', 'RUNNING', 'COMPLETING', 'COMPLETED', 'FAILED', 'TIMEOUT', 'CANCELLED+', 'OUT_OF_MEMORY', 'WEIRD'].map(cellStateOfJobState))
      .toEqual(['pending', 'running', 'running', 'completed', 'failed', 'failed', 'failed', 'failed', 'unknown']);
  });
});

describe('detectSlurm', () => {
  it('names the missing command', () => {
    let err: unknown;
    try {
      detectSlurm({ PATH: '/nonexistent' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SlurmError);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as Error).message).toMatch(/^--executor slurm needs a Slurm cluster: sbatch not found on PATH/);
  });

  it('accepts a PATH with the client commands, and rejects a SLURM_CONF that does not exist', () => {
    const bin = mkdtempSync(join(tmpdir(), 'slurm-bin-'));
    for (const c of ['sbatch', 'squeue', 'scontrol']) writeFileSync(join(bin, c), '#!/bin/sh\n', { mode: 0o755 });
    expect(() => detectSlurm({ PATH: bin })).toThrow(/scancel not found/);
    writeFileSync(join(bin, 'scancel'), '#!/bin/sh\n', { mode: 0o755 });
    expect(() => detectSlurm({ PATH: bin })).not.toThrow();
    expect(() => detectSlurm({ PATH: bin, SLURM_CONF: join(bin, 'missing.conf') })).toThrow(/SLURM_CONF=.*missing\.conf does not exist/);
  });
});

describe('slurmStatus', () => {
  const savedPath = process.env.PATH;
  const savedConf = process.env.SLURM_CONF;
  afterEach(() => {
    process.env.PATH = savedPath;
    if (savedConf === undefined) delete process.env.SLURM_CONF;
    else process.env.SLURM_CONF = savedConf;
  });

  /** A fake `scontrol` that answers `-o show job 16` with a captured output and forgets every other job. */
  function fakeScontrol(answer16: string): void {
    const bin = mkdtempSync(join(tmpdir(), 'slurm-fake-'));
    writeFileSync(join(bin, 'answer16.txt'), answer16);
    const script = `#!/bin/bash\nif [ "$4" = 16 ]; then cat ${JSON.stringify(join(bin, 'answer16.txt'))}; exit 0; fi\necho "slurm_load_jobs error: Invalid job id specified" >&2; exit 1\n`;
    writeFileSync(join(bin, 'scontrol'), script);
    chmodSync(join(bin, 'scontrol'), 0o755);
    process.env.PATH = `${bin}:/usr/bin:/bin`;
    delete process.env.SLURM_CONF;
  }

  /** A run dir whose cells a..e were submitted as array 16 (offset 0, script /tmp/cap dir/job.sbatch); f never submitted. */
  function runDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'slurm-status-'));
    const cells: SweepCell[] = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => ({ id, stage: 0 }));
    writeFileSync(slurmLayout.cellsFile(dir), JSON.stringify(cells));
    const sub: SlurmSubmission = {
      runDir: dir, mergeJobId: '18', submittedAt: 'x',
      stages: [{ stage: 0, arrays: [{ jobId: '16', cellIds: ['a', 'b', 'c', 'd', 'e'], offset: 0, script: '/tmp/cap dir/job.sbatch' }] }],
    };
    mkdirSync(slurmLayout.slurmDir(dir), { recursive: true });
    writeFileSync(slurmLayout.historyFile(dir), JSON.stringify([sub]));
    return dir;
  }

  function write(dir: string, cell: string, file: string, value: unknown): void {
    mkdirSync(slurmLayout.cellDir(dir, cell), { recursive: true });
    writeFileSync(join(slurmLayout.cellDir(dir, cell), file), JSON.stringify(value));
  }

  it("takes Slurm's view while it knows the tasks", async () => {
    fakeScontrol(MIXED);
    const dir = runDir();
    write(dir, 'a', 'result.json', {});
    const st = await slurmStatus(dir);
    expect(st.map((s) => [s.cellId, s.state, s.jobId ?? '-', s.resultFile])).toEqual([
      ['a', 'running', '16_0', true],
      ['b', 'running', '16_1', false],
      ['c', 'pending', '16_2', false],
      ['d', 'pending', '16_3', false],
      ['e', 'pending', '16_4', false],
      ['f', 'missing', '-', false],
    ]);
    fakeScontrol(DONE);
    const done = await slurmStatus(dir);
    expect(done.map((s) => `${s.cellId}:${s.state}:${s.exitCode ?? ''}`)).toEqual(['a:completed:0:0', 'b:failed:3:0', 'c:completed:0:0', 'd:completed:0:0', 'e:completed:0:0', 'f:missing:']);
  });

  it('falls back to the task record, then the marker, once Slurm has forgotten the job', async () => {
    fakeScontrol(DONE.replace(/\/tmp\/cap dir\/job\.sbatch/g, '/elsewhere/other.sbatch')); // job id 16 now belongs to another job
    const dir = runDir();
    write(dir, 'a', 'slurm-task.json', { jobId: '16_0', exitCode: 0 });
    write(dir, 'b', 'slurm-task.json', { jobId: '16_1', exitCode: 3 });
    write(dir, 'c', 'slurm-task.json', { jobId: '9_2', exitCode: 0 }); // an older attempt: ignored
    write(dir, 'c', 'status.json', { state: 'failed', exitCode: 4, resultFile: 'out.csv' });
    write(dir, 'c', 'out.csv', 'x');
    write(dir, 'd', 'status.json', { state: 'running' });
    const st = await slurmStatus(dir);
    expect(st.map((s) => [s.cellId, s.state, s.exitCode ?? '-', s.resultFile])).toEqual([
      ['a', 'completed', '0', false],
      ['b', 'failed', '3', false],
      ['c', 'failed', '4', true],
      ['d', 'unknown', '-', false],
      ['e', 'missing', '-', false],
      ['f', 'missing', '-', false],
    ]);
  });

  it('says unknown, not missing, when Slurm cannot be asked', async () => {
    process.env.PATH = '/nonexistent';
    const dir = runDir();
    write(dir, 'a', 'status.json', { state: 'completed', exitCode: 0 });
    const st = await slurmStatus(dir);
    expect(st.map((s) => s.state)).toEqual(['completed', 'unknown', 'unknown', 'unknown', 'unknown', 'missing']);
  });

  it('names the run dir when it holds no sweep', async () => {
    await expect(slurmStatus(mkdtempSync(join(tmpdir(), 'slurm-empty-')))).rejects.toThrow(/cells\.json does not exist/);
  });
});
