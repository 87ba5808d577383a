/**
 * Inputs the CLI used to accept quietly or answer inconsistently (issue #32): each must be one
 * clear `error:` line, exit 2, or do what the docs say.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PRESETS } from '../protocols/index.ts';
import { ConfigError } from '../util/errors.ts';
import { COMMANDS } from './main.ts';
import { captureCli } from '../testing/cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'prunebench-cli-harden-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(argv: string[]): ReturnType<typeof captureCli> {
  return captureCli(argv, { splitOut: true });
}

const dryRun = (...args: string[]): string[] => ['run', 'quickstart', '--preset', 'smoke', '--dry-run', '--no-progress', '--run-dir', join(tmp, 'run'), '--results-dir', join(tmp, 'results'), ...args];

/** One `error:` line naming `flag`, exit 2. */
async function expectOneError(argv: string[], ...parts: (string | RegExp)[]): Promise<string> {
  const r = await cli(argv);
  expect(r.code, argv.join(' ')).toBe(2);
  expect(r.err, argv.join(' ')).toHaveLength(1);
  expect(r.err[0]).toMatch(/^error: /);
  for (const p of parts) expect(r.err[0]).toMatch(p);
  return r.err[0]!;
}

describe('run: seeds and backend are checked before anything is planned (items 6, 8)', () => {
  it("--seeds '' and --seeds with an empty entry or a repeated seed are refused", async () => {
    await expectOneError(dryRun('--seeds', ''), /--seeds/, /""/);
    await expectOneError(dryRun('--seeds', '1,1,,2'), /--seeds/, /empty entry/);
    await expectOneError(dryRun('--seeds', '1,2,1'), /--seeds/, /seed 1 twice/);
    const ok = await cli(dryRun('--seeds', '3,1'));
    expect(ok.code).toBe(0);
    expect(ok.out.join('\n')).toContain('seeds 3,1');
  });

  it('an unknown --backend is refused by a dry run, naming the known ones', async () => {
    await expectOneError(dryRun('--backend', 'tpu'), /Unknown backend "tpu"/, /wasm/);
  });
});

describe('errors in one format (item 13)', () => {
  it('an unknown command: one error: line, exit 2', async () => {
    const r = await cli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.err).toEqual(['error: unknown command "frobnicate"; see prunebench --help']);
    expect(r.out).toEqual([]);
  });

  it('an argument-parsing error: one line and where to look, not the whole usage', async () => {
    const line = await expectOneError(['inspect', 'vgg16', '--bogus'], /--bogus/, /see prunebench inspect --help$/);
    expect(line).not.toContain('usage:');
  });

  it('data check mistakes exit 2 like the others', async () => {
    await expectOneError(['data', 'chek'], /data check/);
    await expectOneError(['data', 'check', '--dataset', 'mnist'], /mnist/);
    await expectOneError(['data', 'check', '--data-dir', join(tmp, 'nope')], /--data-dir/);
  });

  it('prunebench help <command> shows that command\'s help', async () => {
    for (const cmd of COMMANDS) {
      const r = await cli(['help', cmd.name]);
      expect(r.code).toBe(0);
      expect(r.out.join('\n')).toBe(cmd.usage);
    }
    await expectOneError(['help', 'frobnicate'], /unknown command "frobnicate"/);
  });

  it("run --help names every preset, and every command's usage lists exactly the flags it parses", () => {
    const run = COMMANDS.find((c) => c.name === 'run')!;
    for (const p of PRESETS) expect(run.usage).toContain(p);
    // The prune command is being rewritten elsewhere; every other command is held to it.
    for (const cmd of COMMANDS.filter((c) => c.name !== 'prune')) {
      const listed = new Set([...cmd.usage.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1]!));
      listed.delete('help');
      expect([...listed].sort(), cmd.name).toEqual(Object.keys(cmd.options).sort());
    }
  });

  it('a negative number after a flag is read as its value', async () => {
    await expectOneError(['bench', '--steps', '-1'], /--steps expects a positive integer, got -1/);
    await expectOneError(['inspect', 'vgg16', '--width', '-0.5'], /--width/, /\(0, 4\]/);
  });

  it('inspect --width has the bounds of bench (0, 4]', async () => {
    for (const w of ['0', '5']) {
      const line = await expectOneError(['inspect', 'vgg16', '--width', w], /--width/, /\(0, 4\]/);
      expect(line).toContain(w);
    }
    const r = await cli(['inspect', 'vgg16', '--width', '4', '--json']);
    expect(r.code).toBe(0);
  });
});

describe('Fashion-MNIST: said exactly where it is supported (item 14)', () => {
  it('run and inspect refuse it naming data check, the one command that reads it', async () => {
    await expectOneError(dryRun('--set', 'data.dataset=fashion-mnist'), /fashion-mnist/, /data check/);
    await expectOneError(['inspect', 'vgg16', '--dataset', 'fashion-mnist'], /fashion-mnist/, /data check/);
  });

  it('the refusal is a ConfigError naming the flag', async () => {
    const { main } = await import('./main.ts');
    const e = await main(['inspect', 'vgg16', '--dataset', 'fashion-mnist'], { out: () => {}, err: () => {} }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).key).toBe('dataset');
  });
});
