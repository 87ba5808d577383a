import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countSpec } from '../metrics/index.ts';
import { loadModel, modelSpec } from '../models/index.ts';
import { CRITERIA } from '../pruning/index.ts';
import { useCpuBackend } from '../testing/tf.ts';
import { PrunebenchError } from '../util/errors.ts';
import { main } from './main.ts';
import { thrownError } from '../testing/errors.ts';

async function cli(argv: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: () => {} });
  return { code, out };
}

/** The error a command throws (it must throw one). */
const cliError = (argv: string[]): Promise<PrunebenchError> => thrownError(() => cli(argv), argv.join(' '));

let tmp: string;
beforeAll(async () => {
  await useCpuBackend();
  tmp = await mkdtemp(join(tmpdir(), 'prunebench-budget-'));
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('prune --criterion --scope --target-*', () => {
  it("the issue's example: vgg16 x0.25, l1, global, --target-speedup 2 writes a model whose MACs ratio is 2.00 within 1%", async () => {
    const out = join(tmp, 'vgg-l1-global-2x');
    const r = await cli(['prune', '--backend', 'cpu', '--model', 'vgg16', '--width', '0.25', '--criterion', 'l1', '--scope', 'global', '--target-speedup', '2', '--out', out]);
    expect(r.code).toBe(0);
    const pruned = await loadModel(out);
    try {
      const ratio = countSpec(modelSpec('vgg16', { widthMultiplier: 0.25 })).macs / countSpec(pruned.spec).macs;
      expect(Math.abs(ratio / 2 - 1)).toBeLessThanOrEqual(0.01);
      const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as Record<string, unknown>;
      expect(summary).toMatchObject({ method: 'l1', criterion: 'l1', scope: 'global', globalNorm: 'mean', target: { kind: 'speedup', value: 2 }, budgetStatus: 'exact', calibrationBatches: 0 });
      expect(summary.achieved).toBeCloseTo(ratio, 10);
      expect(typeof summary.criterionSeconds).toBe('number');
      const text = r.out.join('\n');
      expect(text).toContain(`target speedup 2 (MACs base / pruned): achieved ${ratio.toFixed(4)} (exact: within 1%)`);
      expect(text).toContain('criterion l1, scope global (--global-norm mean)');
    } finally {
      pruned.dispose();
    }
  });

  it('--criterion bn-gamma --target-compression 3 (method channel) and --granularity weight --criterion magnitude', async () => {
    const out = join(tmp, 'vgg-bn-3x');
    await cli(['prune', '--backend', 'cpu', '--model', 'vgg16', '--width', '0.25', '--criterion', 'bn-gamma', '--target-compression', '3', '--max-layer-ratio', '0.8', '--out', out]);
    const pruned = await loadModel(out);
    const ratio = countSpec(modelSpec('vgg16', { widthMultiplier: 0.25 })).params / countSpec(pruned.spec).params;
    pruned.dispose();
    expect(Math.abs(ratio / 3 - 1)).toBeLessThanOrEqual(0.01);
    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as Record<string, unknown>;
    expect(summary).toMatchObject({ method: 'channel', criterion: 'bn-gamma', scope: 'layerwise', maxLayerRatio: 0.8, target: { kind: 'compression', value: 3 } });

    const masks = join(tmp, 'vgg-mag-4x');
    await cli(['prune', '--backend', 'cpu', '--model', 'vgg16', '--width', '0.125', '--granularity', 'weight', '--criterion', 'magnitude', '--target-compression', '4', '--out', masks]);
    const m = JSON.parse(await readFile(join(masks, 'summary.json'), 'utf8')) as { params: number; paramsEffective: number; method: string; achieved: number };
    expect(m.method).toBe('magnitude');
    expect(Math.abs(m.params / m.paramsEffective / 4 - 1)).toBeLessThanOrEqual(0.01);
    expect(m.achieved).toBeCloseTo(m.params / m.paramsEffective, 10);

    // The fibre criterion reaches the same budget with other fibres, and says which it used.
    const fibres: Record<string, { paramsEffective: number; criterion: string; method: string }> = {};
    for (const criterion of ['l1', 'magnitude']) {
      const dir = join(tmp, `vgg-vec-${criterion}`);
      await cli(['prune', '--backend', 'cpu', '--model', 'vgg16', '--width', '0.125', '--granularity', 'vector', '--criterion', criterion, '--target-compression', '2', '--out', dir]);
      fibres[criterion] = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as { paramsEffective: number; criterion: string; method: string };
      expect(fibres[criterion]).toMatchObject({ method: 'vector', criterion });
    }
    const masksOf = async (c: string): Promise<string> => readFile(join(tmp, `vgg-vec-${c}`, 'masks.bin')).then((b) => b.toString('base64'));
    expect(await masksOf('l1')).not.toBe(await masksOf('magnitude'));
  });

  it('bad input: one clear error each', async () => {
    const base = ['prune', '--backend', 'cpu', '--model', 'vgg16', '--width', '0.25', '--out', join(tmp, 'bad')];
    expect((await cliError([...base, '--criterion', 'l3', '--prune-ratio', '0.5'])).message).toBe(
      `Unknown --criterion "l3"; expected one of the channel criteria ${CRITERIA.join(', ')}; with --granularity weight: magnitude, lamp, grad-magnitude; with --granularity vector: l1, magnitude`,
    );
    expect((await cliError([...base, '--granularity', 'vector', '--criterion', 'fpgm', '--prune-ratio', '0.5'])).message).toBe('--criterion fpgm cannot score kernel fibres; with --granularity vector expected one of l1, magnitude');
    expect((await cliError([...base, '--granularity', 'vector', '--method', 'magnitude', '--criterion', 'l1', '--prune-ratio', '0.5'])).message).toContain('--method magnitude contradicts it');
    expect((await cliError([...base, '--criterion', 'l1', '--scope', 'local', '--prune-ratio', '0.5'])).message).toBe('Unknown scope "local"; expected one of layerwise, global');
    expect((await cliError([...base, '--criterion', 'l1', '--prune-ratio', '0.5', '--target-speedup', '2'])).message).toBe('--target-speedup and --prune-ratio are exclusive: the target sets the ratio');
    expect((await cliError([...base, '--method', 'l1', '--criterion', 'l2', '--prune-ratio', '0.5'])).message).toContain('--method l1 contradicts --criterion l2');
    expect((await cliError([...base, '--criterion', 'l1', '--target-speedup', '0.8'])).message).toBe('Expected target-speedup to be a ratio base / pruned of at least 1, but got 0.8');
    const unreachable = await cliError([...base, '--criterion', 'l1', '--max-layer-ratio', '0.5', '--target-speedup', '50']);
    expect(unreachable.message).toMatch(/^--target-speedup 50 cannot be reached: --scope layerwise, --min-channels 1 and --max-layer-ratio 0.5 allow at most \d+\.\d{4} \(MACs base \/ pruned\)$/);
    expect((await cliError([...base, '--target-speedup', '2'])).message).toContain('--method (');
  });

  it('prune --help lists the new options', async () => {
    const r = await cli(['prune', '--help']);
    const text = r.out.join('\n');
    for (const flag of ['--criterion', '--scope', '--global-norm', '--max-layer-ratio', '--target-speedup', '--target-compression', '--data-dir', '--calibration-batches']) expect(text).toContain(flag);
  });
});
