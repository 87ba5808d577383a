/**
 * `prunebench run <experiment> --executor slurm` end to end, against a REAL Slurm (the local
 * single-node cluster of scripts/local-slurm.sh; see test-cluster.ts for start/skip policy):
 * the smoke preset of rethinking-l1 with one cell made to fail (PRUNEBENCH_FAIL_CELLS, which
 * reaches the jobs because sbatch exports the submitting environment), then `--resume`.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findExperiment } from '../../../experiments/index.ts';
import { expandCells } from '../../protocols/index.ts';
import { RUN_COLUMNS } from '../../results/index.ts';
import { runCommand } from './exec.ts';
import { parseScontrolJobs, waitForSlurmJobs } from './status.ts';
import { readSubmissionHistory } from './submit.ts';
import { acquireTestCluster, REPO, type TestCluster } from './test-cluster.ts';

const EXPERIMENT = 'rethinking-l1';
const CELLS = expandCells(findExperiment(EXPERIMENT).presets.smoke);
const FAILING = CELLS.find((c) => c.protocol === 'scratch-E')!;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real CLI, as a user runs it (bin/prunebench.js through tsx), with `env` added or removed. */
function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const merged: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete merged[k];
    else merged[k] = v;
  }
  return new Promise((done) => {
    execFile(process.execPath, [join(REPO, 'bin/prunebench.js'), ...args], { cwd: REPO, env: merged, timeout: 120_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

type Row = Record<string, string>;
function readCsv(file: string): { header: string[]; rows: Row[] } {
  const text = readFileSync(file, 'utf8');
  const header = (parse(text, { to_line: 1 }) as string[][])[0]!;
  return { header, rows: parse(text, { columns: true }) as Row[] };
}

/** Every file of a folder with its content: to show that completed cells were not touched again. */
function snapshot(dir: string): Map<string, string> {
  return new Map(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

/** `prunebench status` lines: cell -> { state, slurm } (e.g. 'failed', 'failed (12_2, exit 1:0)'). */
function parseStatus(stdout: string): Map<string, { state: string; slurm: string }> {
  const out = new Map<string, { state: string; slurm: string }>();
  for (const line of stdout.split('\n')) {
    const m = /^(\S+)\s+(completed|failed|running|not run)\s+slurm: (\S+ \([^)]*\)|\S+)/.exec(line);
    if (m) out.set(m[1]!, { state: m[2]!, slurm: m[3]! });
  }
  return out;
}

const jobIdsOf = (stdout: string): string[] => [...stdout.matchAll(/^(?:stage \d+: job|merge job) (\d+)/gm)].map((m) => m[1]!);
const mergeJobOf = (stdout: string): string => /^merge job (\d+)/m.exec(stdout)?.[1] ?? '';

describe('prunebench run --executor slurm on a real cluster', () => {
  let cluster: TestCluster;
  let base = '';
  let passed = false;
  /** Every job this test submitted: cancelled at the end, so a failed test leaves nothing queued. */
  const submitted: string[] = [];

  beforeAll(async () => {
    cluster = await acquireTestCluster();
    base = mkdtempSync(join(tmpdir(), 'slurm-sweep-'));
  }, 600_000);

  afterAll(async () => {
    if (submitted.length > 0) await runCommand('scancel', submitted);
    if (passed) rmSync(base, { recursive: true, force: true });
    else if (base) console.warn(`slurm sweep test: run dir kept for inspection: ${base}`);
    await cluster?.release();
  }, 120_000);

  it('runs the smoke sweep as job arrays, reports the failed cell, and resubmits only that cell on --resume', async (ctx) => {
    if (cluster.unavailable) ctx.skip();
    const runDir = join(base, 'run');
    const resultsDir = join(base, 'results');
    const csvFile = join(resultsDir, `${EXPERIMENT}.csv`);
    const recordsDir = join(resultsDir, EXPERIMENT, 'runs');
    const sweep = ['run', EXPERIMENT, '--preset', 'smoke', '--executor', 'slurm', '--run-dir', runDir];

    // Held at submission, so the refusals below see every cell still queued.
    const first = await cli([...sweep, '--results-dir', resultsDir, '--sbatch-arg=--hold'], { PRUNEBENCH_FAIL_CELLS: 'scratch-E:*' });
    expect(first.code, first.stderr).toBe(0);
    const jobs = jobIdsOf(first.stdout);
    submitted.push(...jobs);
    expect(jobs).toHaveLength(4); // stages 0, 1, 2 and the merge
    const [again, early] = await Promise.all([cli(sweep), cli([...sweep, '--resume'])]);
    expect([again.code, again.stderr]).toEqual([2, expect.stringMatching(/already submitted to Slurm .*add --resume/)]);
    expect([early.code, early.stderr]).toEqual([2, expect.stringMatching(new RegExp(`still queued or running.*${FAILING.id} \\(pending`))]);
    expect((await runCommand('scontrol', ['release', jobs.join(',')])).code).toBe(0);
    await waitForSlurmJobs({ jobIds: [mergeJobOf(first.stdout)], timeoutMs: 240_000, pollMs: 500 });

    // The merged CSV: the documented columns, an ok row for every cell but the failing one, whose row carries the error.
    const merged = readCsv(csvFile);
    expect(merged.header).toEqual([...RUN_COLUMNS]);
    expect(merged.rows.map((r) => r.cell).sort()).toEqual(CELLS.map((c) => c.id).sort());
    for (const r of merged.rows) {
      if (r.cell === FAILING.id) {
        expect([r.status, r.error, r.top1_final]).toEqual(['failed', 'injected failure (PRUNEBENCH_FAIL_CELLS=scratch-E:*)', '']);
      } else {
        expect([r.cell, r.status, r.error]).toEqual([r.cell, 'ok', '']);
        expect(Number(r.top1_final)).toBeGreaterThanOrEqual(0);
        expect(Number(r.top1_final)).toBeLessThanOrEqual(100);
      }
    }

    // `status`: the failed cell is failed for prunebench and for Slurm; Slurm's own record agrees; its log says why.
    const st1 = parseStatus((await cli(['status', runDir])).stdout);
    expect([...st1.keys()].sort()).toEqual(CELLS.map((c) => c.id).sort());
    for (const c of CELLS) expect(st1.get(c.id)!.state).toBe(c.id === FAILING.id ? 'failed' : 'completed');
    const failedTask = /^failed \((\d+)_(\d+), exit 1:0\)$/.exec(st1.get(FAILING.id)!.slurm);
    expect(failedTask, st1.get(FAILING.id)!.slurm).not.toBeNull();
    const [, arrayJob, taskId] = failedTask!;
    const rec = parseScontrolJobs((await runCommand('scontrol', ['-o', 'show', 'job', arrayJob!])).stdout).find((r) => r.arrayTaskIds[0] === Number(taskId));
    expect([rec?.jobState, rec?.exitCode]).toEqual(['FAILED', '1:0']);
    expect(readFileSync(join(runDir, 'slurm', 'logs', `pb-${EXPERIMENT}-s${FAILING.stage}_${arrayJob}_${taskId}.out`), 'utf8')).toMatch(/cell scratch-E:\S+ failed: injected failure/);

    // Resume without the fault: only the failed cell is submitted, and nothing of the completed cells changes.
    const recordsBefore = snapshot(recordsDir);
    const markers = (ids: string[]) => ids.map((id) => readFileSync(join(runDir, 'cells', id, 'status.json'), 'utf8') + readFileSync(join(runDir, 'cells', id, 'slurm-task.json'), 'utf8'));
    const completedIds = CELLS.filter((c) => c.id !== FAILING.id).map((c) => c.id);
    const markersBefore = markers(completedIds);
    const resumed = await cli([...sweep, '--resume'], { PRUNEBENCH_FAIL_CELLS: undefined });
    submitted.push(...jobIdsOf(resumed.stdout));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(`${CELLS.length} cells: ${CELLS.length - 1} already done, 1 to run`);
    const history = readSubmissionHistory(runDir);
    expect(history).toHaveLength(2);
    expect(history[1]!.stages.map((s) => [s.stage, s.arrays.map((a) => a.cellIds)])).toEqual([[FAILING.stage, [[FAILING.id]]]]);
    await waitForSlurmJobs({ jobIds: [mergeJobOf(resumed.stdout)], timeoutMs: 120_000, pollMs: 500 });

    const recordsAfter = snapshot(recordsDir);
    const added = [...recordsAfter.keys()].filter((f) => !recordsBefore.has(f));
    expect(added).toHaveLength(1);
    for (const [f, content] of recordsBefore) expect(recordsAfter.get(f), f).toBe(content);
    expect(markers(completedIds)).toEqual(markersBefore);

    // One row per cell, every one ok: the completed cells' rows as before, the resumed cell's from the new run.
    // The failed attempt keeps its run record (records are immutable); the CSV shows the latest ok run.
    const final = readCsv(csvFile);
    expect(final.header).toEqual([...RUN_COLUMNS]);
    expect(final.rows.map((r) => [r.cell, r.status]).sort()).toEqual(CELLS.map((c) => [c.id, 'ok']).sort());
    for (const r of merged.rows.filter((x) => x.status === 'ok')) expect(final.rows.find((x) => x.cell === r.cell)).toEqual(r);
    const rerun = final.rows.find((r) => r.cell === FAILING.id)!;
    expect(rerun.run_id).not.toBe(merged.rows.find((r) => r.cell === FAILING.id)!.run_id);
    expect(JSON.parse(recordsAfter.get(added[0]!)!).row.run_id).toBe(rerun.run_id);

    const st2 = parseStatus((await cli(['status', runDir])).stdout);
    for (const c of CELLS) expect(st2.get(c.id)!.state).toBe('completed');
    expect(st2.get(FAILING.id)!.slurm).toMatch(new RegExp(`^completed \\(${history[1]!.stages[0]!.arrays[0]!.jobId}_${taskId}, exit 0:0\\)$`));
    expect(existsSync(join(runDir, 'plan.json'))).toBe(true);
    passed = true;
  }, 300_000);
});
