/**
 * Helpers shared by the wasm training kernels.
 *
 * Most kernels here are compositions of fast wasm kernels (XNNPACK Conv2D, batch-1 BatchMatMul,
 * reshapes) written with ordinary tfjs ops inside `tf.tidy`. That is safe inside a kernel: the
 * engine raises `kernelDepth` while a kernel runs, so nothing inside is recorded on the gradient
 * tape, and `tidy` disposes every intermediate. A kernel may return a `tf.Tensor` (the engine uses
 * it as the output as is). Kernels that touch the wasm heap directly use the backend's public
 * methods (`makeOutput`, `typedArrayFromHeap`, `incRef`), as tfjs-backend-wasm's own kernels do.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The subset of `BackendWasm` (tfjs-backend-wasm 4.22) that these kernels use. */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  incRef(dataId: tf.DataId): void;
}

/**
 * The inputs of a kernel invoked through the engine are Tensors. Should a kernel be handed a bare
 * TensorInfo, wrap it in a Tensor that owns one extra reference (dropped when it is disposed).
 */
export function asTensor(t: tf.TensorInfo, backend: tf.KernelBackend): tf.Tensor {
  if (t instanceof tf.Tensor) return t;
  backend.incRef(t.dataId);
  return tf.engine().makeTensorFromTensorInfo(t);
}

/** A fresh copy of `t` with its own data id (the wasm heap bytes are copied). */
export function copyData(t: tf.TensorInfo, backend: WasmBackendLike): tf.TensorInfo {
  const out = backend.makeOutput(t.shape.slice(), t.dtype);
  // makeOutput may grow the heap, so the input view is taken after it.
  backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(t));
  return out;
}

/**
 * A stride-1, dilation-d convolution whose paddings may be negative (a negative padding crops
 * the input). XNNPACK does the work; crops are slices of the input.
 */
export function conv2dPadCrop(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  pad: { top: number; bottom: number; left: number; right: number },
  dilation: [number, number] = [1, 1],
): tf.Tensor4D {
  let input = x;
  const cropTop = Math.max(0, -pad.top);
  const cropBottom = Math.max(0, -pad.bottom);
  const cropLeft = Math.max(0, -pad.left);
  const cropRight = Math.max(0, -pad.right);
  if (cropTop + cropBottom + cropLeft + cropRight > 0) {
    const [n, h, w, c] = x.shape;
    input = tf.slice(x, [0, cropTop, cropLeft, 0], [n, h - cropTop - cropBottom, w - cropLeft - cropRight, c]);
  }
  const explicit: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [Math.max(0, pad.top), Math.max(0, pad.bottom)],
    [Math.max(0, pad.left), Math.max(0, pad.right)],
    [0, 0],
  ];
  return tf.conv2d(input, filter, 1, explicit, 'NHWC', dilation);
}

/** Throws unless the layout is NHWC (the only layout the project uses). */
export function assertChannelsLast(kernel: string, dataFormat: string | undefined): void {
  if (dataFormat != null && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`${kernel} (prunebench wasm kernel): only NHWC is supported, got dataFormat ${dataFormat}`);
  }
}

/** What the engine passes to a kernel function (tfjs types `backend` as `{}`). */
export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs?: tf.NamedAttrMap;
}
