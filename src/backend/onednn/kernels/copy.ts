/**
 * Concat and SplitV on the channel (last) axis and Slice, for the onednn backend: native copies
 * over the wasm heap. The wasm backend copies these row by row in JavaScript (DenseNet's channel
 * concatenations and their gradients dominated its profile). Other axes and dtypes go to the
 * wasm kernel of the same name.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs } from '../../kernels/util.ts';
import { heapOffset, type OnednnRuntime, type WasmHeapBackend } from '../runtime.ts';

const FOUR_BYTES: ReadonlySet<tf.DataType> = new Set(['float32', 'int32']);

function size(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

export function copyKernels(rt: OnednnRuntime, fallback: (name: string) => tf.KernelFunc): tf.KernelConfig[] {
  const concat = (args: KernelArgs): tf.TensorInfo => {
    const { inputs, backend, attrs } = args;
    const list = Object.values(inputs) as tf.TensorInfo[];
    const first = list[0];
    const rank = first?.shape.length ?? 0;
    const axis = first ? tf.util.parseAxisParam((attrs as { axis: number }).axis, first.shape)[0] : -1;
    const lead = first?.shape.slice(0, -1).join();
    const native =
      first !== undefined &&
      list.length > 1 &&
      axis === rank - 1 &&
      list.every((t) => t.dtype === 'float32' && t.shape.length === rank && t.shape.slice(0, -1).join() === lead && size(t.shape) > 0);
    if (!native) return fallback(tf.Concat)(args as never) as tf.TensorInfo;
    const be = backend as unknown as WasmHeapBackend;
    const sizes = Int32Array.from(list, (t) => t.shape[rank - 1]!);
    const total = sizes.reduce((a, b) => a + b, 0);
    const out = be.makeOutput([...first.shape.slice(0, -1), total], 'float32');
    rt.count(tf.Concat);
    rt.addon.concatChannels(be.wasm.HEAPU8, size(first.shape) / sizes[0]!, sizes, Float64Array.from(list, (t) => heapOffset(be, t)), heapOffset(be, out));
    return out;
  };

  const splitV = (args: KernelArgs): tf.TensorInfo[] => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x as tf.TensorInfo;
    const a = attrs as unknown as { numOrSizeSplits: number[] | number; axis: number };
    const axis = tf.util.parseAxisParam(a.axis, x.shape)[0]!;
    const parts = tf.backend_util.prepareSplitSize(x as tf.Tensor, a.numOrSizeSplits, axis);
    if (x.dtype !== 'float32' || axis !== x.shape.length - 1 || parts.length < 2 || parts.some((p) => p < 1) || size(x.shape) === 0) {
      return fallback(tf.SplitV)(args as never) as tf.TensorInfo[];
    }
    const be = backend as unknown as WasmHeapBackend;
    const outs = parts.map((p) => be.makeOutput([...x.shape.slice(0, -1), p], 'float32'));
    rt.count(tf.SplitV);
    rt.addon.splitChannels(be.wasm.HEAPU8, size(x.shape) / x.shape[axis]!, Int32Array.from(parts), heapOffset(be, x), Float64Array.from(outs, (t) => heapOffset(be, t)));
    return outs;
  };

  const slice = (args: KernelArgs): tf.TensorInfo => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x as tf.TensorInfo;
    const a = attrs as unknown as { begin: number | number[]; size: number | number[] };
    const [begin, sizes] = tf.slice_util.parseSliceParams(x as tf.Tensor, a.begin, a.size);
    if (!FOUR_BYTES.has(x.dtype) || x.shape.length < 1 || x.shape.length > 8 || size(sizes) === 0) {
      return fallback(tf.Slice)(args as never) as tf.TensorInfo;
    }
    const be = backend as unknown as WasmHeapBackend;
    const out = be.makeOutput(sizes.slice(), x.dtype);
    rt.count(tf.Slice);
    rt.addon.slice(be.wasm.HEAPU8, Int32Array.from(x.shape), Int32Array.from(begin), Int32Array.from(sizes), heapOffset(be, x), heapOffset(be, out));
    return out;
  };

  return [
    { kernelName: tf.Concat, backendName: 'onednn', kernelFunc: concat as unknown as tf.KernelFunc },
    { kernelName: tf.SplitV, backendName: 'onednn', kernelFunc: splitV as unknown as tf.KernelFunc },
    { kernelName: tf.Slice, backendName: 'onednn', kernelFunc: slice as unknown as tf.KernelFunc },
  ];
}
