/**
 * One SGD-with-momentum update of one parameter, as torch.optim.SGD (dampening 0):
 * d = g + wd*p; buf = m*buf + d; d = nesterov ? d + m*buf : buf; p -= lr*d. One native kernel on
 * a backend that has it (onednn), tfjs ops elsewhere, in the same float32 operation order.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SGD_STEP } from './onednn/kernels/sgd.ts';

export interface SgdUpdateOptions {
  lr: number;
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
}

/**
 * The new parameter and momentum buffer (null when momentum is 0). `buffer` null means a fresh
 * (zero) buffer. The results are new tensors owned by the caller.
 */
export function sgdUpdate(param: tf.Tensor, grad: tf.Tensor, buffer: tf.Tensor | null, o: SgdUpdateOptions): { param: tf.Tensor; buffer: tf.Tensor | null } {
  if (tf.getKernel(SGD_STEP, tf.getBackend()) != null && param.dtype === 'float32') {
    const outs = tf.engine().runKernel(SGD_STEP, { param, grad, ...(buffer ? { buffer } : {}) }, { ...o } as unknown as tf.NamedAttrMap) as tf.Tensor[];
    return { param: outs[0]!, buffer: outs[1] ?? null };
  }
  const [p, next] = tf.tidy(() => {
    let d: tf.Tensor = o.weightDecay !== 0 ? tf.add(grad, tf.mul(param, o.weightDecay)) : grad;
    let momentumBuffer: tf.Tensor | null = null;
    if (o.momentum !== 0) {
      momentumBuffer = tf.add(tf.mul(buffer ?? tf.zerosLike(param), o.momentum), d);
      d = o.nesterov ? tf.add(d, tf.mul(momentumBuffer, o.momentum)) : momentumBuffer;
    }
    return momentumBuffer ? [tf.sub(param, tf.mul(d, o.lr)), momentumBuffer] : [tf.sub(param, tf.mul(d, o.lr))];
  });
  return { param: p!, buffer: next ?? null };
}
