import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomImages, useCpuBackend } from '../testing/tf.ts';
import { EXPORT_FAMILIES, exportVariants, relativeDifference } from './testing.ts';
import { modelToOnnx } from './onnx.ts';
import { modelToTfjs, tfjsArtifacts, TFJS_OUTPUT } from './tfjs.ts';

beforeAll(useCpuBackend);

describe.each(EXPORT_FAMILIES)('TensorFlow.js export of %s', (_label, spec) => {
  it('loads with tf.loadGraphModel and gives the logits of the forward pass (unpruned, compacted, masked)', async () => {
    const x = randomImages(4, spec.input.height, spec.input.width, 3, 7);
    const variants = exportVariants(spec);
    for (const [variant, model] of variants) {
      const expected = model.forward(x, false).logits;
      // Through JSON text, as model.json is written and read.
      const exported = await modelToTfjs(model);
      const reread = { ...exported, modelJson: JSON.parse(JSON.stringify(exported.modelJson)) as typeof exported.modelJson };
      const graphModel = await loadGraphModel(tf.io.fromMemory(tfjsArtifacts(reread)));
      const got = graphModel.execute(x, TFJS_OUTPUT) as tf.Tensor;
      expect(got.shape, variant).toEqual(expected.shape);
      expect(relativeDifference(got.dataSync(), expected.dataSync()), variant).toBeLessThan(1e-4);
      for (const t of [got, expected]) t.dispose();
      graphModel.dispose();
    }
    for (const [, m] of variants) m.dispose();
    x.dispose();
  });
});

describe('export writers', () => {
  it('leave no tensors behind (tfjs and ONNX)', async () => {
    const variants = exportVariants(EXPORT_FAMILIES[4]![1]);
    const before = tf.memory().numTensors;
    for (const [, model] of variants) {
      await modelToTfjs(model);
      modelToOnnx(model);
    }
    expect(tf.memory().numTensors).toBe(before);
    for (const [, m] of variants) m.dispose();
  });
});
