import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUILD_STAMP, buildIsFresh } from '../../bin/build-check.js';
import { REPO_ROOT } from '../util/repo.ts';

/**
 * Start-up: the quick commands answer without loading TensorFlow.js, the backends, onnxruntime or
 * the report's renderer (seconds to load), and bin/prunebench.js runs the compiled dist/ only while
 * it is newer than every source. What a process loaded is read from the trace of
 * src/testing/module-trace.mjs, not from a clock: timings are `npm run bench:startup`'s job.
 */

const tmp = mkdtempSync(join(tmpdir(), 'prunebench-startup-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TRACER = join(REPO_ROOT, 'src', 'testing', 'module-trace.mjs');
/** Packages that cost seconds to load, and that only the commands doing real work may load. */
const HEAVY = /node_modules\/(@tensorflow\/|onnxruntime|vega|@resvg\/|webgpu|prunebench-onednn)/;

let traces = 0;
/** Runs `node <nodeArgs>` with the tracer; its exit code, output and the module URLs it imported. */
function traced(nodeArgs: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string; modules: string[] }> {
  const trace = join(tmp, `trace-${traces++}.txt`);
  writeFileSync(trace, '');
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', TRACER, ...nodeArgs], { cwd: REPO_ROOT, env: { ...process.env, ...env, PRUNEBENCH_MODULE_TRACE: trace } }, (e, stdout, stderr) => {
      const modules = readFileSync(trace, 'utf8').split('\n').filter(Boolean);
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stdout, stderr, modules });
    });
  });
}

