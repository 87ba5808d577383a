import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.ts';
import { runZooCommand } from '../cli/zoo.ts';
import { baselineHash, baselineKey } from '../protocols/index.ts';
import { readResultsCsv, type RunRecord, type RunRow } from '../results/index.ts';
import { resolveConfig, runExperiment, type RunSummary } from '../run/index.ts';
import { PrunebenchError } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import { REPO_ZOO_DIR, ZOO_MAX_FILE_BYTES, type ZooIndex } from './store.ts';
import { thrownError } from '../testing/errors.ts';

const EXPERIMENT = 'rethinking-l1';
const BASE = 'baseline:vgg16:s1';
const PRUNE = 'prune:vgg16-A:s1';
const tmp = mkdtempSync(join(tmpdir(), 'prunebench-zoo-'));
afterAll(async () => rm(tmp, { recursive: true, force: true }));

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const readIndex = (dir: string): ZooIndex => JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as ZooIndex;

async function cli(argv: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const code = await main(argv, { out: (l) => out.push(...l.split('\n')), err: () => {} });
  return { code, out };
}

/** The error a command throws (it must throw one). */
const cliError = (argv: string[]): Promise<PrunebenchError> => thrownError(() => cli(argv), argv.join(' '));

/** A smoke run of the baseline and the prune cell, in this process; its log lines and plan. */
async function smokeRun(name: string, baselines?: string): Promise<{ results: string; run: string; log: string[]; plan: string[]; summary: RunSummary }> {
  const d = { results: join(tmp, name, 'results'), run: join(tmp, name, 'run') };
  const log: string[] = [];
  const plan: string[] = [];
  const logger: Logger = { info: (m) => log.push(m), warn: (m) => log.push(`warning: ${m}`) };
  const s = await runExperiment({ experiment: EXPERIMENT, preset: 'smoke', only: [PRUNE], jobs: 1, progress: false, resultsDir: d.results, runDir: d.run, logger, print: (l) => plan.push(...l.split('\n')), ...(baselines ? { baselines } : {}) });
  expect(s.cells.map((c) => `${c.id} ${c.state}${c.error ? `: ${c.error}` : ''}`)).toEqual([`${BASE} completed`, `${PRUNE} completed`]);
  return { ...d, log, plan, summary: s };
}

async function recordOf(results: string, cell: string): Promise<RunRecord> {
  const dir = join(results, EXPERIMENT, 'runs');
  const all = await Promise.all((await readdir(dir)).map(async (f) => JSON.parse(await readFile(join(dir, f), 'utf8')) as RunRecord));
  const mine = all.filter((r) => r.row.cell === cell);
  expect(mine).toHaveLength(1);
  return mine[0]!;
}

const rowOf = (results: string, cell: string): RunRow => readResultsCsv(join(results, `${EXPERIMENT}.csv`)).find((r) => r.cell === cell)!;
const trainedDir = (runDir: string): string => join(runDir, 'artifacts', BASE, 'trained');

