import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, modelSpec, type Model } from '../models/index.ts';
import { randomImages, useCpuBackend } from '../testing/tf.ts';
import { CheckpointError } from '../util/errors.ts';
import { modelToOnnx } from './onnx.ts';
import { onnxModelType } from './onnx-schema.ts';
import { importOnnx, modelFromOnnx } from './onnx-import.ts';
import { EXPORT_FAMILIES, exportVariants, relativeDifference, SMALL } from './testing.ts';

/** The PyTorch exports made by scripts/make-onnx-fixtures.py (see fixtures/pytorch/README.md). */
const FIXTURES = join(import.meta.dirname, 'fixtures', 'pytorch');
const PYTORCH = ['vgg16-w0.03125', 'vgg19-w0.03125', 'resnet20-w0.25', 'resnet20-w0.25-folded', 'preresnet164-w0.0625', 'densenet40-w0.125'];

interface FixtureInfo {
  model: string;
  width: number;
  batchNormKept: boolean;
  logits: number[];
}
const info = (stem: string): FixtureInfo => JSON.parse(readFileSync(join(FIXTURES, `${stem}.json`), 'utf8')) as FixtureInfo;
const onnx = (stem: string): Uint8Array => readFileSync(join(FIXTURES, `${stem}.onnx`));

/** The fixtures' input batch, NCHW in the file, NHWC for our models. */
function fixtureInput(): tf.Tensor4D {
  const { shape, values } = JSON.parse(readFileSync(join(FIXTURES, 'input.json'), 'utf8')) as { shape: number[]; values: number[] };
  return tf.tidy(() => tf.transpose(tf.tensor4d(values, shape as [number, number, number, number]), [0, 2, 3, 1]));
}

