/**
 * Fast, backend-independent training helpers for batch normalisation (NHWC, channels last).
 *
 * Per-channel reductions over all but the last axis are computed as ONE global average pool over
 * a [1, M/W, W, C] view of the data (M = elements per channel): on wasm the stock Sum/Mean kernels
 * transpose first and are 5-16x slower. The same ops run on every backend, so every backend gives
 * the same numbers up to float rounding. Gradients broadcast per-channel vectors instead of
 * building a full-size tile() as tfjs-core's batch-norm gradient does.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BATCH_NORM_INFERENCE, BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from './onednn/kernels/batch_norm.ts';

/** Whether the active backend has a native kernel of this name (the onednn backend does). */
function hasNativeKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) != null;
}

/** [1, M/W, W, C] view of a channels-last tensor of rank >= 2, and M. */
function poolView(x: tf.Tensor): { view: tf.Tensor4D; rows: number; cols: number; channels: number } {
  if (x.rank < 2) throw new Error(`channel reductions need a tensor of rank >= 2 (channels last), got shape [${x.shape}]`);
  const channels = x.shape[x.rank - 1];
  const cols = x.shape[x.rank - 2];
  const rows = x.size / (cols * channels);
  return { view: tf.reshape(x, [1, rows, cols, channels]), rows, cols, channels };
}

/** Per-channel mean over all but the last axis, no gradient of its own (use inside gradients). */
function channelMeanRaw(x: tf.Tensor): tf.Tensor1D {
  const { view, rows, cols, channels } = poolView(x);
  return tf.reshape(tf.avgPool(view, [rows, cols], 1, 'valid'), [channels]);
}

/** Per-channel sum over all but the last axis (mean * count), no gradient of its own. */
function channelSumRaw(x: tf.Tensor): tf.Tensor1D {
  return tf.mul(channelMeanRaw(x), x.size / x.shape[x.rank - 1]);
}

const channelMeanOp = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc) => {
  const input = x as tf.Tensor;
  const count = input.size / input.shape[input.rank - 1];
  const shape = input.shape;
  return {
    value: channelMeanRaw(input),
    // d mean_c / d x[..., c] = 1/count: a broadcast add onto zeros, no tile().
    gradFunc: (dy: tf.Tensor) => tf.add(tf.zeros(shape), tf.div(dy, count)),
  };
});

/** Per-channel mean over all but the last axis of a channels-last tensor; differentiable. */
export function channelMean(x: tf.Tensor): tf.Tensor1D {
  return channelMeanOp(x) as tf.Tensor1D;
}

/** Per-channel batch mean and (biased) variance over N,H,W of an NHWC tensor, fast on wasm. */
export function channelMoments(x: tf.Tensor4D): { mean: tf.Tensor1D; variance: tf.Tensor1D } {
  return tf.tidy(() => {
    const mean = channelMean(x);
    const variance = channelMean(tf.square(tf.sub(x, mean)));
    return { mean, variance };
  });
}

/** Options of the batch-norm functions. */
export interface BatchNormOptions {
  /** Apply ReLU to the output (fused into the batch norm where the backend has a fused kernel). */
  relu?: boolean;
}

/**
 * Training-mode batch norm: y = (x-mean)/sqrt(var+eps)*gamma+beta with batch statistics (then
 * ReLU if asked); returns y and the batch stats (for running-average updates; they carry no
 * gradient). On a backend with a native kernel (onednn) one kernel does the forward pass and one
 * the backward pass, ReLU included. Elsewhere the gradients w.r.t. x, gamma and beta are the
 * closed-form ones, computed with per-channel reductions and broadcasting: dbeta = sum(dy),
 * dgamma = sum(dy*xhat), dx = gamma*invStd * (dy - dbeta/M - xhat*dgamma/M).
 */
export function batchNormTrain(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  eps: number,
  opts: BatchNormOptions = {},
): { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  if (x.rank !== 4) throw new Error(`batchNormTrain expects an NHWC tensor of rank 4, got shape [${x.shape}]`);
  const c = x.shape[3];
  if (gamma.shape.length !== 1 || gamma.shape[0] !== c || beta.shape.length !== 1 || beta.shape[0] !== c) {
    throw new Error(`batchNormTrain: gamma [${gamma.shape}] and beta [${beta.shape}] must both be [${c}] (the channels of x)`);
  }
  const relu = opts.relu === true;
  if (hasNativeKernel(BATCH_NORM_TRAIN)) return nativeBatchNormTrain(x, gamma, beta, eps, relu);
  const out = composedBatchNormTrain(x, gamma, beta, eps);
  if (!relu) return out;
  const y = tf.relu(out.y);
  out.y.dispose();
  return { ...out, y };
}

