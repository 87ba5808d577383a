/**
 * MaxPool, MaxPoolGrad, AvgPool and AvgPoolGrad for the onednn backend: native loops over the
 * wasm heap (see native/onednn/src/pool.cc for the conventions, which are the cpu backend's).
 * Average pooling with padding, dilated or non-NHWC pooling go to the wasm kernel of the same name.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs } from '../../kernels/util.ts';
import { heapOffset, type OnednnRuntime, type WasmHeapBackend } from '../runtime.ts';

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dataFormat?: string;
}

/** [N, H, W, C, KH, KW, sH, sW, padTop, padLeft, outH, outW] and the output shape, or null. */
function poolParams(xShape: number[], a: PoolAttrs, unpaddedOnly: boolean): { params: number[]; outShape: number[] } | null {
  if (a.dataFormat != null && a.dataFormat !== 'NHWC' && a.dataFormat !== 'channelsLast') return null;
  const info = tf.backend_util.computePool2DInfo(xShape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  const { top, left } = info.padInfo;
  if (top < 0 || left < 0) return null;
  if (info.batchSize * info.inHeight * info.inWidth * info.inChannels === 0 || info.outHeight < 1 || info.outWidth < 1) return null;
  if (unpaddedOnly) {
    const inside =
      top === 0 &&
      left === 0 &&
      (info.outHeight - 1) * info.strideHeight + info.filterHeight <= info.inHeight &&
      (info.outWidth - 1) * info.strideWidth + info.filterWidth <= info.inWidth;
    if (!inside) return null;
  }
  const params = [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    top,
    left,
    info.outHeight,
    info.outWidth,
  ];
  return { params, outShape: info.outShape };
}

export function poolKernels(rt: OnednnRuntime, fallback: (name: string) => tf.KernelFunc): tf.KernelConfig[] {
  const maxPool = ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo => {
    const x = inputs.x as tf.TensorInfo;
    const p = x.dtype === 'float32' ? poolParams(x.shape, attrs as unknown as PoolAttrs, false) : null;
    if (p === null) return fallback(tf.MaxPool)({ inputs, backend, attrs: attrs! }) as tf.TensorInfo;
    const be = backend as unknown as WasmHeapBackend;
    const out = be.makeOutput(p.outShape, 'float32');
    rt.count(tf.MaxPool);
    rt.addon.maxPoolForward(be.wasm.HEAPU8, rt.poolPlan(p.params), heapOffset(be, x), heapOffset(be, out));
    return out;
  };

  const maxPoolGrad = ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo => {
    const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const p = input.dtype === 'float32' && dy.dtype === 'float32' ? poolParams(input.shape, attrs as unknown as PoolAttrs, false) : null;
    if (p === null) return fallback(tf.MaxPoolGrad)({ inputs, backend, attrs: attrs! }) as tf.TensorInfo;
    const be = backend as unknown as WasmHeapBackend;
    const out = be.makeOutput(input.shape.slice(), 'float32');
    rt.count(tf.MaxPoolGrad);
    rt.addon.maxPoolBackward(be.wasm.HEAPU8, rt.poolPlan(p.params), heapOffset(be, input), heapOffset(be, dy), heapOffset(be, out));
    return out;
  };

  const avgPool = ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo => {
    const x = inputs.x as tf.TensorInfo;
    const p = x.dtype === 'float32' ? poolParams(x.shape, attrs as unknown as PoolAttrs, true) : null;
    if (p === null) return fallback(tf.AvgPool)({ inputs, backend, attrs: attrs! }) as tf.TensorInfo;
    const be = backend as unknown as WasmHeapBackend;
    const out = be.makeOutput(p.outShape, 'float32');
    rt.count(tf.AvgPool);
    rt.addon.avgPoolForward(be.wasm.HEAPU8, rt.poolPlan(p.params), heapOffset(be, x), heapOffset(be, out));
    return out;
  };

  const avgPoolGrad = ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo => {
    const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const p = dy.dtype === 'float32' ? poolParams(input.shape, attrs as unknown as PoolAttrs, true) : null;
    if (p === null) return fallback(tf.AvgPoolGrad)({ inputs, backend, attrs: attrs! }) as tf.TensorInfo;
    const be = backend as unknown as WasmHeapBackend;
    const out = be.makeOutput(input.shape.slice(), 'float32');
    rt.count(tf.AvgPoolGrad);
    rt.addon.avgPoolBackward(be.wasm.HEAPU8, rt.poolPlan(p.params), heapOffset(be, dy), heapOffset(be, out));
    return out;
  };

  return [
    { kernelName: tf.MaxPool, backendName: 'onednn', kernelFunc: maxPool as unknown as tf.KernelFunc },
    { kernelName: tf.MaxPoolGrad, backendName: 'onednn', kernelFunc: maxPoolGrad as unknown as tf.KernelFunc },
    { kernelName: tf.AvgPool, backendName: 'onednn', kernelFunc: avgPool as unknown as tf.KernelFunc },
    { kernelName: tf.AvgPoolGrad, backendName: 'onednn', kernelFunc: avgPoolGrad as unknown as tf.KernelFunc },
  ];
}
