/**
 * Conv2DBackpropInput for wasm, built on XNNPACK's forward convolution (the stock wasm kernel is
 * a scalar loop).
 *
 * Per spatial axis with stride s, padding-before p and kernel size K, the input gradient at row
 * h = s*q + ph (output phase ph) only receives the taps k = r + s*j with r = (ph + p) mod s, from
 * dy rows q + c - j, c = floor((ph + p) / s). So each phase is a stride-1 convolution of dy with
 * the spatially flipped, channel-swapped sub-filter W[r::s], padded J-1-c before and Hq-Ho+c
 * after (negative = crop). For stride 1 there is one phase: padding K-1-p before and H-Ho+p after.
 * The s_h*s_w phase results [N,Hq,Wq,Cin] are stacked and interleaved back with one
 * reshape/transpose/reshape, then cropped to [N,H,W,Cin].
 */
import * as tf from '@tensorflow/tfjs-core';
import { asTensor, assertChannelsLast, conv2dPadCrop, type KernelArgs } from './util.ts';

interface Attrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/** The sub-filter taps and paddings of one output phase along one axis. */
interface AxisPhase {
  /** First tap r of the sub-filter W[r::s]. */
  first: number;
  /** Number of taps J (0: this phase receives no gradient). */
  taps: number;
  before: number;
  after: number;
}

export function axisPhase(phase: number, stride: number, padBefore: number, k: number, outLen: number, phaseLen: number): AxisPhase {
  const first = (phase + padBefore) % stride;
  const c = Math.floor((phase + padBefore) / stride);
  const taps = first < k ? Math.ceil((k - first) / stride) : 0;
  return { first, taps, before: taps - 1 - c, after: phaseLen - outLen + c };
}

function conv2dBackpropInput({ inputs, backend, attrs }: KernelArgs): tf.Tensor {
  const a = attrs as unknown as Attrs;
  assertChannelsLast('Conv2DBackpropInput', a.dataFormat);
  return tf.tidy(() => {
    const dy = asTensor(inputs.dy as tf.TensorInfo, backend) as tf.Tensor4D;
    const filter = asTensor(inputs.filter as tf.TensorInfo, backend) as tf.Tensor4D;
    const info = tf.backend_util.computeConv2DInfo(
      a.inputShape,
      filter.shape,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
      false,
      'channelsLast',
    );
    const [n, h, w, cin] = a.inputShape;
    const [kh, kw] = filter.shape;
    const { strideHeight: sh, strideWidth: sw, outHeight: ho, outWidth: wo } = info;
    const hq = Math.ceil(h / sh);
    const wq = Math.ceil(w / sw);
    const phases: tf.Tensor4D[] = [];
    for (let ph = 0; ph < sh; ph++) {
      const ah = axisPhase(ph, sh, info.padInfo.top, kh, ho, hq);
      for (let pw = 0; pw < sw; pw++) {
        const aw = axisPhase(pw, sw, info.padInfo.left, kw, wo, wq);
        if (ah.taps === 0 || aw.taps === 0) {
          phases.push(tf.zeros([n, hq, wq, cin]));
          continue;
        }
        const sub =
          sh === 1 && sw === 1
            ? filter
            : (tf.stridedSlice(filter, [ah.first, aw.first, 0, 0], filter.shape, [sh, sw, 1, 1]) as tf.Tensor4D);
        const flipped = tf.transpose(tf.reverse(sub, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
        phases.push(conv2dPadCrop(dy, flipped, { top: ah.before, bottom: ah.after, left: aw.before, right: aw.after }));
      }
    }
    if (phases.length === 1) return phases[0];
    const stacked = tf.reshape(tf.stack(phases), [sh, sw, n, hq, wq, cin]);
    const interleaved = tf.reshape(tf.transpose(stacked, [2, 3, 0, 4, 1, 5]), [n, hq * sh, wq * sw, cin]);
    return hq * sh === h && wq * sw === w ? interleaved : tf.slice(interleaved, [0, 0, 0, 0], [n, h, w, cin]);
  });
}

export const conv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInput as unknown as tf.KernelFunc,
};