describe('the model zoo (smoke preset)', () => {
  let first: Awaited<ReturnType<typeof smokeRun>>;
  const zoo = join(tmp, 'zoo');

  beforeAll(async () => {
    first = await smokeRun('first');
  });

  it('zoo add copies a completed baseline, with each file sha256, its key, hash and provenance', async () => {
    const r = await cli(['zoo', 'add', '--run-dir', first.run, '--cell', BASE, '--zoo', zoo]);
    expect(r.code).toBe(0);
    const index = readIndex(zoo);
    expect(index.entries).toHaveLength(1);
    const e = index.entries[0]!;
    const config = resolveConfig({ experiment: EXPERIMENT, preset: 'smoke' });
    const row = rowOf(first.results, BASE);
    const record = await recordOf(first.results, BASE);
    expect(e).toMatchObject({
      ...baselineKey(config, 'vgg16', false, 1),
      baselineHash: baselineHash(config, 'vgg16', false, 1),
      configHash: row.config_hash,
      top1Final: row.top1_final,
      gitCommit: row.git_commit,
      backend: row.backend,
      backendDetail: record.backendDetail ?? '',
      wallTimeS: row.wall_time_s,
      initSha256: sha256(join(first.run, 'artifacts', BASE, 'init', 'weights.bin')),
      source: { experiment: EXPERIMENT, cell: BASE, runId: row.run_id },
    });
    // Each checksum is the source file's, computed here with node's crypto.
    const source: Record<string, string> = {
      'trained/spec.json': join(trainedDir(first.run), 'spec.json'),
      'trained/weights.json': join(trainedDir(first.run), 'weights.json'),
      'trained/weights.bin': join(trainedDir(first.run), 'weights.bin'),
      'record.json': join(first.results, EXPERIMENT, 'runs', readdirNamed(join(first.results, EXPERIMENT, 'runs'), 'baseline')),
    };
    expect(e.files.map((f) => f.path).sort()).toEqual(Object.keys(source).sort());
    for (const f of e.files) {
      expect(f.sha256, f.path).toBe(sha256(source[f.path]!));
      expect(f.bytes).toBe(readFileSync(source[f.path]!).byteLength);
    }
  });

  it('refuses the same baseline twice unless --force, and cells that are not completed baselines', async () => {
    const dup = await cliError(['zoo', 'add', '--run-dir', first.run, '--cell', BASE, '--zoo', zoo]);
    expect(dup.message).toMatch(/already holds this baseline .*--force replaces it/);
    expect((await cli(['zoo', 'add', '--run-dir', first.run, '--cell', BASE, '--zoo', zoo, '--force'])).code).toBe(0);
    expect(readIndex(zoo).entries).toHaveLength(1);
    expect((await cliError(['zoo', 'add', '--run-dir', first.run, '--cell', PRUNE, '--zoo', zoo])).message).toMatch(/is a prune cell; the zoo takes trained baselines \(baseline:vgg16:s1\)/);
    expect((await cliError(['zoo', 'add', '--run-dir', first.run, '--cell', 'baseline:vgg16:s9', '--zoo', zoo])).message).toMatch(/no such cell in the run .*its baselines: baseline:vgg16:s1/);
    // The repository's zoo takes cpu-preset baselines only.
    expect((await cliError(['zoo', 'add', '--run-dir', first.run, '--cell', BASE])).message).toMatch(/only cpu-preset baselines, and this run is preset smoke/);
    expect(existsSync(join(REPO_ZOO_DIR, 'vgg16-x0.0625-synthetic-smoke-s1-' + readIndex(zoo).entries[0]!.baselineHash))).toBe(false);
    // A run folder whose baseline has not run.
    const notRun = join(tmp, 'not-run');
    cpSync(first.run, notRun, { recursive: true });
    await rm(join(notRun, 'cells', BASE, 'status.json'));
    expect((await cliError(['zoo', 'add', '--run-dir', notRun, '--cell', BASE, '--zoo', zoo])).message).toMatch(/has not completed .*\(not run\)/);
    // A baseline trained under an override would be filed under the wrong preset.
    const overridden = join(tmp, 'overridden');
    cpSync(first.run, overridden, { recursive: true });
    const plan = JSON.parse(readFileSync(join(overridden, 'plan.json'), 'utf8')) as { config: { baseline: { epochs: number } } };
    plan.config.baseline.epochs = 2;
    writeFileSync(join(overridden, 'plan.json'), JSON.stringify(plan));
    expect((await cliError(['zoo', 'add', '--run-dir', overridden, '--cell', BASE, '--zoo', zoo])).message).toMatch(/other than preset smoke of rethinking-l1 as declared now/);
  });

  it('refuses a file over 5 MB and leaves the zoo as it was', async () => {
    const big = join(tmp, 'big');
    cpSync(first.run, big, { recursive: true });
    writeFileSync(join(trainedDir(big), 'weights.bin'), Buffer.alloc(ZOO_MAX_FILE_BYTES + 1));
    const bigZoo = join(tmp, 'big-zoo');
    const e = await cliError(['zoo', 'add', '--run-dir', big, '--cell', BASE, '--zoo', bigZoo]);
    expect(e.message).toContain(`weights.bin has ${ZOO_MAX_FILE_BYTES + 1} bytes, over the zoo's limit of ${ZOO_MAX_FILE_BYTES}`);
    expect(existsSync(bigZoo)).toBe(false);
  });

  it('zoo list gives model, width, preset, seed, top-1, commit, backend and hash prefix of each entry', async () => {
    const out: string[] = [];
    const code = await runZooCommand(['list', '--zoo', zoo], { out: (l) => out.push(...l.split('\n')), err: () => {} });
    expect(code).toBe(0);
    const e = readIndex(zoo).entries[0]!;
    expect(out[0]!.split(/\s+/)).toEqual(['model', 'width', 'data', 'preset', 'seed', 'top-1', '%', 'commit', 'backend', 'hash', 'id']);
    const cols = out[1]!.split(/\s{2,}/);
    expect(cols.slice(0, 6)).toEqual(['vgg16', '0.0625', 'synthetic', 'smoke', '1', e.top1Final.toFixed(2)]);
    expect(cols[6]).toBe(e.gitCommit.slice(0, 7) + (e.gitDirty ? '+dirty' : ''));
    expect(cols[7]!.startsWith(e.backend)).toBe(true);
    expect(cols.slice(-2)).toEqual([e.baselineHash.slice(0, 8), e.id]);
    expect(out[2]).toBe(`1 baselines in ${zoo}`);
  });

  describe('run --baselines', () => {
    let second: Awaited<ReturnType<typeof smokeRun>>;
    beforeAll(async () => {
      second = await smokeRun('second', zoo);
    });

    it('plans the baseline from the zoo and trains nothing for it', async () => {
      const entry = readIndex(zoo).entries[0]!;
      expect(second.plan).toContain(`  [zoo ] stage 0  ${BASE}  (from zoo entry ${entry.id})`);
      expect(second.plan.some((l) => l.includes(`2 to run, 1 of them baselines taken from the zoo ${zoo} (1 epochs not trained)`))).toBe(true);
      // The first run's baseline logged its training epoch; the second's none.
      expect(first.log.filter((l) => l.startsWith(`${BASE} epoch`))).toHaveLength(1);
      expect(second.log.filter((l) => l.startsWith(`${BASE} epoch`))).toEqual([]);
      expect(second.summary.cells.find((c) => c.id === BASE)?.zoo).toBe(entry.id);
      expect(first.summary.cells.find((c) => c.id === BASE)?.zoo).toBeUndefined();
      const record = await recordOf(second.results, BASE);
      const source = await recordOf(first.results, BASE);
      expect(record.baselineSource).toMatchObject({ zoo, entry: entry.id, baselineHash: entry.baselineHash, experiment: EXPERIMENT, cell: BASE, runId: source.row.run_id, startedAt: source.row.started_at });
      // The row: this run's identity, the source's measurements and provenance.
      expect(record.row.run_id).not.toBe(source.row.run_id);
      for (const c of ['top1_final', 'wall_time_s', 'git_commit', 'backend', 'params', 'macs', 'dataset_fingerprint'] as const) expect(record.row[c], c).toBe(source.row[c]);
      expect(record.curve).toEqual(source.curve);
      expect(rowOf(second.results, BASE).top1_final).toBe(rowOf(first.results, BASE).top1_final);
      // The trained weights are the first run's bytes; the initial weights regenerated from the seed are the ones it started from.
      expect(sha256(join(trainedDir(second.run), 'weights.bin'))).toBe(sha256(join(trainedDir(first.run), 'weights.bin')));
      expect(sha256(join(second.run, 'artifacts', BASE, 'init', 'weights.bin'))).toBe(entry.initSha256);
    });

    it('whose prune cell gives the same pruned accuracy as the first run', () => {
      const a = rowOf(first.results, PRUNE);
      const b = rowOf(second.results, PRUNE);
      expect(b.status).toBe('ok');
      expect(b.top1_before_finetune).toBe(a.top1_before_finetune);
      expect(b.params).toBe(a.params);
    });

    it('reports a zoo entry for the same model and seed that does not match, and trains the baseline', async () => {
      const out = await cli(['run', EXPERIMENT, '--preset', 'smoke', '--set', 'baseline.epochs=2', '--only', PRUNE, '--dry-run', '--baselines', zoo, '--run-dir', join(tmp, 'other'), '--results-dir', join(tmp, 'other-results')]);
      expect(out.code).toBe(0);
      const entry = readIndex(zoo).entries[0]!;
      const config = resolveConfig({ experiment: EXPERIMENT, preset: 'smoke', set: ['baseline.epochs=2'] });
      expect(out.out).toContain(`  [todo] stage 0  ${BASE}`);
      expect(out.out).toContain(`  zoo: ${BASE}: zoo entry ${entry.id} not used: baseline hash ${entry.baselineHash} vs ${baselineHash(config, 'vgg16', false, 1)} (same key, another baseline config: epochs, lr, data or spec)`);
    });

    it('stops before training anything when a file does not match its sha256, naming the file', async () => {
      const bad = join(tmp, 'bad-zoo');
      cpSync(zoo, bad, { recursive: true });
      const entry = readIndex(bad).entries[0]!;
      const weights = join(bad, entry.id, 'trained', 'weights.bin');
      const bytes = readFileSync(weights);
      bytes[100] = bytes[100]! ^ 1;
      writeFileSync(weights, bytes);
      const runDir = join(tmp, 'bad-run');
      const e = await cliError(['run', EXPERIMENT, '--preset', 'smoke', '--only', PRUNE, '--jobs', '1', '--no-progress', '--baselines', bad, '--run-dir', runDir, '--results-dir', join(tmp, 'bad-results')]);
      expect(e.message).toContain(`zoo entry ${entry.id}: ${weights} has sha256 ${sha256(weights)}, the index says ${entry.files.find((f) => f.path === 'trained/weights.bin')!.sha256}; nothing was trained`);
      expect(existsSync(join(runDir, 'plan.json'))).toBe(false);
      expect(existsSync(join(tmp, 'bad-results'))).toBe(false);
      // zoo verify names it too.
      const out: string[] = [];
      expect(await runZooCommand(['verify', '--zoo', bad], { out: (l) => out.push(...l.split('\n')), err: () => {} })).toBe(1);
      expect(out).toContain(`FAIL ${entry.id}`);
      expect(out.some((l) => l.includes(`${weights} has sha256 ${sha256(weights)}`))).toBe(true);
      const good: string[] = [];
      expect(await runZooCommand(['verify', '--zoo', zoo], { out: (l) => good.push(...l.split('\n')), err: () => {} })).toBe(0);
      expect(good[0]).toBe(`ok   ${entry.id} (4 files)`);
    });

    it("serves another experiment's smoke preset (rethinking-lottery), whose lottery ticket needs the baseline's initial weights", async () => {
      const entry = readIndex(zoo).entries[0]!;
      const lottery = async (name: string, zooDir: string) => {
        const d = join(tmp, name);
        const log: string[] = [];
        const s = await runExperiment({ experiment: 'rethinking-lottery', preset: 'smoke', only: ['lottery-ticket:vgg16-A:s1'], jobs: 1, progress: false, baselines: zooDir, resultsDir: join(d, 'results'), runDir: join(d, 'run'), logger: { info: (m) => log.push(m), warn: (m) => log.push(m) }, print: () => {} });
        return { cells: new Map(s.cells.map((c) => [c.id, c])), log };
      };
      const ok = await lottery('lottery', zoo);
      expect(ok.cells.get(BASE)?.state).toBe('completed');
      expect(ok.cells.get('lottery-ticket:vgg16-A:s1')?.state).toBe('completed');
      expect(ok.log.filter((l) => l.startsWith(`${BASE} epoch`))).toEqual([]);
      // Initial weights the code no longer generates: refused where a lottery ticket needs them.
      const changed = join(tmp, 'init-zoo');
      cpSync(zoo, changed, { recursive: true });
      const index = readIndex(changed);
      index.entries[0]!.initSha256 = '0'.repeat(64);
      writeFileSync(join(changed, 'index.json'), JSON.stringify(index));
      const bad = await lottery('lottery-init', changed);
      expect(bad.cells.get(BASE)?.state).toBe('failed');
      expect(bad.cells.get(BASE)?.error).toContain(`zoo entry ${entry.id} (${join(changed, entry.id)}): the initial weights regenerated for seed 1 differ from those it was trained from`);
      expect(bad.cells.get('lottery-ticket:vgg16-A:s1')?.error).toMatch(/^dependency (baseline:vgg16:s1|prune:vgg16-A:s1) failed$/);
    });

    it('refuses a --baselines folder that is not a zoo, with one error naming the flag', async () => {
      const e = await cliError(['run', EXPERIMENT, '--preset', 'smoke', '--dry-run', '--baselines', tmp, '--run-dir', join(tmp, 'x')]);
      expect(e.message).toBe(`--baselines ${tmp}: no index.json, so not a prunebench model zoo (\`prunebench zoo add\` makes one)`);
      expect((await cliError(['run', EXPERIMENT, '--preset', 'smoke', '--dry-run', '--baselines', join(tmp, 'nope')])).message).toBe(`--baselines ${join(tmp, 'nope')}: no such folder`);
    });
  });
});

/** The one file in `dir` whose name starts with `prefix`. */
function readdirNamed(dir: string, prefix: string): string {
  const names = readdirSync(dir).filter((f) => f.startsWith(prefix));
  expect(names).toHaveLength(1);
  return names[0]!;
}
