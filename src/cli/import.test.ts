import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSpec } from '../models/index.ts';
import { captureCli } from '../testing/cli.ts';

const FIXTURES = join(import.meta.dirname, '..', 'export', 'fixtures', 'pytorch');
const tmp = mkdtempSync(join(tmpdir(), 'prunebench-import-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(argv: string[]): ReturnType<typeof captureCli> {
  return captureCli(argv);
}

describe('prunebench import', () => {
  it('imports a PyTorch export into a saved model, and says when BN had been folded', async () => {
    const out = join(tmp, 'vgg');
    const r = await cli(['import', '--onnx', join(FIXTURES, 'vgg16-w0.03125.onnx'), '--model', 'vgg16', '--width', '0.03125', '--out', out]);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out).toEqual([expect.stringMatching(/^wrote .*vgg \(vgg16 at width 0\.03125, \d+ weights, from pytorch 1\.13\.0\)$/)]);
    expect((await loadSpec(out)).name).toBe('vgg16');
    const folded = await cli(['import', '--onnx', join(FIXTURES, 'resnet20-w0.25-folded.onnx'), '--model', 'resnet20', '--width', '0.25', '--out', join(tmp, 'folded')]);
    expect(folded.code).toBe(0);
    expect(folded.out[1]).toMatch(/^note: 19 BN layers were folded into their convs/);
  });

  it.each([
    ['no --onnx', ['--model', 'vgg16', '--out', 'OUT'], 'error: --onnx is required (the .onnx file to read)'],
    ['a missing file', ['--onnx', 'MISSING', '--model', 'vgg16', '--out', 'OUT'], 'error: --onnx MISSING: no such file'],
    ['an unknown model', ['--onnx', 'RESNET', '--model', 'vgg17', '--out', 'OUT'], /^error: Unknown model "vgg17"; expected one of vgg16, /],
    ['a bad width', ['--onnx', 'RESNET', '--model', 'resnet20', '--width', '0', '--out', 'OUT'], 'error: --width expects a width multiplier in (0, 4], e.g. 0.25, got 0'],
    ['a truncated file', ['--onnx', 'TRUNCATED', '--model', 'resnet20', '--width', '0.25', '--out', 'OUT'], /^error: .*truncated\.onnx: not a readable ONNX model \(index out of range\); is the file truncated or not an \.onnx file\?$/],
    [
      'another architecture',
      ['--onnx', 'RESNET', '--model', 'vgg16', '--width', '0.0625', '--out', 'OUT'],
      /^error: .*resnet20-w0\.25\.onnx: node 6 "\/layer1\/layer1\.0\/conv2\/Conv" \(Conv\) does not fit vgg16 at --width 0\.0625: layer features\.pool0 expects MaxPool/,
    ],
    ['an existing --out', ['--onnx', 'RESNET', '--model', 'resnet20', '--width', '0.25', '--out', 'EXISTING'], /^error: --out .*existing already exists; import writes a new saved-model folder and never replaces one$/],
  ])('%s: one error line, nothing written', async (_label, args, want) => {
    const truncated = join(tmp, 'truncated.onnx');
    writeFileSync(truncated, readFileSync(join(FIXTURES, 'resnet20-w0.25.onnx')).subarray(0, 40000));
    mkdirSync(join(tmp, 'existing'), { recursive: true });
    const out = join(tmp, 'out');
    const paths: Record<string, string> = { OUT: out, MISSING: join(tmp, 'missing.onnx'), RESNET: join(FIXTURES, 'resnet20-w0.25.onnx'), TRUNCATED: truncated, EXISTING: join(tmp, 'existing') };
    const r = await cli(['import', ...(args as string[]).map((a) => paths[a] ?? a)]);
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    if (typeof want === 'string') expect(r.err[0]).toBe(want.replace('MISSING', paths.MISSING!));
    else expect(r.err[0]).toMatch(want);
    expect(existsSync(out)).toBe(false);
  });
});
