/**
 * Conv2DBackpropFilter for wasm (tfjs-backend-wasm 4.22 has none).
 *
 * dW[kh,kw,ci,co] = sum_{n,i,j} x[n, i*s-pt+kh, j*s-pl+kw, ci] * dy[n,i,j,co].
 * - General path: that sum is itself a convolution whose "batch" is the input channels and whose
 *   "channels" are the examples: x as [Cin,H,W,N], dy as a filter [Ho,Wo,N,Cout], dilation = the
 *   forward stride, the forward padding (a negative bottom/right padding crops). The result
 *   [Cin,KH,KW,Cout] is transposed to [KH,KW,Cin,Cout]. XNNPACK gathers the patches.
 * - Cin <= 4 (first layer): im2col is faster: the KH*KW strided views of the padded input,
 *   stacked into A = [KH*KW*Cin, N*Ho*Wo] (row order kh,kw,ci = the filter layout), then ONE
 *   non-transposed matMul with dy as [N*Ho*Wo, Cout].
 */
import * as tf from '@tensorflow/tfjs-core';
import { asTensor, assertChannelsLast, conv2dPadCrop, type KernelArgs } from './util.ts';

/** Input channels up to which the im2col variant is used. */
export const IM2COL_MAX_IN_CHANNELS = 4;

interface Attrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

function conv2dBackpropFilter({ inputs, backend, attrs }: KernelArgs): tf.Tensor {
  const a = attrs as unknown as Attrs;
  assertChannelsLast('Conv2DBackpropFilter', a.dataFormat);
  return tf.tidy(() => {
    const x = asTensor(inputs.x as tf.TensorInfo, backend) as tf.Tensor4D;
    const dy = asTensor(inputs.dy as tf.TensorInfo, backend) as tf.Tensor4D;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape,
      a.filterShape,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
      false,
      'channelsLast',
    );
    const [kh, kw, cin, cout] = a.filterShape;
    const { strideHeight: sh, strideWidth: sw, outHeight: ho, outWidth: wo, inHeight: h, inWidth: w } = info;
    const pt = info.padInfo.top;
    const pl = info.padInfo.left;
    const n = x.shape[0];
    if (cin <= IM2COL_MAX_IN_CHANNELS) {
      // Rows needed from the top of the padded input: (Ho-1)*s + KH.
      const needH = (ho - 1) * sh + kh;
      const needW = (wo - 1) * sw + kw;
      const xt = tf.transpose(x, [3, 0, 1, 2]); // [Cin, N, H, W]
      const padBottom = Math.max(0, needH - pt - h);
      const padRight = Math.max(0, needW - pl - w);
      const xp =
        pt + padBottom + pl + padRight > 0
          ? tf.pad(xt, [
              [0, 0],
              [0, 0],
              [pt, padBottom],
              [pl, padRight],
            ])
          : xt;
      const cols: tf.Tensor[] = [];
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          cols.push(
            tf.stridedSlice(xp, [0, 0, i, j], [cin, n, i + (ho - 1) * sh + 1, j + (wo - 1) * sw + 1], [1, 1, sh, sw]),
          );
        }
      }
      const a2 = tf.reshape(tf.stack(cols), [kh * kw * cin, n * ho * wo]);
      const dy2 = tf.reshape(dy, [n * ho * wo, cout]);
      return tf.reshape(tf.matMul(a2, dy2), [kh, kw, cin, cout]);
    }
    const xt = tf.transpose(x, [3, 1, 2, 0]); // [Cin, H, W, N]
    const dyt = tf.transpose(dy, [1, 2, 0, 3]); // [Ho, Wo, N, Cout], used as the filter
    const out = conv2dPadCrop(
      xt,
      dyt,
      { top: pt, bottom: kh + (ho - 1) * sh - h - pt, left: pl, right: kw + (wo - 1) * sw - w - pl },
      [sh, sw],
    ); // [Cin, KH, KW, Cout]
    return tf.transpose(out, [1, 2, 0, 3]);
  });
}

export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc,
};
