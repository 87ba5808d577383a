import * as tf from '@tensorflow/tfjs-core';
// Gradients need tfjs's gradient functions, which tfjs-core alone does not register.
import '../backend/gradients.ts';
import type { Model } from '../models/index.ts';
import { crossEntropy, variableNames } from '../train/index.ts';
import { ConfigError } from '../util/errors.ts';
import type { CalibrationData } from './criteria.ts';

/** The one message for a data-needing criterion called without data. */
export function requireCalibration(criterion: string, calibration: CalibrationData | undefined): CalibrationData {
  if (!calibration) {
    throw new ConfigError(
      `The ${criterion} criterion reads activations or gradients, so it needs calibration data: pass --data-dir (and the number of calibration batches)`,
      '--data-dir',
    );
  }
  return calibration;
}

/** Checks the calibration tensors against the model; returns the number of batches, ceil(images / batchSize). */
export function calibrationBatchCount(model: Model, c: CalibrationData): number {
  if (!(Number.isInteger(c.batchSize) && c.batchSize >= 1)) {
    throw new ConfigError(`Expected the calibration batch size to be a positive integer, but got ${c.batchSize}`, 'calibration.batchSize');
  }
  const [n, h, w, ch] = c.images.shape;
  const want = model.spec.input;
  if (h !== want.height || w !== want.width || ch !== want.channels) {
    throw new ConfigError(`Calibration images are ${h}x${w}x${ch} but model ${model.spec.name} takes ${want.height}x${want.width}x${want.channels}`, 'calibration.images');
  }
  if (n < 1) throw new ConfigError('Calibration data has no images', 'calibration.images');
  if (c.labels.shape[0] !== n) {
    throw new ConfigError(`Calibration data has ${n} images but ${c.labels.shape[0]} labels`, 'calibration.labels');
  }
  return Math.ceil(n / c.batchSize);
}

/**
 * One pass over the calibration data in batches of `batchSize` (the last one may be smaller):
 * for each batch, the gradients of the training loss (the training loop's crossEntropy, forward
 * in training mode as trainStep runs it, so BN uses batch statistics, as ShrinkBench's
 * get_param_gradients and Molchanov et al.'s importance-during-training do) with respect to the
 * named parameters, handed to `visit` with the batch size. Running statistics are not updated.
 * The gradients are disposed after `visit`; keep what you need.
 */
export function forEachCalibrationGradient(
  model: Model,
  calibration: CalibrationData,
  paramNames: string[],
  visit: (grads: Map<string, tf.Tensor>, batchSize: number) => void,
): number {
  const batches = calibrationBatchCount(model, calibration);
  const wanted = new Set(paramNames);
  const varToParam = variableNames(model);
  const vars = model.trainableVariables.filter((v) => wanted.has(varToParam.get(v.name)!));
  if (vars.length !== wanted.size) {
    const missing = paramNames.filter((p) => !model.params.has(p));
    throw new ConfigError(`Model ${model.spec.name} has no trainable weight(s) ${missing.join(', ')}`, 'calibration');
  }
  const n = calibration.images.shape[0];
  for (let b = 0; b < batches; b++) {
    const start = b * calibration.batchSize;
    const size = Math.min(calibration.batchSize, n - start);
    const x = tf.slice(calibration.images, [start, 0, 0, 0], [size, -1, -1, -1]);
    const y = tf.tidy(() => tf.cast(tf.slice(calibration.labels, [start], [size]), 'int32'));
    let stats: ReturnType<Model['forward']>['bnStats'] = [];
    const { value, grads } = tf.variableGrads(() => {
      const out = model.forward(x, true);
      stats = out.bnStats;
      return crossEntropy(out.logits, y);
    }, vars);
    const named = new Map<string, tf.Tensor>();
    for (const [vName, g] of Object.entries(grads)) named.set(varToParam.get(vName)!, g);
    try {
      visit(named, size);
    } finally {
      for (const t of [x, y, value, ...named.values(), ...stats.flatMap((s) => [s.mean, s.variance])]) t.dispose();
    }
  }
  return batches;
}
