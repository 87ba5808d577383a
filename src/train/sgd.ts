import * as tf from '@tensorflow/tfjs-core';
import { sgdUpdate } from '../backend/index.ts';

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
    for (const [name, p] of params) {
      const g = grads.get(name);
      if (!g) continue;
      const buf = this.buffers.get(name) ?? null;
      const next = sgdUpdate(p, g, buf, { lr, momentum, weightDecay, nesterov });
      p.assign(next.param);
      next.param.dispose();
      if (next.buffer) {
        if (buf) buf.assign(next.buffer);
        else this.buffers.set(name, tf.variable(next.buffer, false));
        next.buffer.dispose();
      }
    }
  }

  dispose(): void {
    for (const b of this.buffers.values()) b.dispose();
    this.buffers.clear();
  }
}
