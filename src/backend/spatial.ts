/**
 * x[:, ::s, ::s, :] with a gradient on every backend. tfjs-core registers no gradient for
 * StridedSlice, so ResNet option-A shortcuts cannot use tf.stridedSlice in training; a 1x1
 * average pool with stride s picks exactly those pixels, and its gradient (AvgPoolGrad) exists on
 * cpu, wasm and tensorflow. Output size: ceil(H/s) x ceil(W/s).
 */
import * as tf from '@tensorflow/tfjs-core';

export function spatialSubsample(x: tf.Tensor4D, stride: number): tf.Tensor4D {
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`spatialSubsample: stride must be a positive integer, got ${stride}`);
  if (stride === 1) return x;
  return tf.avgPool(x, 1, stride, 'valid');
}
