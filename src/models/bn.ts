import * as tf from '@tensorflow/tfjs-core';

export const BN_EPSILON = 1e-5;
/** PyTorch's BatchNorm momentum: running = (1 - m) * running + m * batch. */
export const BN_MOMENTUM = 0.1;

/** Inference-mode BN folded into one scale and shift per channel. */
export function batchNormInference(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  mean: tf.Tensor1D,
  variance: tf.Tensor1D,
): tf.Tensor {
  return tf.tidy(() => {
    const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, BN_EPSILON)));
    const shift = tf.sub(beta, tf.mul(mean, scale));
    return tf.add(tf.mul(x, scale), shift);
  });
}

/**
 * Training-mode BN with batch statistics (biased batch variance; the running average uses the
 * unbiased one, as PyTorch does). The backend's version reduces per channel through a fast path
 * and has a closed-form gradient without full-size tiles.
 */
export { batchNormTrain } from '../backend/index.ts';
