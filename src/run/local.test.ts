import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/index.ts';
import { syntheticDataset } from '../data/index.ts';
import { countSpec } from '../metrics/index.ts';
import { Model, modelSpec, type VggSpec } from '../models/index.ts';
import { cellCheckpointDir, expandCells } from '../protocols/index.ts';
import { readResultsCsv, RUN_COLUMNS, type RunRecord, type RunRow } from '../results/index.ts';
import { useWasmBackend } from '../testing/tf.ts';
import { DEFAULT_TRAIN_CONFIG, readCheckpointState, trainModel } from '../train/index.ts';
import { ConfigError, PrunebenchError } from '../util/errors.ts';
import { silentLogger } from '../util/log.ts';
import { BIN, REPO_ROOT } from './env.ts';
import { main } from '../cli/main.ts';
import { mergeRun, prepareRun, resolveConfig, resumeHash, writeCellStatus, type CellStatus } from './plan.ts';
import { recordedCells } from './recorded.ts';
import { thrownError } from '../testing/errors.ts';

const EXPERIMENT = 'rethinking-l1';
const SMOKE_CELLS = ['baseline:vgg16:s1', 'prune:vgg16-A:s1', 'fine-tune:vgg16-A:s1', 'scratch-B:vgg16-A:s1', 'scratch-E:vgg16-A:s1'];

const tmp = mkdtempSync(join(tmpdir(), 'prunebench-runner-'));
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

interface Dirs {
  results: string;
  run: string;
}
const dirs = (name: string): Dirs => ({ results: join(tmp, name, 'results'), run: join(tmp, name, 'run') });

async function cli(argv: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  // The plan and the summary arrive as multi-line strings: keep one entry per line.
  const code = await main(argv, { out: (l) => out.push(...l.split('\n')), err: () => {} });
  return { code, out };
}

/** `run rethinking-l1 --preset smoke` in this process (one job), with extra flags. */
function runSmoke(d: Dirs, extra: string[] = []): Promise<{ code: number; out: string[] }> {
  return cli(['run', EXPERIMENT, '--preset', 'smoke', '--jobs', '1', '--no-progress', '--results-dir', d.results, '--run-dir', d.run, ...extra]);
}

async function withEnv<T>(name: string, value: string, f: () => Promise<T>): Promise<T> {
  const before = process.env[name];
  process.env[name] = value;
  try {
    return await f();
  } finally {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  }
}

/** The error a command throws (it must throw one). */
const cliError = (argv: string[]): Promise<PrunebenchError> => thrownError(() => cli(argv), argv.join(' '));

const csvPath = (d: Dirs): string => join(d.results, `${EXPERIMENT}.csv`);
const recordsDir = (d: Dirs): string => join(d.results, EXPERIMENT, 'runs');

async function records(d: Dirs): Promise<RunRecord[]> {
  if (!existsSync(recordsDir(d))) return [];
  const files = (await readdir(recordsDir(d))).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(files.map(async (f) => JSON.parse(await readFile(join(recordsDir(d), f), 'utf8')) as RunRecord));
}

async function cellStatus(d: Dirs, id: string): Promise<CellStatus | null> {
  try {
    return JSON.parse(await readFile(join(d.run, 'cells', id, 'status.json'), 'utf8')) as CellStatus;
  } catch {
    return null;
  }
}

const rowOf = (rows: RunRow[], cell: string): RunRow => {
  const r = rows.filter((x) => x.cell === cell);
  expect(r, cell).toHaveLength(1);
  return r[0]!;
};

// ------------------------------------------------------------------------------------------------

