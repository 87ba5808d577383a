/**
 * A run dir rerun with another --results-dir, a report on a CSV with no rows, and Ctrl-C on a run
 * (issue #32 items 2 and 15).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/main.ts';
import { readResultsCsv, rowsToCsv, type RunRecord } from '../results/index.ts';
import { BIN, REPO_ROOT } from './env.ts';

const tmp = mkdtempSync(join(tmpdir(), 'prunebench-rerun-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));

async function cli(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(...l.split('\n')), err: (l) => err.push(...l.split('\n')) });
  return { code, out, err };
}

const EXPERIMENT = 'quickstart';
const BASELINE = 'baseline:vgg-tiny:s1';
const run = (results: string, runDir: string) => cli(['run', EXPERIMENT, '--preset', 'smoke', '--only', 'baseline*', '--jobs', '1', '--no-progress', '--results-dir', results, '--run-dir', runDir]);

async function recordsIn(results: string): Promise<RunRecord[]> {
  const dir = join(results, EXPERIMENT, 'runs');
  if (!existsSync(dir)) return [];
  return Promise.all((await readdir(dir)).map(async (f) => JSON.parse(await readFile(join(dir, f), 'utf8')) as RunRecord));
}

describe('rerunning a done run dir with another --results-dir (item 2)', () => {
  it('the done cells reach the new CSV: the record copied from the earlier results dir, else rebuilt from the cell', async () => {
    const runDir = join(tmp, 'run');
    const [a, b, c] = ['a', 'b', 'c'].map((x) => join(tmp, `results-${x}`)) as [string, string, string];
    expect((await run(a, runDir)).code).toBe(0);
    const [first] = await recordsIn(a);
    expect(first!.row.cell).toBe(BASELINE);
    expect(first!.curve.length).toBeGreaterThan(0);

    const again = await run(b, runDir);
    expect(again.code).toBe(0);
    expect(again.out.join('\n')).toContain('1 cells: 1 already done, 0 to run');
    const rows = readResultsCsv(join(b, `${EXPERIMENT}.csv`));
    expect(rows.map((r) => r.run_id)).toEqual([first!.row.run_id]);
    expect(await recordsIn(b)).toEqual([first]);

    // The earlier results dir is gone: the row comes from the run dir's result.json.
    await rm(a, { recursive: true });
    expect((await run(c, runDir)).code).toBe(0);
    const rebuilt = readResultsCsv(join(c, `${EXPERIMENT}.csv`));
    expect(rebuilt.map((r) => [r.run_id, r.top1_final])).toEqual([[first!.row.run_id, first!.row.top1_final]]);
  });

  it('report on a results CSV without runs is one error, exit 2, and writes nothing', async () => {
    const results = join(tmp, 'results-empty');
    await mkdir(results, { recursive: true });
    writeFileSync(join(results, `${EXPERIMENT}.csv`), rowsToCsv([]));
    const out = join(tmp, 'reports');
    const r = await cli(['report', EXPERIMENT, '--results-dir', results, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/^error: .*quickstart\.csv holds no runs/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('Ctrl-C on a run (item 15)', () => {
  it('prints one line naming the interrupted cell and that rerunning resumes it; exit 130', async () => {
    const d = join(tmp, 'sigint');
    const child = spawn(process.execPath, [BIN, 'run', EXPERIMENT, '--preset', 'smoke', '--only', 'baseline*', '--jobs', '1', '--no-progress', '--set', 'baseline.epochs=100000', '--results-dir', join(d, 'results'), '--run-dir', join(d, 'run')], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const status = join(d, 'run', 'cells', BASELINE, 'status.json');
      const t0 = Date.now();
      while (!(existsSync(status) && (await readFile(status, 'utf8')).includes('"running"'))) {
        if (Date.now() - t0 > 90_000) throw new Error(`the baseline did not start; stderr: ${stderr}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const before = stderr.length;
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      // The cell's own log lines may still arrive before the signal does; the interrupt adds one line, the last.
      const lines = stderr.slice(before).split('\n').filter((l) => l.trim() !== '');
      const line = `interrupted: ${BASELINE}; run the same command again to resume (each cell from its last checkpoint; 0 of 1 cells are done)`;
      expect(lines.filter((l) => /interrupt|resume/.test(l))).toEqual([line]);
      expect(lines.at(-1)).toBe(line);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('an unknown backend (item 8)', () => {
  it('run-cell refuses it before marking the cell running (it would show as interrupted)', async () => {
    const runDir = join(tmp, 'run-backend');
    // A planned run (plan.json written), no cell run yet.
    const { prepareRun } = await import('./plan.ts');
    const { silentLogger } = await import('../util/log.ts');
    await prepareRun({ experiment: EXPERIMENT, preset: 'smoke', only: ['baseline*'], resultsDir: join(tmp, 'results-backend'), runDir, progress: false, logger: silentLogger, print: () => {} });
    const r = await cli(['run-cell', '--run-dir', runDir, '--cell', BASELINE, '--backend', 'tpu']);
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/^error: Unknown backend "tpu"/);
    expect(existsSync(join(runDir, 'cells', BASELINE, 'status.json'))).toBe(false);
  });
});
