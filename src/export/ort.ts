import * as tf from '@tensorflow/tfjs-core';
import type * as Ort from 'onnxruntime-node';
import { BackendError } from '../util/errors.ts';
import { ONNX_INPUT, ONNX_OUTPUT } from './onnx.ts';

/**
 * ONNX Runtime (CPU) on an exported model. onnxruntime-node is loaded on first use, so that
 * `export` and everything else run without its native library.
 */
let ortModule: typeof Ort | undefined;
export async function loadOrt(): Promise<typeof Ort> {
  if (ortModule) return ortModule;
  try {
    ortModule = (await import('onnxruntime-node')) as typeof Ort;
  } catch (e) {
    throw new BackendError(`ONNX Runtime (onnxruntime-node) cannot be loaded: ${(e as Error).message}; run npm ci`);
  }
  return ortModule;
}

export interface OrtSessionOptions {
  /** Intra-op threads (default 1: one core, like prunebench's bench). */
  threads?: number;
}

export async function createOrtSession(onnx: Uint8Array, o: OrtSessionOptions = {}): Promise<Ort.InferenceSession> {
  const ort = await loadOrt();
  return ort.InferenceSession.create(onnx, {
    executionProviders: ['cpu'],
    intraOpNumThreads: o.threads ?? 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
}

/** An NHWC image batch (prunebench's layout) as the NCHW float32 tensor the export takes. */
export async function nchwInput(x: tf.Tensor4D): Promise<Ort.Tensor> {
  const ort = await loadOrt();
  const [n, h, w, c] = x.shape;
  const data = tf.tidy(() => tf.transpose(x, [0, 3, 1, 2]).dataSync() as Float32Array);
  return new ort.Tensor('float32', data, [n, c, h, w]);
}

/** Logits [batch, classes] of an ONNX session for an NHWC batch. */
export async function runOrt(session: Ort.InferenceSession, x: tf.Tensor4D): Promise<{ data: Float32Array; dims: number[] }> {
  const result = await session.run({ [ONNX_INPUT]: await nchwInput(x) });
  const y = result[ONNX_OUTPUT]!;
  return { data: y.data as Float32Array, dims: [...y.dims] };
}