describe('run (in process, one job)', () => {
  // Two baseline epochs, so Scratch-B's budget (floor(E x MACs ratio) = 3) differs from E.
  const main1 = dirs('main');
  const set = ['--set', 'baseline.epochs=2'];
  let first: { code: number; out: string[] };

  beforeAll(async () => {
    first = await runSmoke(main1, set);
  });

  it('writes a CSV with exactly RUN_COLUMNS and one ok row per cell', async () => {
    expect(first.code).toBe(0);
    const text = await readFile(csvPath(main1), 'utf8');
    const table = parse(text) as string[][];
    expect(table[0]).toEqual([...RUN_COLUMNS]);
    for (const line of table) expect(line).toHaveLength(RUN_COLUMNS.length);
    const rows = readResultsCsv(csvPath(main1));
    const config = resolveConfig({ experiment: EXPERIMENT, preset: 'smoke', set: ['baseline.epochs=2'] });
    const cells = expandCells(config).map((c) => c.id);
    expect([...cells].sort()).toEqual([...SMOKE_CELLS].sort());
    expect(rows.map((r) => r.cell).sort()).toEqual([...cells].sort());
    expect(new Set(rows.map((r) => r.protocol))).toEqual(new Set(['baseline', 'prune', 'fine-tune', 'scratch-E', 'scratch-B']));
    for (const r of rows) {
      expect(r.status, `${r.cell}: ${r.error}`).toBe('ok');
      expect(r).toMatchObject({ experiment: EXPERIMENT, preset: 'smoke', model: 'vgg16', dataset: 'synthetic', seed: 1, error: '' });
    }
  });

  it('records the facts of each run: hash, commit, backend, data fingerprint, base counts', async () => {
    const rows = readResultsCsv(csvPath(main1));
    const config = resolveConfig({ experiment: EXPERIMENT, preset: 'smoke', set: ['baseline.epochs=2'] });
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    // The synthetic set exactly as the smoke preset declares it.
    const s = config.data.synthetic!;
    const fingerprint = syntheticDataset({ numClasses: 10, trainCount: s.trainCount, testCount: s.testCount, seed: 0, height: s.imageSize, width: s.imageSize }).fingerprint;
    const base = countSpec(modelSpec('vgg16', { widthMultiplier: config.widthMultiplier }));
    const backend = (await initBackend({ logger: silentLogger })).name;
    for (const r of rows) {
      expect(r.config_hash).toBe(resumeHash(config));
      expect(r.git_commit).toBe(commit);
      // The backend the same selection picks in this process (wasm here, without tfjs-node).
      expect(r.backend).toBe(backend);
      expect(r.dataset_fingerprint).toBe(fingerprint);
      expect(String(r.tfjs_version)).toBe('4.22.0');
      expect(r.node_version).toBe(process.version);
      expect(r.params_base).toBe(base.params);
      expect(r.macs_base).toBe(base.macs);
      expect(r.flops).toBe(2 * Number(r.macs));
      expect(r.params_reduction_pct).toBeCloseTo(100 * (1 - Number(r.params_effective) / base.params), 2);
      expect(Number(r.top1_final)).toBeGreaterThanOrEqual(0);
      expect(Number(r.top1_final)).toBeLessThanOrEqual(100);
    }
    const baseline = rowOf(rows, 'baseline:vgg16:s1');
    expect(baseline.params).toBe(base.params);
    expect(baseline.epochs_derived).toBe(2);
    const ft = rowOf(rows, 'fine-tune:vgg16-A:s1');
    expect(Number(ft.params)).toBeLessThan(Number(ft.params_base));
    expect(ft.params).toBe(rowOf(rows, 'prune:vgg16-A:s1').params);
    expect(ft.epochs_derived).toBe(config.fineTune.epochs);
    expect(ft.top1_before_finetune).toBe(rowOf(rows, 'prune:vgg16-A:s1').top1_final);
    const scratchE = rowOf(rows, 'scratch-E:vgg16-A:s1');
    expect(scratchE.epochs_derived).toBe(2);
    expect(scratchE.params).toBe(ft.params);
  });

  it("Scratch-B trains floor(E x macs_base / macs) epochs, from the row's own columns", async () => {
    const b = rowOf(readResultsCsv(csvPath(main1)), 'scratch-B:vgg16-A:s1');
    const expected = Math.floor((Number(b.epochs_configured) * Number(b.macs_base)) / Number(b.macs));
    expect(b.epochs_configured).toBe(2);
    expect(b.epochs_derived).toBe(expected);
    // VGG-16-A has ~1.5x fewer MACs: 3 epochs, not 2.
    expect(expected).toBe(3);
    expect(b.macs).toBe(rowOf(readResultsCsv(csvPath(main1)), 'prune:vgg16-A:s1').macs);
  });

  it('writes one JSON record per row, with a curve of one point per trained epoch', async () => {
    const rows = readResultsCsv(csvPath(main1));
    const recs = await records(main1);
    expect(recs).toHaveLength(rows.length);
    for (const rec of recs) {
      const row = rows.find((r) => r.run_id === rec.row.run_id)!;
      expect(row, String(rec.row.run_id)).toBeDefined();
      expect(rec.row.cell).toBe(row.cell);
      expect(rec.row.top1_final).toBe(row.top1_final);
      expect(rec.curve.map((p) => p.epoch)).toEqual(Array.from({ length: Number(row.epochs_derived) }, (_, i) => i + 1));
      // The curve's last test accuracy is the row's final accuracy.
      if (rec.curve.length) expect(rec.curve.at(-1)!.testAcc).toBeCloseTo(Number(row.top1_final), 3);
      expect((rec.config as { baseline: { epochs: number } }).baseline.epochs).toBe(2);
    }
    for (const id of SMOKE_CELLS) {
      const s = await cellStatus(main1, id);
      expect(s?.state).toBe('completed');
      expect(recs.some((r) => r.row.run_id === s?.runId)).toBe(true);
    }
  });

  it('running it again runs nothing: every cell done, no new record, the same CSV', async () => {
    const csvBefore = await readFile(csvPath(main1), 'utf8');
    const before = (await readdir(recordsDir(main1))).sort();
    const again = await runSmoke(main1, set);
    expect(again.code).toBe(0);
    expect(again.out.join('\n')).toContain('5 cells: 5 already done, 0 to run');
    for (const id of SMOKE_CELLS) expect(again.out.some((l) => l.includes(`[done]`) && l.includes(id))).toBe(true);
    expect((await readdir(recordsDir(main1))).sort()).toEqual(before);
    expect(await readFile(csvPath(main1), 'utf8')).toBe(csvBefore);
  });

  it('a fresh run dir names the cells whose results are recorded; --skip-recorded skips them and trains nothing', async () => {
    const fresh = { results: main1.results, run: join(tmp, 'main-fresh-run') };
    const named = await runSmoke(fresh, [...set, '--dry-run']);
    expect(named.out.join('\n')).toContain('5 cells: 0 already done, 5 to run');
    expect(named.out.join('\n')).toContain(`5 of the cells to run have a result recorded in ${main1.results} already`);
    // Another config (here 3 baseline epochs) has no recorded cells.
    const other = await runSmoke(fresh, ['--set', 'baseline.epochs=3', '--skip-recorded', '--dry-run']);
    expect(other.out.join('\n')).toContain('5 cells: 0 already done, 5 to run');

    const csvBefore = await readFile(csvPath(main1), 'utf8');
    const before = (await readdir(recordsDir(main1))).sort();
    const skipped = await runSmoke(fresh, [...set, '--skip-recorded']);
    expect(skipped.code).toBe(0);
    expect(skipped.out.join('\n')).toContain(`5 cells: 5 already done (5 of them recorded in ${main1.results}, not in this run dir), 0 to run`);
    for (const id of SMOKE_CELLS) expect(skipped.out.some((l) => l.startsWith(id) && l.includes('recorded'))).toBe(true);
    expect((await readdir(recordsDir(main1))).sort()).toEqual(before);
    expect(await readFile(csvPath(main1), 'utf8')).toBe(csvBefore);
    // Merging that run dir (Slurm's last job) does not count the skipped cells as missing.
    const merged = await mergeRun(fresh.run);
    expect(merged.missing).toEqual([]);
    expect(merged.rows).toBe(5);
  });

  it('list --skip-recorded counts only what is left of the sweep; --results-dir alone is refused', async () => {
    const listed = async (extra: string[]): Promise<string> => (await cli(['list', EXPERIMENT, '--preset', 'smoke', '--no-estimate', ...extra])).out.join('\n');
    const all = await listed([]);
    expect(all).toMatch(/smoke\s+5 cells, \d+ epochs/);
    expect(all).not.toMatch(/smoke\s+5 cells, 0 epochs/);
    // main1 ran another config (--set baseline.epochs=2): none of its cells counts as recorded.
    expect(await listed(['--skip-recorded', '--results-dir', main1.results])).toContain(`0 of these cells recorded in ${main1.results}`);
    const plain = dirs('list');
    expect((await runSmoke(plain)).code).toBe(0);
    const left = await listed(['--skip-recorded', '--results-dir', plain.results]);
    expect(left).toMatch(/smoke\s+5 cells, 0 epochs/);
    expect(left).toContain(`5 of these cells recorded in ${plain.results} (not counted)`);
    const e = await cliError(['list', EXPERIMENT, '--results-dir', main1.results]);
    expect((e as ConfigError).key).toBe('results-dir');
  });

  it('a run dir holding another config is refused, naming the dir', async () => {
    const e = await cliError(['run', EXPERIMENT, '--preset', 'smoke', '--results-dir', main1.results, '--run-dir', main1.run, '--set', 'baseline.epochs=3']);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).key).toBe('run-dir');
    expect(e.message).toContain(`${main1.run} holds a run of another config`);
    expect(e.message).toContain('use --run-dir for a new run');
    // Seeds are per cell: other seeds of the same config share the run dir.
    const other = await runSmoke(main1, [...set, '--seeds', '2', '--dry-run']);
    expect(other.out.join('\n')).toContain('5 cells: 0 already done, 5 to run');
  });
});