function nativeBatchNormTrain(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  eps: number,
  relu: boolean,
): { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  let stats: { mean: tf.Tensor1D; variance: tf.Tensor1D } | undefined;
  const attrs = { eps, relu } as unknown as tf.NamedAttrMap;
  const bn = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, g, b] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const [y, mean, variance] = tf.engine().runKernel(BATCH_NORM_TRAIN, { x: xIn!, gamma: g!, beta: b! }, attrs) as tf.Tensor[];
    save([xIn!, g!, b!, mean!, variance!]);
    stats = { mean: tf.keep(mean as tf.Tensor1D), variance: tf.keep(variance as tf.Tensor1D) };
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sg, sb, sm, sv] = saved;
        return tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, { x: sx!, gamma: sg!, beta: sb!, mean: sm!, variance: sv!, dy }, attrs) as tf.Tensor[];
      },
    };
  });
  const y = bn(x, gamma, beta) as tf.Tensor4D;
  return rehomeStats(y, stats!);
}

/** Re-homes stats kept inside a custom-gradient forward pass in the caller's scope. */
function rehomeStats(
  y: tf.Tensor4D,
  kept: { mean: tf.Tensor1D; variance: tf.Tensor1D },
): { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const mean = tf.clone(kept.mean);
  const variance = tf.clone(kept.variance);
  kept.mean.dispose();
  kept.variance.dispose();
  return { y, mean, variance };
}

function composedBatchNormTrain(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  eps: number,
): { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const c = x.shape[3];
  // The batch statistics are computed inside the custom-gradient forward pass (not recorded on
  // the tape); they leave it as kept tensors and are handed to the caller's scope below.
  let stats: { mean: tf.Tensor1D; variance: tf.Tensor1D } | undefined;
  const bn = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, g, b] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const count = xIn.size / c;
    const mean = channelMeanRaw(xIn);
    const xc = tf.sub(xIn, mean);
    const variance = channelMeanRaw(tf.square(xc));
    const invStd = tf.rsqrt(tf.add(variance, eps));
    const xhat = tf.mul(xc, invStd);
    const y = tf.add(tf.mul(xhat, g), b);
    save([xhat, invStd, g]);
    stats = { mean: tf.keep(mean), variance: tf.keep(variance) };
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sXhat, sInvStd, sGamma] = saved;
        const dbeta = channelSumRaw(dy);
        const dgamma = channelSumRaw(tf.mul(dy, sXhat));
        const scale = tf.mul(sGamma, sInvStd);
        const dx = tf.sub(
          tf.sub(tf.mul(dy, scale), tf.mul(sXhat, tf.mul(scale, tf.div(dgamma, count)))),
          tf.mul(scale, tf.div(dbeta, count)),
        );
        return [dx, dgamma, dbeta];
      },
    };
  });
  const y = bn(x, gamma, beta) as tf.Tensor4D;
  return rehomeStats(y, stats!);
}

/**
 * Inference-mode batch norm with the running statistics, folded into one scale and shift per
 * channel (then ReLU if asked): one native pass on a backend with the kernel, tfjs ops elsewhere.
 * Channels last, any rank.
 */
export function batchNormInference(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  mean: tf.Tensor1D,
  variance: tf.Tensor1D,
  eps: number,
  opts: BatchNormOptions = {},
): tf.Tensor {
  const relu = opts.relu === true;
  if (hasNativeKernel(BATCH_NORM_INFERENCE)) {
    return tf.engine().runKernel(BATCH_NORM_INFERENCE, { x, gamma, beta, mean, variance }, { eps, relu } as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  return tf.tidy(() => {
    const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, eps)));
    const shift = tf.sub(beta, tf.mul(mean, scale));
    const y = tf.add(tf.mul(x, scale), shift);
    return relu ? tf.relu(y) : y;
  });
}
