/**
 * Whole-network training on the webgpu backend gives the same losses as on wasm (the shared
 * parity tests of ../testing/training_parity.ts), and no tensor growth over many steps. In CI this runs
 * on Mesa's lavapipe (software Vulkan), so the networks are narrow and the batches small.
 */
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { Model, modelSpec } from '../models/index.ts';
import { Sgd, trainStep } from './index.ts';
import { silentLogger } from '../util/log.ts';
import { initBackend } from '../backend/index.ts';
import { describeTrainingParity } from '../testing/training_parity.ts';
import { webgpuAvailability } from '../backend/webgpu/availability.ts';

const { reason } = await webgpuAvailability();

describeTrainingParity('webgpu', reason, () => {
  it('keeps the number of tensors constant over many steps', async () => {
    await initBackend({ backend: 'webgpu', logger: silentLogger });
    const model = Model.init(modelSpec('resnet20', { widthMultiplier: 0.25 }), 1);
    const sgd = new Sgd({ momentum: 0.9, nesterov: false, weightDecay: 1e-4 });
    const x = tf.randomNormal([4, 32, 32, 3]) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1, 2, 3], 'int32');
    await trainStep(model, sgd, x, y, 0.01, {});
    const before = tf.memory().numTensors;
    const bytes = tf.memory().numBytes;
    for (let i = 0; i < 5; i++) await trainStep(model, sgd, x, y, 0.01, {});
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.memory().numBytes).toBe(bytes);
    tf.dispose([x, y]);
    sgd.dispose();
    model.dispose();
  });
});
