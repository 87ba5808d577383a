/**
 * State shared by the onednn kernels: the addon, the thread count, and the caches of oneDNN
 * primitives ("plans"), keyed by shape, attributes and thread count (oneDNN fixes a primitive's
 * thread decomposition when it is created, so a plan made for 1 thread is not reused for 2).
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
  private readonly bnPlans = new Map<string, { id: number; workspaceBytes: number }>();
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

  bnPlan(shape: readonly number[], eps: number, relu: boolean): { id: number; workspaceBytes: number } {
    const key = `${shape.join(',')}|${eps}|${relu}|${this.threadCount}`;
    let plan = this.bnPlans.get(key);
    if (plan === undefined) {
      const id = this.addon.createBatchNormPlan(Int32Array.from(shape), eps, relu);
      plan = { id, workspaceBytes: this.addon.batchNormWorkspaceBytes(id) };
      this.bnPlans.set(key, plan);
    }
    return plan;
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

  /** Number of cached oneDNN primitives (for tests and the bench). */
  get planCount(): number {
    return this.convPlans.size + this.bnPlans.size;
  }
}

/** Byte offset of a tensor's data in the wasm heap. */
export function heapOffset(backend: WasmHeapBackend, t: tf.TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (data === undefined) throw new Error(`onednn kernel: tensor ${String(t.dataId)} is not on this backend`);
  return data.memoryOffset;
}
