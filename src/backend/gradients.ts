/**
 * Registers tfjs's gradient functions, plus the zero gradients of comparisons (a side-effect import).
 *
 * tfjs-core's Node entry point (dist/tf-core.node.js) registers NO gradients: they live in
 * dist/register_all_gradients.js, an ES module with extensionless relative imports that Node (and
 * tsx) cannot load. The only prebuilt CommonJS copy of them is inside the @tensorflow/tfjs umbrella
 * bundle, which registers them (into tfjs-core's global registry, shared with our tfjs-core) when
 * it is loaded. So this one module loads the umbrella for that side effect only; nothing in
 * prunebench uses the umbrella's API (everything imports @tensorflow/tfjs-core).
 */
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Comparisons are piecewise constant: their gradient is zero. tfjs registers one for GreaterEqual
 * only, so `tf.where(tf.greater(h, 0), h, ...)` on a value that depends on a trained tensor throws
 * "gradient function not found for Greater". These fill in the same zero gradient for the others.
 */
const COMPARISONS = [tf.Greater, tf.Less, tf.LessEqual, tf.Equal, tf.NotEqual] as const;
for (const kernelName of COMPARISONS) {
  if (tf.getGradient(kernelName) != null) continue;
  tf.registerGradient({
    kernelName,
    inputsToSave: ['a', 'b'],
    gradFunc: (_dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [a, b] = saved;
      return { a: () => tf.zerosLike(a), b: () => tf.zerosLike(b) };
    },
  });
}