const tmp = mkdtempSync(join(tmpdir(), 'prunebench-import-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(useCpuBackend);

describe('ONNX import of PyTorch exports', () => {
  it.each(PYTORCH)('%s: our model gives PyTorch\'s logits', (stem) => {
    const fx = info(stem);
    const spec = modelSpec(fx.model, { widthMultiplier: fx.width });
    const { model, weights } = modelFromOnnx(onnx(stem), spec, `${stem}.onnx`);
    const x = fixtureInput();
    const logits = model.forward(x, false).logits;
    expect(logits.shape).toEqual([2, 10]);
    expect(relativeDifference(logits.dataSync(), fx.logits)).toBeLessThan(1e-4);
    // The folded export is imported with BN as identity plus bias; the others keep PyTorch's BN.
    expect(weights.foldedBatchNorms.length > 0).toBe(!fx.batchNormKept);
    if (!fx.batchNormKept) expect(weights.foldedBatchNorms).toContain('layer1.0.bn1');
    model.dispose();
    logits.dispose();
    x.dispose();
  });

  it('keeps PyTorch\'s BN parameters where BN was kept (Network Slimming prunes by them)', () => {
    const spec = modelSpec('preresnet164', { widthMultiplier: 0.0625 });
    const { model } = modelFromOnnx(onnx('preresnet164-w0.0625'), spec, 'preresnet');
    const gamma = model.param('layer1.0.bn1.gamma').dataSync();
    // randomize() in the script draws gammas in [0.5, 1.5): not our init (0.5), not all equal.
    expect(Math.min(...gamma)).toBeGreaterThanOrEqual(0.5);
    expect(new Set(gamma).size).toBe(gamma.length);
    model.dispose();
  });
});

describe('ONNX import of our own export', () => {
  it.each(EXPORT_FAMILIES)('%s: unpruned, compacted and masked models come back with the same logits', (_label, spec) => {
    const x = randomImages(2, SMALL.height, SMALL.width, 3, 11);
    for (const [variant, model] of exportVariants(spec)) {
      const { model: back } = modelFromOnnx(modelToOnnx(model), model.spec, variant);
      const want = model.forward(x, false).logits;
      const got = back.forward(x, false).logits;
      expect(relativeDifference(got.dataSync(), want.dataSync()), variant).toBeLessThan(1e-6);
      for (const m of [model, back] as Model[]) m.dispose();
      want.dispose();
      got.dispose();
    }
    x.dispose();
  });
});

describe('ONNX import refuses what does not fit', () => {
  const refusal = (bytes: Uint8Array, model: string, width: number): string => {
    try {
      modelFromOnnx(bytes, modelSpec(model, { widthMultiplier: width }), 'x.onnx', `${model} at --width ${width}`).model.dispose();
    } catch (e) {
      expect(e).toBeInstanceOf(CheckpointError);
      return (e as Error).message;
    }
    throw new Error('imported');
  };

  it('another family: the error names the first node that does not fit', () => {
    // At this width the ResNet's first convs have vgg16's first shapes (conv-BN-ReLU, twice); then VGG pools.
    expect(refusal(onnx('resnet20-w0.25'), 'vgg16', 0.0625)).toBe(
      'x.onnx: node 6 "/layer1/layer1.0/conv2/Conv" (Conv) does not fit vgg16 at --width 0.0625: layer features.pool0 expects MaxPool reading "/layer1/layer1.0/relu/Relu_output_0"',
    );
    expect(refusal(onnx('densenet40-w0.125'), 'preresnet164', 0.0625)).toMatch(/^x\.onnx: node \d+ "[^"]+" \(\w+\) does not fit preresnet164 at --width 0\.0625: /);
  });

  it('another width: the error names the conv and both shapes', () => {
    expect(refusal(onnx('resnet20-w0.25'), 'resnet20', 0.5)).toBe(
      'x.onnx: node 0 "/conv1/Conv" (Conv) does not fit resnet20 at --width 0.5: its weight has shape [4, 3, 3, 3]; expected [8, 3, 3, 3]',
    );
  });

  it('another depth: the left-over or missing block is named', () => {
    expect(refusal(onnx('resnet20-w0.25'), 'resnet56', 0.25)).toMatch(/^x\.onnx: node \d+ "\/layer2\/layer2\.0\/conv1\/Conv" \(Conv\) does not fit resnet56/);
  });

  it('a node after the last layer, and a BN exported in training mode', () => {
    const type = onnxModelType();
    const edit = (change: (g: { node: { name: string; op_type: string; input: string[]; output: string[]; attribute?: object[] }[]; output: { name: string }[] }) => void): Uint8Array => {
      const m = type.toObject(type.decode(onnx('resnet20-w0.25')), { longs: Number }) as { graph: Parameters<typeof change>[0] };
      change(m.graph);
      return type.encode(type.fromObject(m)).finish();
    };
    const softmax = edit((g) => {
      g.node.push({ name: 'extra', op_type: 'Softmax', input: ['logits'], output: ['probs'] });
      g.output[0]!.name = 'probs';
    });
    expect(refusal(softmax, 'resnet20', 0.25)).toBe(
      'x.onnx: node 134 "extra" (Softmax) does not fit resnet20 at --width 0.25: the last layer, fc, computes "logits", but the graph\'s output is "probs"',
    );
    const training = edit((g) => {
      g.node[1]!.attribute = [{ name: 'training_mode', type: 2, i: 1 }];
    });
    expect(refusal(training, 'resnet20', 0.25)).toBe(
      'x.onnx: node 1 "/bn1/BatchNormalization" (BatchNormalization) does not fit resnet20 at --width 0.25: it is a training-mode BatchNormalization; export the model after model.eval() (training=TrainingMode.PRESERVE or EVAL)',
    );
  });

  it('a truncated file: one error naming the file', () => {
    const bytes = onnx('resnet20-w0.25');
    for (const n of [10, 5000, bytes.length - 10]) {
      expect(refusal(bytes.subarray(0, n), 'resnet20', 0.25)).toMatch(/^x\.onnx: not (a readable ONNX model|an ONNX model with a graph).*truncated/);
    }
  });
});

describe('importOnnx (the command)', () => {
  it('writes a saved model that loads with PyTorch\'s logits, and refuses an existing --out', async () => {
    const out = join(tmp, 'resnet');
    const r = await importOnnx({ file: join(FIXTURES, 'resnet20-w0.25.onnx'), model: 'resnet20', width: 0.25, out });
    expect(r.model).toBe('resnet20');
    const model = await loadModel(out);
    const x = fixtureInput();
    const logits = model.forward(x, false).logits;
    expect(relativeDifference(logits.dataSync(), info('resnet20-w0.25').logits)).toBeLessThan(1e-4);
    const spec = JSON.parse(readFileSync(join(out, 'spec.json'), 'utf8')) as { importedFrom: { onnx: string } };
    expect(spec.importedFrom.onnx).toContain('resnet20-w0.25.onnx');
    for (const t of [model, logits, x]) t.dispose();
    const before = readFileSync(join(out, 'weights.bin'));
    await expect(importOnnx({ file: join(FIXTURES, 'vgg16-w0.03125.onnx'), model: 'vgg16', width: 0.03125, out })).rejects.toThrow(`--out ${out} already exists`);
    expect(readFileSync(join(out, 'weights.bin'))).toEqual(before);
  });

  it('refuses a missing file and writes nothing for a file that does not fit', async () => {
    const out = join(tmp, 'nothing');
    await expect(importOnnx({ file: join(tmp, 'missing.onnx'), model: 'vgg16', out })).rejects.toThrow(`--onnx ${join(tmp, 'missing.onnx')}: no such file`);
    mkdirSync(join(tmp, 'd'));
    writeFileSync(join(tmp, 'd', 'bad.onnx'), 'not onnx at all');
    await expect(importOnnx({ file: join(tmp, 'd', 'bad.onnx'), model: 'vgg16', out })).rejects.toThrow(/bad\.onnx: not/);
    await expect(importOnnx({ file: join(FIXTURES, 'vgg19-w0.03125.onnx'), model: 'vgg16', width: 0.03125, out })).rejects.toThrow(/does not fit vgg16/);
    expect(existsSync(out)).toBe(false);
  });
});