describe('run: plan, dry run and bad requests', () => {
  it('--dry-run prints the plan and writes nothing', async () => {
    const d = dirs('dry');
    const r = await runSmoke(d, ['--dry-run']);
    expect(r.code).toBe(0);
    const text = r.out.join('\n');
    expect(text).toContain('baseline 1 epochs, fine-tune 1 epochs, seeds 1');
    expect(text).toContain('5 cells: 0 already done, 5 to run');
    expect(text).toContain('[todo] stage 1  prune:vgg16-A:s1  <- baseline:vgg16:s1');
    expect(existsSync(d.run)).toBe(false);
    expect(existsSync(d.results)).toBe(false);
  });

  it('--set baseline.epochs=2 changes the plan; --seeds and --only change the cells', async () => {
    const d = dirs('dry');
    const plain = (await runSmoke(d, ['--dry-run'])).out;
    const set = (await runSmoke(d, ['--dry-run', '--set', 'baseline.epochs=2'])).out;
    expect(set[1]).toContain('baseline 2 epochs');
    expect(set[1]).toBe(plain[1]!.replace('baseline 1 epochs', 'baseline 2 epochs'));
    const a = resolveConfig({ experiment: EXPERIMENT, preset: 'smoke' });
    const b = resolveConfig({ experiment: EXPERIMENT, preset: 'smoke', set: ['baseline.epochs=2'] });
    expect(b.baseline.epochs).toBe(2);
    expect(resumeHash(b)).not.toBe(resumeHash(a));
    // Listing latency runtimes adds measurements only: a run started without them resumes.
    expect(resumeHash({ ...a, latencyRuntimes: ['ort'] })).toBe(resumeHash(a));
    expect(Object.isFrozen(b)).toBe(true);
    const seeds = (await runSmoke(d, ['--dry-run', '--seeds', '1,2'])).out.join('\n');
    expect(seeds).toContain('10 cells: 0 already done, 10 to run');
    const only = (await runSmoke(d, ['--dry-run', '--only', 'prune:*'])).out;
    expect(only).toContain('2 cells: 0 already done, 2 to run');
    expect(only.filter((l) => l.includes('[todo]'))).toEqual(['  [todo] stage 0  baseline:vgg16:s1', '  [todo] stage 1  prune:vgg16-A:s1  <- baseline:vgg16:s1']);
    expect(existsSync(d.run)).toBe(false);
  });

  it('bad --set, --seeds, --preset, --only and experiment names are ConfigErrors naming the key', async () => {
    const d = dirs('bad');
    const key = async (extra: string[]): Promise<string | undefined> => {
      const e = await cliError(['run', EXPERIMENT, '--preset', 'smoke', '--dry-run', '--results-dir', d.results, '--run-dir', d.run, ...extra]);
      expect(e).toBeInstanceOf(ConfigError);
      return (e as ConfigError).key;
    };
    expect(await key(['--set', 'nope=1'])).toBe('nope');
    expect(await key(['--set', 'baseline.epochs=abc'])).toBe('baseline.epochs');
    expect(await key(['--set', 'seeds=x'])).toBe('seeds');
    expect(await key(['--set', 'arms.0.pruneRatio=1'])).toBe('arms.0.pruneRatio');
    expect(await key(['--seeds', 'x'])).toBe('seeds');
    expect(await key(['--only', 'nothing:*'])).toBe('only');
    expect(await key(['--preset', 'huge'])).toBe('preset');
    expect(await key(['--executor', 'cloud'])).toBe('executor');
    const unknown = await cliError(['run', 'rethinking-l2', '--preset', 'smoke', '--dry-run']);
    expect(unknown).toMatchObject({ key: 'experiment' });
    expect(unknown.message).toMatch(/Unknown experiment "rethinking-l2"; expected one of .*rethinking-l1/);
    expect(existsSync(d.run)).toBe(false);
  });
});

