import * as tf from '@tensorflow/tfjs-core';

export interface SgdOptions {
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
}

/**
 * SGD with momentum exactly as torch.optim.SGD (dampening 0): d = g + wd*p; buf = m*buf + d;
 * d = nesterov ? d + m*buf : buf; p -= lr*d. Weight decay applies to every parameter, BN's too,
 * as the reference code does. Momentum buffers are kept by parameter name (for checkpoints).
 */
export class Sgd {
  readonly buffers = new Map<string, tf.Variable>();

  constructor(readonly opts: SgdOptions) {}

  step(params: Map<string, tf.Variable>, grads: Map<string, tf.Tensor>, lr: number): void {
    const { momentum, nesterov, weightDecay } = this.opts;
    tf.tidy(() => {
      for (const [name, p] of params) {
        const g = grads.get(name);
        if (!g) continue;
        let d: tf.Tensor = weightDecay !== 0 ? tf.add(g, tf.mul(p, weightDecay)) : g;
        if (momentum !== 0) {
          let buf = this.buffers.get(name);
          if (!buf) {
            buf = tf.variable(tf.zerosLike(p), false);
            this.buffers.set(name, buf);
          }
          const next = tf.add(tf.mul(buf, momentum), d);
          buf.assign(next);
          d = nesterov ? tf.add(d, tf.mul(next, momentum)) : next;
        }
        p.assign(tf.sub(p, tf.mul(d, lr)));
      }
    });
  }

  dispose(): void {
    for (const b of this.buffers.values()) b.dispose();
    this.buffers.clear();
  }
}
