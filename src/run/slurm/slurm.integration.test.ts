/**
 * Against a REAL Slurm: the local single-node cluster of scripts/local-slurm.sh (started here if
 * it is not running; CI starts it before the tests). With CI set, a cluster that cannot be
 * started fails this file; without CI these tests are skipped, loudly (see test-cluster.ts).
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../util/log.ts';
import { runCommand } from './exec.ts';
import { parseScontrolJobs, slurmStatus, waitForSlurmJobs } from './status.ts';
import { readMaxArraySize, readSubmissionHistory, submitSweepToSlurm } from './submit.ts';
import { acquireTestCluster, confInUse, REPO, type TestCluster } from './test-cluster.ts';
import type { SweepCell } from './types.ts';

const CELL = 'bash src/run/slurm/fixtures/fake-cell.sh';
const MERGE = 'node src/run/slurm/fixtures/fake-merge.mjs';

const cellsOf = (spec: [string, number][]): SweepCell[] => spec.map(([id, stage]) => ({ id, stage }));
const readCsv = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(','));

describe('Slurm executor on a real cluster', () => {
  let cluster: TestCluster;
  /** Run dirs of passed tests; a failed test's run dir (logs, markers) is kept for inspection. */
  const passedDirs: string[] = [];

  beforeAll(async () => {
    cluster = await acquireTestCluster();
  }, 600_000);

  afterAll(async () => {
    for (const d of passedDirs) rmSync(d, { recursive: true, force: true });
    await cluster?.release();
  }, 120_000);

  it('reads MaxArraySize from the running cluster', async (ctx) => {
    if (cluster.unavailable) ctx.skip();
    const conf = readFileSync(confInUse(), 'utf8');
    const configured = /^\s*MaxArraySize\s*=\s*(\d+)/im.exec(conf)?.[1];
    expect(await readMaxArraySize(silentLogger)).toBe(configured !== undefined ? Number(configured) : 1001);
  });

  it('runs a 2-stage sweep with a failing cell, reports it, and completes it on resume', async (ctx) => {
    if (cluster.unavailable) ctx.skip();
    const runDir = join(mkdtempSync(join(tmpdir(), 'slurm-it-')), "run dir's #1 %x");
    mkdirSync(join(runDir, 'fail'), { recursive: true });
    writeFileSync(join(runDir, 'fail', 'scratch-1'), '');
    const cells = cellsOf([['prune-0', 1], ['base-0', 0], ['scratch-0', 1], ['base-1', 0], ['prune-1', 1], ['scratch-1', 1]]);
    const order = ['base-0', 'base-1', 'prune-0', 'scratch-0', 'prune-1', 'scratch-1'];
    const common = { runDir, cells, cellCommand: CELL, mergeCommand: MERGE, workDir: REPO, logger: silentLogger, options: { jobName: 'it', maxParallel: 2 } };

    const sub = await submitSweepToSlurm(common);
    expect(sub.stages.map((s) => [s.stage, s.arrays.map((a) => [a.offset, a.cellIds])])).toEqual([
      [0, [[0, ['base-0', 'base-1']]]],
      [1, [[2, ['prune-0', 'scratch-0', 'prune-1', 'scratch-1']]]],
    ]);
    const stage1 = sub.stages[1]!.arrays[0]!.jobId;
    await waitForSlurmJobs({ jobIds: [sub.mergeJobId], timeoutMs: 60_000 });

    // Every cell but the failing one folded into the CSV, in cells.json order, with values the cells computed.
    const expectRow = (id: string) => [id, String(id.startsWith('base') ? 0 : 1), String(order.indexOf(id)), String(order.indexOf(id) * 10 + (id.startsWith('base') ? 0 : 1))];
    expect(readCsv(join(runDir, 'merged.csv'))).toEqual([['cellId', 'stage', 'index', 'value'], ...order.filter((id) => id !== 'scratch-1').map(expectRow)]);
    expect(readFileSync(join(runDir, 'merge-report.txt'), 'utf8')).toBe('failed: scratch-1\n');

    // Stage 1 started only after every baseline had finished.
    const result = (id: string) => JSON.parse(readFileSync(join(runDir, 'cells', id, 'result.json'), 'utf8')) as { startedNs: number; endedNs: number };
    const baselinesDone = Math.max(...['base-0', 'base-1'].map((id) => result(id).endedNs));
    for (const id of ['prune-0', 'scratch-0', 'prune-1']) expect(result(id).startedNs).toBeGreaterThan(baselinesDone);

    const st = await slurmStatus(runDir);
    expect(st.map((s) => [s.cellId, s.state, s.exitCode, s.resultFile])).toEqual(
      order.map((id) => (id === 'scratch-1' ? [id, 'failed', '3:0', false] : [id, 'completed', '0:0', true])),
    );
    expect(st.find((s) => s.cellId === 'scratch-1')!.jobId).toBe(`${stage1}_3`);
    // The same fact straight from scontrol, and the task's own log file.
    const direct = parseScontrolJobs((await runCommand('scontrol', ['-o', 'show', 'job', stage1])).stdout).find((r) => r.arrayTaskIds[0] === 3)!;
    expect([direct.jobState, direct.exitCode]).toEqual(['FAILED', '3:0']);
    expect(readFileSync(join(runDir, 'slurm', 'logs', `it-s1_${stage1}_3.out`), 'utf8')).toMatch(/told to fail/);

    // Resume: only the failed cell, same task id, and now it succeeds.
    rmSync(join(runDir, 'fail', 'scratch-1'));
    const again = await submitSweepToSlurm({ ...common, onlyCellIds: ['scratch-1'] });
    expect(again.stages).toEqual([{ stage: 1, arrays: [{ jobId: expect.stringMatching(/^\d+$/), cellIds: ['scratch-1'], offset: 2, script: join(runDir, 'slurm', 'stage1-part0.sbatch') }] }]);
    expect(again.commands![0]).toMatch(/--array=3%2 /);
    await waitForSlurmJobs({ jobIds: [again.mergeJobId], timeoutMs: 60_000 });
    expect(readCsv(join(runDir, 'merged.csv'))).toEqual([['cellId', 'stage', 'index', 'value'], ...order.map(expectRow)]);
    expect(readFileSync(join(runDir, 'merge-report.txt'), 'utf8')).toBe('complete\n');
    const after = await slurmStatus(runDir);
    expect(after.every((s) => s.state === 'completed' && s.resultFile)).toBe(true);
    expect(after.find((s) => s.cellId === 'scratch-1')!.jobId).toBe(`${again.stages[0]!.arrays[0]!.jobId}_3`);
    expect(readSubmissionHistory(runDir)).toHaveLength(2);
    passedDirs.push(join(runDir, '..'));
  }, 90_000);

  it('splits a stage larger than MaxArraySize into several arrays and runs every cell', async (ctx) => {
    if (cluster.unavailable) ctx.skip();
    const runDir = mkdtempSync(join(tmpdir(), 'slurm-split-'));
    const cells = cellsOf(Array.from({ length: 10 }, (_, k): [string, number] => [`base-${k}`, 0]));
    const sub = await submitSweepToSlurm({ runDir, cells, cellCommand: CELL, mergeCommand: MERGE, workDir: REPO, logger: silentLogger, options: { jobName: 'split', maxArraySize: 4 } });
    expect(sub.stages[0]!.arrays.map((a) => [a.offset, a.cellIds.length])).toEqual([[0, 4], [4, 4], [8, 2]]);
    expect(sub.commands!.slice(0, 3).map((c) => /--array=(\S+)/.exec(c)![1])).toEqual(['0-3', '0-3', '0-1']);
    await waitForSlurmJobs({ jobIds: [sub.mergeJobId], timeoutMs: 60_000 });
    expect(readCsv(join(runDir, 'merged.csv')).slice(1)).toEqual(cells.map((c, i) => [c.id, '0', String(i), String(i * 10)]));
    expect((await slurmStatus(runDir)).map((s) => s.state)).toEqual(cells.map(() => 'completed'));
    // One log per task, under the array that ran it.
    const logs = readdirSync(join(runDir, 'slurm', 'logs')).filter((f) => f.startsWith('split-s0_')).sort();
    const expected = sub.stages[0]!.arrays.flatMap((a) => a.cellIds.map((_, t) => `split-s0_${a.jobId}_${t}.out`)).sort();
    expect(logs).toEqual(expected);
    passedDirs.push(runDir);
  }, 90_000);
});