describe('recordedCells', () => {
  const cells = expandCells(resolveConfig({ experiment: EXPERIMENT, preset: 'smoke' }));
  const ids = (cs: { id: string }[]): string[] => cs.map((c) => c.id).sort();

  it('skips every recorded cell when all are recorded', () => {
    expect(ids(recordedCells(cells, new Set(SMOKE_CELLS)))).toEqual([...SMOKE_CELLS].sort());
  });

  it('still runs a recorded cell that a cell left to run needs (its weights live in the run dir)', () => {
    // Fine-tuning is not recorded: its prune cell and baseline must run; Scratch-B and -E need neither.
    const recorded = new Set(SMOKE_CELLS.filter((id) => !id.startsWith('fine-tune')));
    expect(ids(recordedCells(cells, recorded))).toEqual(['scratch-B:vgg16-A:s1', 'scratch-E:vgg16-A:s1']);
    // Only the prune cell recorded: the fine-tune that reads it is to run, so it runs too.
    expect(recordedCells(cells, new Set(['prune:vgg16-A:s1']))).toEqual([]);
    // Cells done in the run dir are not in todo: a recorded prune cell whose fine-tune is done is skipped.
    const todo = cells.filter((c) => c.id !== 'fine-tune:vgg16-A:s1');
    expect(ids(recordedCells(todo, new Set(['prune:vgg16-A:s1'])))).toEqual(['prune:vgg16-A:s1']);
  });
});

