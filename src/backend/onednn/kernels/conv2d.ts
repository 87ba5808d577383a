/**
 * Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter for the onednn backend: oneDNN
 * convolutions reading and writing the tfjs tensors in the wasm heap. Cases oneDNN is not set up
 * for here (dilation, NCHW, non-float32, paddings that do not fit the output size) go to the
 * wasm kernel of the same name.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs } from '../../kernels/util.ts';
import { heapOffset, type OnednnRuntime, type WasmHeapBackend } from '../runtime.ts';

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
interface ConvAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat?: string;
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** oneDNN plan parameters and the output shape of a conv, or null if oneDNN is not set up for the case. */
function planParams(xShape: number[], filterShape: number[], a: ConvAttrs): { params: number[]; outShape: number[] } | null {
  if (a.dataFormat != null && a.dataFormat !== 'NHWC' && a.dataFormat !== 'channelsLast') return null;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    a.dilations ?? 1,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  const { top, left, bottom, right } = info.padInfo;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) return null;
  // oneDNN derives the output size as floor((in + pads - k) / stride) + 1; it must agree with tfjs.
  if (Math.floor((info.inHeight + top + bottom - info.filterHeight) / info.strideHeight) + 1 !== info.outHeight) return null;
  if (Math.floor((info.inWidth + left + right - info.filterWidth) / info.strideWidth) + 1 !== info.outWidth) return null;
  if (info.batchSize * info.inHeight * info.inWidth * info.inChannels === 0 || info.outChannels === 0) return null;
  const params = [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    top,
    left,
    bottom,
    right,
  ];
  return { params, outShape: info.outShape };
}

export function conv2dKernels(rt: OnednnRuntime, fallback: (name: string) => tf.KernelFunc): tf.KernelConfig[] {
  const conv2d = ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo => {
    const { x, filter } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const a = attrs as unknown as ConvAttrs;
    const plan = x.dtype === 'float32' && filter.dtype === 'float32' ? planParams(x.shape, filter.shape, a) : null;
    if (plan === null) return fallback(tf.Conv2D)({ inputs, backend, attrs: attrs! }) as tf.TensorInfo;
    const be = backend as unknown as WasmHeapBackend;
    const id = rt.convPlan(plan.params);
    const out = be.makeOutput(plan.outShape, 'float32');
    // Offsets and the heap view are read after makeOutput, which may grow (and so replace) the heap.
    rt.count(tf.Conv2D);
    rt.addon.convForward(id, be.wasm.HEAPU8, heapOffset(be, x), heapOffset(be, filter), heapOffset(be, out));
    return out;
  };

  const conv2dBackpropInput = ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo => {
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const a = attrs as unknown as ConvAttrs & { inputShape: number[] };
    const plan = dy.dtype === 'float32' && filter.dtype === 'float32' ? planParams(a.inputShape, filter.shape, a) : null;
    if (plan === null) return fallback(tf.Conv2DBackpropInput)({ inputs, backend, attrs: attrs! }) as tf.TensorInfo;
    const be = backend as unknown as WasmHeapBackend;
    const id = rt.convPlan(plan.params);
    const out = be.makeOutput(a.inputShape.slice(), 'float32');
    rt.count(tf.Conv2DBackpropInput);
    rt.addon.convBackwardData(id, be.wasm.HEAPU8, heapOffset(be, dy), heapOffset(be, filter), heapOffset(be, out));
    return out;
  };

  const conv2dBackpropFilter = ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo => {
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const a = attrs as unknown as ConvAttrs & { filterShape: number[] };
    const plan = x.dtype === 'float32' && dy.dtype === 'float32' ? planParams(x.shape, a.filterShape, a) : null;
    if (plan === null) return fallback(tf.Conv2DBackpropFilter)({ inputs, backend, attrs: attrs! }) as tf.TensorInfo;
    const be = backend as unknown as WasmHeapBackend;
    const id = rt.convPlan(plan.params);
    const out = be.makeOutput(a.filterShape.slice(), 'float32');
    rt.count(tf.Conv2DBackpropFilter);
    rt.addon.convBackwardWeights(id, be.wasm.HEAPU8, heapOffset(be, x), heapOffset(be, dy), heapOffset(be, out));
    return out;
  };

  return [
    { kernelName: tf.Conv2D, backendName: 'onednn', kernelFunc: conv2d as unknown as tf.KernelFunc },
    { kernelName: tf.Conv2DBackpropInput, backendName: 'onednn', kernelFunc: conv2dBackpropInput as unknown as tf.KernelFunc },
    { kernelName: tf.Conv2DBackpropFilter, backendName: 'onednn', kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc },
  ];
}