const heavyIn = (modules: string[]): string[] => [...new Set(modules.filter((m) => HEAVY.test(m)).map((m) => m.replace(/.*node_modules\//, '').split('/').slice(0, 2).join('/')))];

describe('quick commands load no heavy module', () => {
  it('--help, every command --help, models and inspect (the sources, in one process)', async () => {
    // One process for all of them: the sources through tsx, as the tests see them (dist/ may be stale).
    const script = `
      const { COMMANDS, runCli } = await import(${JSON.stringify(join(REPO_ROOT, 'src', 'cli', 'main.ts'))});
      const out = [];
      const io = { out: (l) => out.push(l), err: (l) => out.push('ERR ' + l) };
      const codes = [await runCli(['--help'], io), await runCli(['models'], io), await runCli(['inspect', 'vgg16'], io), await runCli(['inspect', 'resnet20', '--json'], io)];
      for (const c of COMMANDS) codes.push(await runCli([c.name, '--help'], io));
      console.log(JSON.stringify({ codes, commands: COMMANDS.length, out }));`;
    const r = await traced(['--import', 'tsx', '--input-type=module', '-e', script]);
    expect(r.stderr).toBe('');
    const { codes, commands, out } = JSON.parse(r.stdout) as { codes: number[]; commands: number; out: string[] };
    expect(codes).toEqual(new Array(4 + commands).fill(0));
    expect(out.join('\n')).toContain('vgg16: params 14987722');
    expect(out.join('\n')).toContain('usage: prunebench run-cell');
    expect(r.modules.some((m) => m.endsWith('/src/cli/main.ts'))).toBe(true);
    expect(heavyIn(r.modules)).toEqual([]);
  });

  it.each([['--help'], ['models'], ['inspect', 'vgg16'], ['zoo', 'list']])('bin/prunebench.js %s', async (...args) => {
    const r = await traced([join(REPO_ROOT, 'bin', 'prunebench.js'), ...args]);
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(0);
    expect(heavyIn(r.modules)).toEqual([]);
  });

  it('list --no-estimate: computes the pruned shapes once (TensorFlow.js), then answers from the shape table without it', async () => {
    // The table npm install builds in dist/ (scripts/build.mjs), here in a file of the test's own.
    const env = { PRUNEBENCH_SHAPE_TABLE: join(tmp, 'shape-table.json') };
    const args = [join(REPO_ROOT, 'bin', 'prunebench.js'), 'list', 'rethinking-l1', 'tradeoff-criteria', '--preset', 'smoke', '--preset', 'cpu', '--no-estimate'];
    const first = await traced(args, env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/cpu +30 cells, 708 epochs/); // rethinking-l1's Scratch-B epochs come from the pruned MACs
    expect(heavyIn(first.modules)).toContain('@tensorflow/tfjs-core');
    const second = await traced(args, env);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(heavyIn(second.modules)).toEqual([]);
    // A broken table is recomputed, not trusted.
    writeFileSync(env.PRUNEBENCH_SHAPE_TABLE, '{"version":1,"shapes":[["x"');
    const third = await traced(args, env);
    expect(third.stdout).toBe(first.stdout);
    expect(heavyIn(third.modules)).toContain('@tensorflow/tfjs-core');
  });

  it('the trace does see TensorFlow.js where a command loads it (export)', async () => {
    // export starts the cpu backend before it reads --weights: the control that the trace works.
    const r = await traced([join(REPO_ROOT, 'bin', 'prunebench.js'), 'export', '--weights', join(tmp, 'missing'), '--format', 'onnx', '--out', join(tmp, 'out.onnx')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^error: /m);
    expect(heavyIn(r.modules)).toContain('@tensorflow/tfjs-core');
  });
});

describe('the build is run only while it is current (bin/build-check.js)', () => {
  /** A folder laid out as the repository: sources, configs, and a build stamped at `startedAt`. */
  function fakeRepo(name: string, startedAt: number | undefined): string {
    const root = join(tmp, name);
    for (const d of ['src/cli', 'experiments', 'dist']) mkdirSync(join(root, d), { recursive: true });
    for (const f of ['tsconfig.json', 'tsconfig.build.json', 'src/cli/a.ts', 'src/cli/a.test.ts', 'experiments/e.ts']) {
      writeFileSync(join(root, f), '');
      utimesSync(join(root, f), new Date(1000_000), new Date(1000_000));
    }
    if (startedAt !== undefined) writeFileSync(join(root, BUILD_STAMP), JSON.stringify({ startedAt }));
    return root;
  }
  const touch = (path: string, ms: number) => utimesSync(path, new Date(ms), new Date(ms));

  it('fresh when every source is older than the build start', () => {
    expect(buildIsFresh(fakeRepo('fresh', 2000_000))).toBe(true);
  });

  it('stale when any source or build config changed after the build started', () => {
    for (const f of ['src/cli/a.ts', 'experiments/e.ts', 'tsconfig.json', 'tsconfig.build.json']) {
      const root = fakeRepo(`stale-${f.replace(/\W/g, '-')}`, 2000_000);
      touch(join(root, f), 2000_001);
      expect(buildIsFresh(root), f).toBe(false);
    }
    const added = fakeRepo('added', 2000_000);
    mkdirSync(join(added, 'src', 'new'));
    writeFileSync(join(added, 'src', 'new', 'b.ts'), '');
    expect(buildIsFresh(added)).toBe(false);
  });

  it('a test file is not built, so editing one keeps the build', () => {
    const root = fakeRepo('test-edit', 2000_000);
    touch(join(root, 'src/cli/a.test.ts'), 3000_000);
    expect(buildIsFresh(root)).toBe(true);
  });

  it('stale without a stamp (never built, or tsc failed) or with a broken one', () => {
    expect(buildIsFresh(fakeRepo('unbuilt', undefined))).toBe(false);
    const broken = fakeRepo('broken', 2000_000);
    writeFileSync(join(broken, BUILD_STAMP), '{"startedAt": ');
    expect(buildIsFresh(broken)).toBe(false);
  });

  it('bin/prunebench.js runs dist/ while fresh, and the sources through tsx once a source is newer', async () => {
    // A repository whose build and sources say which one ran.
    const root = fakeRepo('bin', Date.now() + 60_000);
    mkdirSync(join(root, 'bin'));
    for (const f of ['prunebench.js', 'build-check.js']) copyFileSync(join(REPO_ROOT, 'bin', f), join(root, 'bin', f));
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
    writeFileSync(join(root, 'package.json'), '{"type": "module"}');
    mkdirSync(join(root, 'dist', 'src', 'cli'), { recursive: true });
    writeFileSync(join(root, 'dist', 'src', 'cli', 'main.js'), "export async function runCli(argv, io) { io.out('dist ' + argv.join(' ')); return 0; }\n");
    const source = join(root, 'src', 'cli', 'main.ts');
    writeFileSync(source, "export async function runCli(argv: string[], io: { out(l: string): void }): Promise<number> { io.out('source ' + argv.join(' ')); return 3; }\n");
    touch(source, 1000_000);
    const run = (env: Record<string, string> = {}) =>
      new Promise<{ code: number; stdout: string }>((resolve) =>
        execFile(process.execPath, [join(root, 'bin', 'prunebench.js'), 'models'], { env: { ...process.env, ...env } }, (e, stdout) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stdout })),
      );
    expect(await run()).toEqual({ code: 0, stdout: 'dist models\n' });
    expect(await run({ PRUNEBENCH_FROM_SOURCE: '1' })).toEqual({ code: 3, stdout: 'source models\n' });
    touch(source, Date.now() + 120_000);
    expect(await run()).toEqual({ code: 3, stdout: 'source models\n' });
  });
});

describe('a closed pipe', () => {
  it('ends the CLI quietly when its reader stops early (prunebench models | head -1)', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'prunebench.js'), 'models'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Close our end at the first chunk, as `head -1` does, before the CLI has written everything.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(code).toBe(0);
  }, 60_000);
});
