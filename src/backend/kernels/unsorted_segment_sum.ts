/**
 * UnsortedSegmentSum for wasm (tfjs-backend-wasm 4.22 has none; the gradient of GatherV2, e.g.
 * Network Slimming's channel selection, needs it). out[s, ...] = sum of x[i, ...] over the i whose
 * segment id is s; ids outside [0, numSegments) are dropped. A direct loop over the wasm heap that
 * adds in the same order as the cpu backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs, WasmBackendLike } from './util.ts';

function unsortedSegmentSum({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const be = backend as unknown as WasmBackendLike;
  const x = inputs.x as tf.TensorInfo;
  const ids = inputs.segmentIds as tf.TensorInfo;
  const { numSegments } = attrs as unknown as { numSegments: number };
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum (prunebench wasm kernel): x must be float32 or int32, got ${x.dtype}`);
  }
  const n = tf.util.sizeFromShape(ids.shape);
  const outShape = [numSegments, ...x.shape.slice(ids.shape.length)];
  const inner = tf.util.sizeFromShape(x.shape.slice(ids.shape.length));
  const out = be.makeOutput(outShape, x.dtype);
  const ov = be.typedArrayFromHeap(out);
  const xv = be.typedArrayFromHeap(x);
  const iv = be.typedArrayFromHeap(ids);
  ov.fill(0);
  for (let i = 0; i < n; i++) {
    const s = iv[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) ov[dst + j] += xv[src + j];
  }
  return out;
}

export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
};