describe('failure handling', () => {
  it('a failed cell is recorded, the sweep goes on, the exit code is 1; a rerun runs only the failed cell', async () => {
    const d = dirs('fail-scratch-e');
    const r = await withEnv('PRUNEBENCH_FAIL_CELLS', 'scratch-E:*', () => runSmoke(d));
    expect(r.code).toBe(1);
    const rows = readResultsCsv(csvPath(d));
    expect(rows).toHaveLength(5);
    const failed = rowOf(rows, 'scratch-E:vgg16-A:s1');
    expect(failed.status).toBe('failed');
    expect(failed.error).toBe('injected failure (PRUNEBENCH_FAIL_CELLS=scratch-E:*)');
    expect(failed.protocol).toBe('scratch-E');
    for (const id of SMOKE_CELLS.filter((c) => !c.startsWith('scratch-E'))) expect(rowOf(rows, id).status).toBe('ok');
    expect((await cellStatus(d, 'scratch-E:vgg16-A:s1'))?.state).toBe('failed');
    expect(r.out.some((l) => l.startsWith('scratch-E:vgg16-A:s1') && l.includes('failed') && l.includes('injected failure'))).toBe(true);
    expect(r.out.at(-1)).toMatch(/^5 cells, 1 failed, /);

    const before = new Set((await records(d)).map((x) => String(x.row.run_id)));
    const again = await runSmoke(d);
    expect(again.code).toBe(0);
    expect(again.out.join('\n')).toContain('5 cells: 4 already done, 1 to run');
    const after = await records(d);
    const fresh = after.filter((x) => !before.has(String(x.row.run_id)));
    expect(fresh.map((x) => x.row.cell)).toEqual(['scratch-E:vgg16-A:s1']);
    expect(fresh[0]!.row.status).toBe('ok');
    expect(after).toHaveLength(before.size + 1);
    for (const id of SMOKE_CELLS) expect((await cellStatus(d, id))?.state).toBe('completed');
  });

  it('a failed baseline fails its dependents with the reason, without running them; cells that need nothing still run', async () => {
    const d = dirs('fail-baseline');
    const r = await withEnv('PRUNEBENCH_FAIL_CELLS', 'baseline:*', () => runSmoke(d));
    expect(r.code).toBe(1);
    const rows = readResultsCsv(csvPath(d));
    expect(rows).toHaveLength(5);
    expect(rowOf(rows, 'baseline:vgg16:s1').error).toMatch(/^injected failure/);
    expect(rowOf(rows, 'prune:vgg16-A:s1').error).toBe('dependency baseline:vgg16:s1 failed');
    expect(rowOf(rows, 'fine-tune:vgg16-A:s1').error).toBe('dependency prune:vgg16-A:s1 failed');
    for (const id of ['baseline:vgg16:s1', 'prune:vgg16-A:s1', 'fine-tune:vgg16-A:s1']) {
      expect(rowOf(rows, id).status).toBe('failed');
      expect((await cellStatus(d, id))?.state).toBe('failed');
    }
    // Nothing was pruned; an L1 profile's Scratch-E/B need neither the baseline nor the prune cell.
    expect(existsSync(join(d.run, 'artifacts', 'prune:vgg16-A:s1'))).toBe(false);
    for (const id of ['scratch-E:vgg16-A:s1', 'scratch-B:vgg16-A:s1']) expect(rowOf(rows, id).status, id).toBe('ok');
  });
});

