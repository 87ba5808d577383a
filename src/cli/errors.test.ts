import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, REPO_ROOT } from '../run/index.ts';
import { ConfigError } from '../util/errors.ts';
import { COMMANDS, main } from './main.ts';
import { captureCli } from '../testing/cli.ts';

/**
 * Every command, given a path that does not exist or cannot be read (a file where a folder is
 * expected, a folder where a file is), answers with one `error:` line naming the path and exits
 * non-zero, without a stack trace.
 */

const tmp = mkdtempSync(join(tmpdir(), 'prunebench-cli-errors-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const MISSING = join(tmp, 'does-not-exist');
const A_FILE = join(tmp, 'a-file');
writeFileSync(A_FILE, 'not a folder\n');
/** A saved-model folder whose spec.json is a folder: reading it fails with EISDIR. */
const SPEC_IS_DIR = join(tmp, 'spec-is-a-folder');
mkdirSync(join(SPEC_IS_DIR, 'spec.json'), { recursive: true });
/** A run dir whose plan.json is not JSON. */
const BAD_PLAN = join(tmp, 'bad-plan');
mkdirSync(BAD_PLAN);
writeFileSync(join(BAD_PLAN, 'plan.json'), '{"experiment": ');
const FIXTURES = fileURLToPath(new URL('../report/fixtures/results/', import.meta.url));
const root = process.getuid?.() === 0;

/** Commands that take no path. */
const NO_PATH = ['list', 'models', 'bench'];

const prune = ['--backend', 'cpu', '--model', 'vgg-tiny', '--method', 'l1', '--prune-ratio', '0.5'];
const sens = ['--backend', 'cpu', '--model', 'vgg-tiny'];
const smoke = ['quickstart', '--preset', 'smoke', '--no-progress'];
/** [argv, the path the error must name] per command. */
const CASES: Record<string, [string[], string][]> = {
  prune: [
    [[...prune, '--weights', MISSING, '--out', join(tmp, 'out')], MISSING],
    [[...prune, '--weights', A_FILE, '--out', join(tmp, 'out')], A_FILE],
    [[...prune, '--weights', SPEC_IS_DIR, '--out', join(tmp, 'out')], join(SPEC_IS_DIR, 'spec.json')],
    [[...prune, '--out', join(A_FILE, 'out')], join(A_FILE, 'out')],
  ],
  sensitivity: [
    [[...sens, '--weights', MISSING, '--out', join(tmp, 'sens')], MISSING],
    [[...sens, '--weights', A_FILE, '--out', join(tmp, 'sens')], A_FILE],
    [[...sens, '--weights', SPEC_IS_DIR, '--out', join(tmp, 'sens')], join(SPEC_IS_DIR, 'spec.json')],
    [[...sens, '--weights', SPEC_IS_DIR, '--data-dir', MISSING, '--out', join(tmp, 'sens')], MISSING],
  ],
  inspect: [
    [['--spec', MISSING], MISSING],
    [['--spec', A_FILE], A_FILE],
    [['--spec', SPEC_IS_DIR], join(SPEC_IS_DIR, 'spec.json')],
  ],
  run: [
    [[...smoke, '--dry-run', '--data-dir', MISSING], MISSING],
    [[...smoke, '--data-dir', A_FILE], A_FILE],
    [[...smoke, '--dry-run', '--baselines', MISSING], MISSING],
    [[...smoke, '--dry-run', '--baselines', SPEC_IS_DIR, '--run-dir', join(tmp, 'run-zoo')], SPEC_IS_DIR],
    [[...smoke, '--run-dir', join(A_FILE, 'run')], join(A_FILE, 'run')],
    [[...smoke, '--results-dir', join(A_FILE, 'results'), '--run-dir', join(tmp, 'run-ok')], join(A_FILE, 'results')],
  ],
  'run-cell': [
    [['--run-dir', MISSING, '--cell', 'x'], MISSING],
    [['--run-dir', A_FILE, '--index', '0'], A_FILE],
    [['--run-dir', BAD_PLAN, '--cell', 'x'], join(BAD_PLAN, 'plan.json')],
  ],
  merge: [
    [['--run-dir', MISSING], MISSING],
    [['--run-dir', BAD_PLAN], join(BAD_PLAN, 'plan.json')],
  ],
  status: [
    [[MISSING], MISSING],
    [[A_FILE], A_FILE],
  ],
  report: [
    [['rethinking-l1', '--results-dir', MISSING], MISSING],
    [['rethinking-l1', '--results-dir', FIXTURES, '--out', join(A_FILE, 'reports')], join(A_FILE, 'reports')],
    [['rethinking-l1', '--results-dir', FIXTURES, '--out', A_FILE], A_FILE],
  ],
  collect: [
    [['rethinking-l1', '--from', MISSING], MISSING],
    [['rethinking-l1', '--from', A_FILE], A_FILE],
    [['rethinking-l1', '--from', FIXTURES, '--results-dir', MISSING], MISSING],
    [['rethinking-l1', '--from', BAD_PLAN], join(BAD_PLAN, 'rethinking-l1', 'runs')],
  ],
  export: [
    [['--weights', MISSING, '--format', 'onnx', '--out', join(tmp, 'm.onnx')], MISSING],
    [['--weights', A_FILE, '--format', 'onnx', '--out', join(tmp, 'm.onnx')], A_FILE],
    [['--weights', SPEC_IS_DIR, '--format', 'onnx', '--out', join(tmp, 'm.onnx')], join(SPEC_IS_DIR, 'spec.json')],
  ],
  import: [
    [['--onnx', MISSING, '--model', 'vgg16', '--out', join(tmp, 'imported')], MISSING],
    [['--onnx', A_FILE, '--model', 'vgg16', '--out', join(tmp, 'imported')], A_FILE],
    [['--onnx', SPEC_IS_DIR, '--model', 'vgg16', '--out', join(tmp, 'imported')], SPEC_IS_DIR],
    [['--onnx', fileURLToPath(new URL('../export/fixtures/pytorch/resnet20-w0.25.onnx', import.meta.url)), '--model', 'resnet20', '--width', '0.25', '--out', join(A_FILE, 'out')], join(A_FILE, 'out')],
  ],
  retime: [
    [['granularity', '--results-dir', MISSING], MISSING],
    [['granularity', '--results-dir', A_FILE], A_FILE],
  ],
  latency: [
    [['--weights', MISSING], MISSING],
    [['--weights', A_FILE], A_FILE],
  ],
  data: [
    [['check', '--data-dir', MISSING], MISSING],
    [['check', '--data-dir', A_FILE], A_FILE],
  ],
  zoo: [
    [['list', '--zoo', MISSING], MISSING],
    [['list', '--zoo', A_FILE], A_FILE],
    [['list', '--zoo', SPEC_IS_DIR], SPEC_IS_DIR],
    [['verify', '--zoo', MISSING], MISSING],
    [['add', '--run-dir', MISSING, '--cell', 'baseline:vgg16:s1', '--zoo', join(tmp, 'zoo')], MISSING],
    [['add', '--run-dir', BAD_PLAN, '--cell', 'baseline:vgg16:s1', '--zoo', join(tmp, 'zoo')], join(BAD_PLAN, 'plan.json')],
  ],
};

function cli(argv: string[]): ReturnType<typeof captureCli> {
  return captureCli(argv);
}

describe('a nonexistent or unreadable path', () => {
  it('every command that takes a path has cases here', () => {
    for (const c of COMMANDS) expect(NO_PATH.includes(c.name) || c.name in CASES, c.name).toBe(true);
  });

  const cases = Object.entries(CASES).flatMap(([cmd, list]) => list.map(([argv, path]): [string, string[], string] => [`${cmd} ${argv.join(' ').replaceAll(tmp, '$TMP')}`, [cmd, ...argv], path]));
  it.each(cases)('%s: one error line naming the path, exit 2', async (_name, argv, path) => {
    const r = await cli(argv);
    expect(r.code).toBe(2);
    const errors = r.err.filter((l) => l.startsWith('error: '));
    expect(errors, r.err.join('\n')).toHaveLength(1);
    expect(errors[0]).toContain(path);
    expect(r.err.join('\n')).not.toMatch(/internal error|\n\s+at /);
  });

  it('report checks --out before any work: a file in the way names the flag (and writes nothing)', async () => {
    for (const out of [A_FILE, join(A_FILE, 'reports')]) {
      const r = await cli(['report', 'rethinking-l1', '--results-dir', FIXTURES, '--out', out]);
      expect(r.code).toBe(2);
      expect(r.err).toEqual([`error: --out ${out}: ${out === A_FILE ? 'is a file, not a folder' : `${A_FILE} is a file, not a folder`}`]);
    }
  });

  it.skipIf(root)('a file without read permission (not testable as root)', async () => {
    const d = join(tmp, 'no-read');
    mkdirSync(d);
    writeFileSync(join(d, 'spec.json'), '{}');
    chmodSync(join(d, 'spec.json'), 0);
    const r = await cli(['inspect', '--spec', d]);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([expect.stringMatching(/^error: Cannot read .*no-read\/spec\.json: permission denied \(EACCES\)$/)]);
  });

  it('the real process: one stderr line, exit 2, no stack (a malformed spec.json, a missing run dir)', async () => {
    const d = join(tmp, 'family-only');
    mkdirSync(d);
    writeFileSync(join(d, 'spec.json'), '{"spec": {"family": "vgg"}}');
    const run = (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
      new Promise((resolve) => {
        execFile(process.execPath, [BIN, ...args], { cwd: REPO_ROOT }, (e, stdout, stderr) => resolve({ code: e ? ((e as { code?: number }).code ?? null) : 0, stdout, stderr }));
      });
    const [spec, status] = await Promise.all([run(['inspect', '--spec', d]), run(['status', MISSING])]);
    expect(spec.code).toBe(2);
    expect(spec.stdout).toBe('');
    const lines = spec.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^error: ${join(d, 'spec.json')}: not a valid model spec: .*spec\\.cfg is missing \\(expected a VGG cfg`));
    expect(status.code).toBe(2);
    expect(status.stderr.trim()).toBe(`error: ${join(MISSING, 'plan.json')} not found: is ${MISSING} a prunebench run directory?`);
  });
});

describe('integer flags are checked', () => {
  const key = async (argv: string[]): Promise<{ key: string | undefined; message: string }> => {
    try {
      await main(argv, { out: () => {}, err: () => {} });
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return { key: (e as ConfigError).key, message: (e as Error).message };
    }
    throw new Error(`expected ${argv.join(' ')} to fail`);
  };

  it('--jobs 0 and --jobs 1.5 are refused (not taken as 1)', async () => {
    expect(await key(['run', ...smoke, '--dry-run', '--jobs', '0'])).toEqual({ key: 'jobs', message: '--jobs expects a positive integer, got 0' });
    expect(await key(['run', ...smoke, '--dry-run', '--jobs', '1.5'])).toEqual({ key: 'jobs', message: '--jobs expects a positive integer, got 1.5' });
  });

  it('--max-parallel, --index, --min-channels, --seed, --steps, --alpha', async () => {
    expect((await key(['run', ...smoke, '--dry-run', '--executor', 'slurm', '--max-parallel', '0'])).key).toBe('max-parallel');
    expect((await key(['run-cell', '--run-dir', tmp, '--index=-1'])).key).toBe('index');
    expect((await key(['prune', ...prune, '--min-channels', '0', '--out', join(tmp, 'o')])).key).toBe('min-channels');
    expect((await key(['prune', ...prune, '--seed', '0.5', '--out', join(tmp, 'o')])).key).toBe('seed');
    expect((await key(['bench', '--steps', '0'])).key).toBe('steps');
    expect(await key(['report', 'rethinking-l1', '--alpha', '1'])).toEqual({ key: 'alpha', message: '--alpha expects a significance level in (0, 1), got 1' });
    expect(await key(['report', 'rethinking-l1', '--margin=-0.3'])).toEqual({ key: 'margin', message: '--margin expects a margin in accuracy points >= 0, got -0.3' });
    expect(await key(['report', 'rethinking-l1', '--study', 'curves'])).toEqual({ key: 'study', message: '--study expects auto, rethinking or tradeoff, got "curves"' });
  });
});
