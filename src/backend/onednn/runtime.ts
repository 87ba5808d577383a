/**
 * State shared by the onednn kernels: the addon, the thread count, the cache of oneDNN
 * convolution primitives ("plans"), keyed by shape, attributes and thread count (oneDNN fixes a
 * primitive's thread decomposition when it is created, so a plan made for 1 thread is not reused
 * for 2), and per-kernel call counts.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { WasmBackendLike } from '../kernels/util.ts';
import type { OnednnAddon } from './addon.ts';

/** The parts of tfjs-backend-wasm's BackendWasm (4.22) that the native kernels use. */
export interface WasmHeapBackend extends WasmBackendLike {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } | undefined };
}

export class OnednnRuntime {
  private threadCount = 1;
  private readonly convPlans = new Map<string, number>();
  private readonly poolParams = new Map<string, Int32Array>();

  constructor(readonly addon: OnednnAddon) {
    addon.setThreads(1);
  }

  get threads(): number {
    return this.threadCount;
  }

  setThreads(threads: number): void {
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`onednn threads must be a positive integer, got ${threads}`);
    this.addon.setThreads(threads);
    this.threadCount = threads;
  }

  /** params: [N, H, W, IC, OC, KH, KW, strideH, strideW, padTop, padLeft, padBottom, padRight]. */
  convPlan(params: number[]): number {
    const key = `${params.join(',')}|${this.threadCount}`;
    let id = this.convPlans.get(key);
    if (id === undefined) {
      id = this.addon.createConvPlan(Int32Array.from(params));
      this.convPlans.set(key, id);
    }
    return id;
  }

  /** params: [N, H, W, C, KH, KW, strideH, strideW, padTop, padLeft, outH, outW], interned. */
  poolPlan(params: number[]): Int32Array {
    const key = params.join(',');
    let p = this.poolParams.get(key);
    if (p === undefined) {
      p = Int32Array.from(params);
      this.poolParams.set(key, p);
    }
    return p;
  }

  /** Number of cached oneDNN convolution primitives (for tests and the bench). */
  get planCount(): number {
    return this.convPlans.size;
  }

  /** Calls of each native kernel since the runtime was created (tests check the native path ran). */
  readonly calls = new Map<string, number>();

  count(kernel: string): void {
    this.calls.set(kernel, (this.calls.get(kernel) ?? 0) + 1);
  }
}

/** Byte offset of a tensor's data in the wasm heap. */
export function heapOffset(backend: WasmHeapBackend, t: tf.TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (data === undefined) throw new Error(`onednn kernel: tensor ${String(t.dataId)} is not on this backend`);
  return data.memoryOffset;
}