// ------------------------------------------------------------------------------------------------

async function waitFor<T>(what: string, f: () => Promise<T | null | undefined | false>, timeoutMs: number, everyMs = 50): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

describe('run order', () => {
  it('finishes one seed before starting the next, each chain before more baselines', async () => {
    const d = dirs('order');
    expect((await runSmoke(d, ['--seeds', '1,2'])).code).toBe(0);
    const rows = readResultsCsv(csvPath(d));
    const started = [...rows].sort((a, b) => String(a.started_at).localeCompare(String(b.started_at))).map((r) => r.cell);
    const chain = (s: number): string[] => [`baseline:vgg16:s${s}`, `prune:vgg16-A:s${s}`, `fine-tune:vgg16-A:s${s}`, `scratch-B:vgg16-A:s${s}`, `scratch-E:vgg16-A:s${s}`];
    expect(started).toEqual([...chain(1), ...chain(2)]);
  });
});

describe('the real CLI in separate processes', () => {
  it('killed (SIGKILL) after the baseline completed, a rerun resumes without redoing the baseline', async () => {
    const d = dirs('kill');
    const child = spawn(process.execPath, [BIN, 'run', EXPERIMENT, '--preset', 'smoke', '--jobs', '1', '--no-progress', '--results-dir', d.results, '--run-dir', d.run], {
      cwd: REPO_ROOT,
      stdio: 'ignore',
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    let status: CellStatus;
    try {
      status = await waitFor('the baseline to complete', async () => {
        const s = await cellStatus(d, 'baseline:vgg16:s1');
        return s?.state === 'completed' ? s : null;
      }, 90_000);
    } finally {
      child.kill('SIGKILL');
    }
    expect(await exited).toEqual({ code: null, signal: 'SIGKILL' });
    const doneAtKill = (await Promise.all(SMOKE_CELLS.map((id) => cellStatus(d, id)))).filter((s) => s?.state === 'completed').length;
    // The kill came before the sweep finished (otherwise there is nothing to resume).
    expect(doneAtKill).toBeLessThan(SMOKE_CELLS.length);

    const resumed = await runSmoke(d);
    expect(resumed.code).toBe(0);
    expect(resumed.out.join('\n')).toContain(`5 cells: ${doneAtKill} already done, ${5 - doneAtKill} to run`);
    expect(resumed.out.some((l) => l.includes('[done] stage 0  baseline:vgg16:s1'))).toBe(true);
    const recs = await records(d);
    const baseline = recs.filter((x) => x.row.cell === 'baseline:vgg16:s1');
    expect(baseline).toHaveLength(1);
    expect(baseline[0]!.row.run_id).toBe(status.runId);
    expect((await cellStatus(d, 'baseline:vgg16:s1'))?.runId).toBe(status.runId);
    for (const id of SMOKE_CELLS) {
      expect((await cellStatus(d, id))?.state, id).toBe('completed');
      expect(recs.some((x) => x.row.cell === id && x.row.status === 'ok'), id).toBe(true);
    }
    const rows = readResultsCsv(csvPath(d));
    expect(new Set(rows.map((r) => r.cell))).toEqual(new Set(SMOKE_CELLS));
  });

  it('--jobs 2 runs cells in two processes and finishes the smoke sweep with every cell ok', async () => {
    const d = dirs('jobs2');
    // A real process, so that the runner's own start/done log (stderr) can be read.
    const child = spawn(process.execPath, [BIN, 'run', EXPERIMENT, '--preset', 'smoke', '--jobs', '2', '--no-progress', '--results-dir', d.results, '--run-dir', d.run], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr.on('data', (b: Buffer) => (log += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, log).toBe(0);
    const rows = readResultsCsv(csvPath(d));
    expect(rows.map((x) => x.cell).sort()).toEqual([...SMOKE_CELLS].sort());
    for (const row of rows) expect(row.status, `${row.cell}: ${row.error}`).toBe('ok');
    for (const id of SMOKE_CELLS) expect((await cellStatus(d, id))?.state).toBe('completed');
    // Dependencies were respected: each cell started after the ones it needs finished.
    const t = (cell: string, col: 'started_at' | 'finished_at'): number => Date.parse(String(rowOf(rows, cell)[col]));
    expect(t('prune:vgg16-A:s1', 'started_at')).toBeGreaterThanOrEqual(t('baseline:vgg16:s1', 'finished_at'));
    expect(t('fine-tune:vgg16-A:s1', 'started_at')).toBeGreaterThanOrEqual(t('prune:vgg16-A:s1', 'finished_at'));
    // The baseline and Scratch-B (which needs nothing) were launched before either finished. Read
    // from the runner's log, not from the cells' recorded times: a child's start-up can outlast a
    // smoke cell on a busy machine.
    const events = log.split('\n').flatMap((l) => {
      const m = /^\[[\d:]+\] (start|done) (\S+)/.exec(l);
      return m ? [`${m[1]} ${m[2]}`] : [];
    });
    expect(events, log).toHaveLength(10);
    expect(events.slice(0, 2), log).toEqual(['start baseline:vgg16:s1', 'start scratch-B:vgg16-A:s1']);
  });
});

describe('one run dir, one runner', () => {
  it('a run dir whose cell another live process is training is refused; a running status left by a dead process is resumed', async () => {
    const d = dirs('busy');
    const hash = resumeHash(resolveConfig({ experiment: EXPERIMENT, preset: 'smoke' }));
    // The test runner's parent process: alive, on this host, not this process.
    await writeCellStatus(d.run, 'baseline:vgg16:s1', { state: 'running', configHash: hash, pid: process.ppid, host: hostname() });
    const e = await cliError(['run', EXPERIMENT, '--preset', 'smoke', '--jobs', '1', '--no-progress', '--results-dir', d.results, '--run-dir', d.run]);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain(`is being run by another process: baseline:vgg16:s1 (process ${process.ppid})`);
    expect(existsSync(csvPath(d))).toBe(false);
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    await writeCellStatus(d.run, 'baseline:vgg16:s1', { state: 'running', configHash: hash, pid: dead, host: hostname() });
    expect((await runSmoke(d)).code).toBe(0);
    expect((await cellStatus(d, 'baseline:vgg16:s1'))?.state).toBe('completed');
  });

  it("status shows a running cell's epoch, test accuracy and time left from its checkpoint, and a cell whose process died as interrupted", async () => {
    const d = dirs('status');
    const hash = resumeHash(resolveConfig({ experiment: EXPERIMENT, preset: 'smoke' }));
    await prepareRun({ experiment: EXPERIMENT, preset: 'smoke', resultsDir: d.results, runDir: d.run, progress: false, logger: silentLogger, print: () => {} });
    const id = 'baseline:vgg16:s1';
    // Two of three epochs trained into the cell's checkpoint folder, then the run stops.
    await useWasmBackend();
    const spec: VggSpec = { family: 'vgg', name: 'vgg-micro', cfg: [4, 'M'], head: 'gap', numClasses: 4, input: { height: 8, width: 8, channels: 3 }, bnGammaInit: 0.5 };
    const ds = syntheticDataset({ numClasses: 4, trainCount: 64, testCount: 32, seed: 1, height: 8, width: 8 });
    const model = Model.init(spec, 1);
    await expect(
      trainModel(model, { train: ds.train, test: ds.test, shape: { h: 8, w: 8, c: 3 }, mean: ds.mean, std: ds.std }, { ...DEFAULT_TRAIN_CONFIG, epochs: 3, batchSize: 32, seed: 1 }, {
        progressStream: null,
        logger: silentLogger,
        checkpointDir: cellCheckpointDir(d.run, id),
        onEpoch: (p) => {
          if (p.epoch === 2) throw new Error('stopped');
        },
      }),
    ).rejects.toThrow('stopped');
    model.dispose();
    const testAcc = (await readCheckpointState(cellCheckpointDir(d.run, id)))!.curve[1]!.testAcc;
    const statusLines = async (): Promise<Map<string, string>> => new Map((await cli(['status', d.run])).out.map((l) => [l.split(' ')[0]!, l] as const));

    // Alive on this host (the test runner's parent): running, with its progress.
    await writeCellStatus(d.run, id, { state: 'running', configHash: hash, pid: process.ppid, host: hostname() });
    let lines = await statusLines();
    const m = /^baseline:vgg16:s1\s+running\s+epoch 2\/3, test (\d+\.\d\d)%, (\d+:\d\d) per epoch, ~(\d+:\d\d) left$/.exec(lines.get(id) ?? '');
    expect(m, lines.get(id)).not.toBeNull();
    expect(Number(m![1])).toBeCloseTo(testAcc, 2);
    // One epoch is left, so the time left is one epoch's time.
    expect(m![3]).toBe(m![2]);
    for (const other of SMOKE_CELLS.filter((c) => c !== id)) expect(lines.get(other), other).toMatch(/\snot run\s*$/);

    // Its process gone: interrupted, and where a rerun resumes; a cell without a checkpoint starts over.
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    await writeCellStatus(d.run, id, { state: 'running', configHash: hash, pid: dead, host: hostname() });
    await writeCellStatus(d.run, 'scratch-B:vgg16-A:s1', { state: 'running', configHash: hash, pid: dead, host: hostname() });
    lines = await statusLines();
    expect(lines.get(id)).toMatch(/^baseline:vgg16:s1\s+interrupted\s+stopped after epoch 2\/3: `prunebench run` resumes it there$/);
    expect(lines.get('scratch-B:vgg16-A:s1')).toMatch(/\sinterrupted\s+no checkpoint yet: `prunebench run` starts it over$/);
    // The last line counts the cells per state.
    const total = lines.get('5') ?? '';
    expect(total).toMatch(/^5 cells: /);
    expect(total).toContain('2 interrupted');
    expect(total).toContain('3 not run');

    // On another host the pid says nothing about the process: still reported as running.
    await writeCellStatus(d.run, id, { state: 'running', configHash: hash, pid: dead, host: `not-${hostname()}` });
    expect((await statusLines()).get(id)).toMatch(/^baseline:vgg16:s1\s+running\s+epoch 2\/3, /);
  });

  it('SIGTERM to a --jobs 2 sweep stops its cell processes too (none keeps training unseen)', async () => {
    const d = dirs('sigterm');
    const child = spawn(process.execPath, [BIN, 'run', EXPERIMENT, '--preset', 'smoke', '--jobs', '2', '--no-progress', '--set', 'baseline.epochs=100000', '--results-dir', d.results, '--run-dir', d.run], {
      cwd: REPO_ROOT,
      stdio: 'ignore',
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    let cellPid: number | undefined;
    try {
      cellPid = await waitFor('the baseline cell process', async () => (await cellStatus(d, 'baseline:vgg16:s1'))?.pid, 60_000);
      expect(cellPid).not.toBe(child.pid);
      expect(alive(cellPid)).toBe(true);
      child.kill('SIGTERM');
      expect(await exited).toEqual({ code: 143, signal: null });
      await waitFor('the cell process to exit', async () => !alive(cellPid!), 10_000);
    } finally {
      child.kill('SIGKILL');
      // A failed assertion must not leave the 100,000-epoch cell running.
      if (cellPid !== undefined && alive(cellPid)) process.kill(cellPid, 'SIGKILL');
    }
  });
});

describe('run without the data set', () => {
  it('stops before any cell with one DatasetError naming where to put the files, and writes no results', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prunebench-nodata-'));
    const empty = join(dir, 'empty');
    await import('node:fs/promises').then((fs) => fs.mkdir(empty));
    const io = { out: () => {}, err: () => {} };
    await expect(
      main(['run', 'quickstart', '--preset', 'small', '--jobs', '1', '--no-progress', '--data-dir', empty, '--results-dir', join(dir, 'results'), '--run-dir', join(dir, 'run')], io),
    ).rejects.toThrow(/data_batch_1\.bin/);
    expect(existsSync(join(dir, 'results'))).toBe(false);
    await rm(dir, { recursive: true, force: true });
  });
});

describe('run --threads', () => {
  it('records the thread count in the plan and the cells run with it; --threads 0 is refused', async () => {
    const d = dirs('threads');
    const r = await runSmoke(d, ['--only', 'baseline:*', '--threads', '2']);
    expect(r.code).toBe(0);
    const plan = JSON.parse(await readFile(join(d.run, 'plan.json'), 'utf8')) as { threads?: number };
    expect(plan.threads).toBe(2);
    expect((await cellStatus(d, 'baseline:vgg16:s1'))?.state).toBe('completed');
    const [record] = await records(d);
    if (record!.row.backend === 'onednn') expect(record!.backendDetail).toMatch(/, 2 threads$/);
    expect(await cliError(['run', EXPERIMENT, '--preset', 'smoke', '--threads', '0', '--run-dir', d.run])).toMatchObject({ key: 'threads' });
  });
});
