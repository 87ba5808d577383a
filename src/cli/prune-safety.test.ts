import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeSyntheticCifar } from '../data/index.ts';
import { useCpuBackend } from '../testing/tf.ts';
import { ConfigError, PrunebenchError } from '../util/errors.ts';
import { main } from './main.ts';
import { closestOption } from './commands.ts';
import { thrownError } from '../testing/errors.ts';

/** Issue 32, items 1, 4 and 5: prune never replaces its input, never writes an unpruned model, never slims untrained gammas. */
async function cli(argv: string[]): Promise<number> {
  return main(argv, { out: () => {}, err: () => {} });
}

/** The error a command throws (it must throw one). */
const cliError = (argv: string[]): Promise<PrunebenchError> => thrownError(() => cli(argv), argv.join(' '));

const base = ['prune', '--backend', 'cpu', '--model', 'vgg-tiny'];
let tmp: string;
let trained: string;
beforeAll(async () => {
  await useCpuBackend();
  tmp = await mkdtemp(join(tmpdir(), 'prunebench-prune-safety-'));
  // A saved model to stand in for a trained input (any saved model will do).
  trained = join(tmp, 'trained');
  expect(await cli([...base, '--method', 'l1', '--prune-ratio', '0.5', '--out', trained])).toBe(0);
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('prune: data safety and what the docs refuse', () => {
  it('--out equal to --weights, or inside it, is refused (even with --force) and leaves the input untouched', async () => {
    const before = await readFile(join(trained, 'weights.bin'));
    for (const out of [trained, join(trained, 'sub'), `${trained}/`]) {
      for (const force of [[], ['--force']]) {
        const e = await cliError([...base, '--weights', trained, '--method', 'l1', '--prune-ratio', '0.3', '--out', out, ...force]);
        expect(e.message).toContain('would replace the model it prunes');
      }
    }
    expect(await readFile(join(trained, 'weights.bin'))).toEqual(before);
    await expect(stat(join(trained, 'sub'))).rejects.toThrow();
  });

  it('an --out folder that already holds a model is refused unless --force', async () => {
    const out = join(tmp, 'existing');
    expect(await cli([...base, '--method', 'l1', '--prune-ratio', '0.3', '--out', out])).toBe(0);
    const first = await readFile(join(out, 'weights.bin'));
    const e = await cliError([...base, '--method', 'l1', '--prune-ratio', '0.6', '--out', out]);
    expect(e.message).toContain('already holds a model');
    expect(await readFile(join(out, 'weights.bin'))).toEqual(first);
    expect(await cli([...base, '--method', 'l1', '--prune-ratio', '0.6', '--out', out, '--force'])).toBe(0);
    expect((await readFile(join(out, 'weights.bin'))).length).toBeLessThan(first.length);
  });

  it('--prune-ratio 0 is refused, as README and --help say', async () => {
    for (const method of ['l1', 'magnitude']) {
      const e = await cliError([...base, '--method', method, '--prune-ratio', '0', '--out', join(tmp, `zero-${method}`)]);
      expect(e.message).toContain('--prune-ratio 0 removes nothing');
      await expect(stat(join(tmp, `zero-${method}`))).rejects.toThrow();
    }
  });

  it('slimming without --weights (every gamma equal at init) is refused', async () => {
    const e = await cliError([...base, '--method', 'slimming', '--prune-ratio', '0.5', '--out', join(tmp, 'slim')]);
    expect(e.message).toContain('--method slimming ranks the BN scale factors');
    expect(e.message).toContain('--weights');
  });
});

describe('prune --method reconstruction --data-dir (issue 32 item 10)', () => {
  it('accepts --data-dir, as its warning advises, and samples real images instead of random ones', async () => {
    const dataDir = join(tmp, 'cifar');
    await writeSyntheticCifar(dataDir, { kind: 'cifar10', trainPerFile: 20, testCount: 20, seed: 1 });
    const warnings: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      warnings.push(String(chunk));
      return true;
    });
    try {
      expect(await cli([...base, '--method', 'reconstruction', '--prune-ratio', '0.5', '--data-dir', dataDir, '--out', join(tmp, 'recon-data')])).toBe(0);
      expect(warnings.join('')).not.toContain('samples random images');
      expect(await cli([...base, '--method', 'reconstruction', '--prune-ratio', '0.5', '--out', join(tmp, 'recon-random')])).toBe(0);
      expect(warnings.join('')).toContain('samples random images');
    } finally {
      spy.mockRestore();
    }
    expect(JSON.parse(await readFile(join(tmp, 'recon-data', 'plan.json'), 'utf8')).groups).toBeDefined();
  });
});

describe('flags that would be dropped silently (issue 32 item 9)', () => {
  it('a flag given twice is one error naming it, not "the last one wins"', async () => {
    const e = await cliError(['run', 'quickstart', '--preset', 'smoke', '--preset', 'cpu', '--dry-run']);
    expect(e.message).toBe('--preset is given more than once; give it once (see prunebench run --help)');
    expect((e as ConfigError).key).toBe('preset');
  });

  it('an unknown flag is one error naming the command and, when one is close, the flag meant', async () => {
    expect((await cliError(['report', 'quickstart', '--margn', '1'])).message).toBe('prunebench report has no option --margn (did you mean --margin?); see prunebench report --help');
    expect((await cliError(['run', 'quickstart', '--bogus'])).message).toBe('prunebench run has no option --bogus; see prunebench run --help');
    expect(closestOption('seeds', ['seed', 'preset'])).toBe('seed');
    expect(closestOption('thread', ['threads', 'jobs'])).toBe('threads');
    expect(closestOption('xyz', ['threads', 'jobs'])).toBeUndefined();
  });

  it('extra positional arguments are refused, naming them and what the command takes', async () => {
    expect((await cliError(['models', 'vgg16'])).message).toBe('unexpected argument "vgg16": prunebench models takes no positional argument; see prunebench models --help');
    expect((await cliError(['inspect', 'vgg16', 'resnet56'])).message).toBe('unexpected argument "resnet56": prunebench inspect takes one (a model name); see prunebench inspect --help');
    expect((await cliError([...base, '--method', 'l1', '--prune-ratio', '0.5', '--out', join(tmp, 'x'), 'extra'])).message).toContain('unexpected argument "extra"');
  });
});

describe('contradictory or useless flags (issue 32 item 9, the rest)', () => {
  it('--profile with --prune-ratio, and a --model that disagrees with --weights, are errors', async () => {
    const e1 = await cliError(['prune', '--backend', 'cpu', '--model', 'vgg16', '--method', 'l1', '--profile', 'A', '--prune-ratio', '0.5', '--out', join(tmp, 'pa')]);
    expect(e1.message).toContain('--profile A sets every layer\'s ratio; --prune-ratio 0.5 contradicts it');
    const e2 = await cliError(['prune', '--backend', 'cpu', '--model', 'vgg16', '--weights', trained, '--method', 'l1', '--prune-ratio', '0.5', '--out', join(tmp, 'mw')]);
    expect(e2.message).toContain('holds a vgg-tiny, but --model says vgg16');
    await expect(stat(join(tmp, 'mw'))).rejects.toThrow();
  });

  it('--resume and --slurm-* with the local executor are errors, not dropped', async () => {
    for (const extra of [['--resume'], ['--slurm-partition', 'gpu'], ['--sbatch-arg=--account=x']]) {
      const e = await cliError(['run', 'quickstart', '--preset', 'smoke', '--dry-run', ...extra]);
      expect(e.message).toContain('to --executor slurm');
    }
  });
});
