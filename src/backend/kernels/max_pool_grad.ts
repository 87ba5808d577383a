/**
 * MaxPoolGrad for wasm. The stock wasm kernel starts its max search at the smallest positive
 * float, so windows whose values are all <= 0 get no gradient, and ties go to the last maximum.
 * This one matches the cpu backend exactly: the gradient goes to the FIRST maximum of each window
 * in row-major order, starting from -Infinity (a window of NaN/-Infinity gets none).
 * It is a direct loop over the wasm heap (about 10 ns per input element on one core).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs, WasmBackendLike } from './util.ts';

interface Attrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function maxPoolGrad({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const a = attrs as unknown as Attrs;
  const be = backend as unknown as WasmBackendLike;
  const input = inputs.input as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  const out = be.makeOutput(input.shape.slice(), 'float32');
  // Views are taken after the allocation (which may grow the heap and detach older views).
  const dx = be.typedArrayFromHeap(out) as Float32Array;
  const xv = be.typedArrayFromHeap(input) as Float32Array;
  const dyv = be.typedArrayFromHeap(dy) as Float32Array;
  dx.fill(0);
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth, strideHeight, strideWidth } = info;
  const { dilationHeight, dilationWidth, effectiveFilterHeight, effectiveFilterWidth } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  for (let b = 0; b < batchSize; b++) {
    for (let yr = 0; yr < outHeight; yr++) {
      const rCorner = yr * strideHeight - padTop;
      let rMin = rCorner;
      while (rMin < 0) rMin += dilationHeight;
      const rMax = Math.min(inHeight, rCorner + effectiveFilterHeight);
      for (let yc = 0; yc < outWidth; yc++) {
        const cCorner = yc * strideWidth - padLeft;
        let cMin = cCorner;
        while (cMin < 0) cMin += dilationWidth;
        const cMax = Math.min(inWidth, cCorner + effectiveFilterWidth);
        const outBase = ((b * outHeight + yr) * outWidth + yc) * c;
        for (let d = 0; d < c; d++) {
          let best = -Infinity;
          let bestIdx = -1;
          for (let xr = rMin; xr < rMax; xr += dilationHeight) {
            const rowBase = (b * inHeight + xr) * inWidth;
            for (let xc = cMin; xc < cMax; xc += dilationWidth) {
              const idx = (rowBase + xc) * c + d;
              const v = xv[idx];
              if (v > best) {
                best = v;
                bestIdx = idx;
              }
            }
          }
          if (bestIdx >= 0) dx[bestIdx] += dyv[outBase + d];
        }
      }
    }
  }
  return out;
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as unknown as unknown as tf.KernelFunc,
};
