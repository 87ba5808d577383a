import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { createOrtSession, runOrt } from '../export/ort.ts';
import { readTfjsFolder, tfjsArtifacts, TFJS_OUTPUT } from '../export/tfjs.ts';
import { countSpec } from '../metrics/index.ts';
import { loadModel, loadSpec } from '../models/index.ts';
import { randomImages, useCpuBackend } from '../testing/tf.ts';
import { captureCli } from '../testing/cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'prunebench-export-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(argv: string[]): ReturnType<typeof captureCli> {
  return captureCli(argv);
}

const prune = ['prune', '--backend', 'cpu', '--model', 'vgg-tiny', '--width', '0.5'];
const compacted = join(tmp, 'compacted');
const masked = join(tmp, 'masked');

beforeAll(async () => {
  expect((await cli([...prune, '--method', 'l1', '--prune-ratio', '0.5', '--out', compacted])).code).toBe(0);
  expect((await cli([...prune, '--method', 'magnitude', '--prune-ratio', '0.5', '--out', masked])).code).toBe(0);
  await useCpuBackend();
});

describe('prunebench export', () => {
  it.each([
    ['compacted', compacted],
    ['masked', masked],
  ])('the %s output of prune exports to an ONNX file that ONNX Runtime runs with the same logits', async (_label, dir) => {
    const out = join(tmp, `${_label}.onnx`);
    const r = await cli(['export', '--weights', dir, '--format', 'onnx', '--out', out]);
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(r.out[0]).toContain(out);
    if (_label === 'masked') expect(r.out[0]).toMatch(/% of conv\/linear weights zero/);
    const model = await loadModel(dir);
    const x = randomImages(2, 32, 32, 3, 5);
    const want = model.forward(x, false).logits.dataSync();
    const session = await createOrtSession(readFileSync(out));
    const got = await runOrt(session, x);
    await session.release();
    let diff = 0;
    let scale = 0;
    want.forEach((v, i) => {
      diff = Math.max(diff, Math.abs(got.data[i]! - v));
      scale = Math.max(scale, Math.abs(v));
    });
    expect(diff / scale).toBeLessThan(1e-4);
    model.dispose();
    x.dispose();
  });

  it('--format tfjs writes model.json + shard that tf.loadGraphModel loads with the same logits', async () => {
    const out = join(tmp, 'tfjs-masked');
    const r = await cli(['export', '--weights', masked, '--format', 'tfjs', '--out', out]);
    expect(r.code, r.err.join('\n')).toBe(0);
    const graphModel = await loadGraphModel(tf.io.fromMemory(tfjsArtifacts(await readTfjsFolder(out))));
    const model = await loadModel(masked);
    const x = randomImages(2, 32, 32, 3, 6);
    const want = model.forward(x, false).logits;
    const got = graphModel.execute(x, TFJS_OUTPUT) as tf.Tensor;
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]! / tf.max(tf.abs(want)).dataSync()[0]!)).toBeLessThan(1e-4);
    for (const t of [x, want, got]) t.dispose();
    model.dispose();
    graphModel.dispose();
    const again = await cli(['export', '--weights', masked, '--format', 'tfjs', '--out', out]);
    expect(again.err).toEqual([`error: --out ${out} already exists; give --force to replace it`]);
  });

  it('latency times every saved model in both runtimes (JSON rows, MACs as countSpec gives them)', async () => {
    const r = await cli(['latency', '--weights', compacted, '--weights', masked, '--repeats', '2', '--backend', 'cpu', '--json']);
    expect(r.code, r.err.join('\n')).toBe(0);
    const { rows } = JSON.parse(r.out[0]!) as { rows: { weights: string; macs: number; zeroFraction: number; ortMsBatch64: number }[] };
    expect(rows.map((x) => x.weights)).toEqual([compacted, masked]);
    expect(rows[0]!.macs).toBe(countSpec(await loadSpec(compacted)).macs);
    expect(rows[1]!.macs).toBe(countSpec(await loadSpec(masked)).macs);
    expect(rows[0]!.zeroFraction).toBe(0);
    expect(rows[1]!.zeroFraction).toBeGreaterThan(0.3);
    expect(rows.every((x) => x.ortMsBatch64 > 0)).toBe(true);
  });

  it('bad input: one error line each, nothing written', async () => {
    const out = join(tmp, 'bad.onnx');
    const unknown = await cli(['export', '--weights', compacted, '--format', 'tflite', '--out', out]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toEqual(['error: Unknown --format "tflite"; expected one of onnx, tfjs']);
    const missing = await cli(['export', '--weights', join(tmp, 'nope'), '--format', 'onnx', '--out', out]);
    expect(missing.err).toEqual([`error: --weights ${join(tmp, 'nope')}: no such folder`]);
    expect(() => statSync(out)).toThrow();

    writeFileSync(out, 'keep me');
    const exists = await cli(['export', '--weights', compacted, '--format', 'onnx', '--out', out]);
    expect(exists.code).toBe(2);
    expect(exists.err).toEqual([`error: --out ${out} already exists; give --force to replace it`]);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    const forced = await cli(['export', '--weights', compacted, '--format', 'onnx', '--out', out, '--force']);
    expect(forced.code).toBe(0);
    expect(statSync(out).size).toBeGreaterThan(1000);
  });
});
