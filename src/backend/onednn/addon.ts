/**
 * Loads prunebench's native oneDNN addon (native/onednn, the optional dependency
 * `prunebench-onednn`, compiled by node-gyp at `npm install`). It is optional: when it is absent
 * or cannot load, `loadOnednnAddon` returns the reason in one line with what to do about it, and
 * the caller decides (auto skips it; an explicit --backend onednn is an error).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { REPO_ROOT } from '../../util/repo.ts';

/** What the addon reports about itself. */
export interface OnednnInfo {
  /** oneDNN library version, e.g. "2.6.3". */
  version: string;
  /** The instruction set oneDNN dispatches to on this CPU (e.g. "avx512_core_bf16"). */
  isa: string;
  cpuRuntime: string;
  /** OpenMP threads for new primitives. */
  threads: number;
}

/**
 * The addon's functions. Tensor arguments are byte offsets into `heap`, the wasm backend's HEAPU8
 * view, which must be re-read on every call (wasm memory growth replaces it). Shapes are NHWC
 * activations and HWIO filters, as in tfjs.
 */
export interface OnednnAddon {
  info(): OnednnInfo;
  setThreads(threads: number): void;
  /** [N, H, W, IC, OC, KH, KW, strideH, strideW, padTop, padLeft, padBottom, padRight] -> plan id. */
  createConvPlan(params: Int32Array): number;
  convForward(plan: number, heap: Uint8Array, x: number, filter: number, y: number): void;
  convBackwardData(plan: number, heap: Uint8Array, dy: number, filter: number, dx: number): void;
  convBackwardWeights(plan: number, heap: Uint8Array, x: number, dy: number, dw: number): void;
  convPlanInfo(plan: number): string;
  /** Training-mode batch norm over `rows` x `channels` (channels last), optional fused ReLU; writes y, batch mean, biased variance. */
  batchNormTrainForward(
    heap: Uint8Array,
    rows: number,
    channels: number,
    x: number,
    gamma: number,
    beta: number,
    eps: number,
    relu: boolean,
    y: number,
    mean: number,
    variance: number,
  ): void;
  /** Its gradient: dx, dgamma, dbeta from the saved input and batch statistics (the ReLU mask is recomputed). */
  batchNormTrainBackward(
    heap: Uint8Array,
    rows: number,
    channels: number,
    x: number,
    gamma: number,
    beta: number,
    mean: number,
    variance: number,
    eps: number,
    relu: boolean,
    dy: number,
    dx: number,
    dgamma: number,
    dbeta: number,
  ): void;
  batchNormInference(
    heap: Uint8Array,
    rows: number,
    channels: number,
    x: number,
    gamma: number,
    beta: number,
    mean: number,
    variance: number,
    eps: number,
    relu: boolean,
    y: number,
  ): void;
  /** params: [N, H, W, C, KH, KW, strideH, strideW, padTop, padLeft, outH, outW]. */
  maxPoolForward(heap: Uint8Array, params: Int32Array, x: number, y: number): void;
  maxPoolBackward(heap: Uint8Array, params: Int32Array, x: number, dy: number, dx: number): void;
  avgPoolForward(heap: Uint8Array, params: Int32Array, x: number, y: number): void;
  avgPoolBackward(heap: Uint8Array, params: Int32Array, dy: number, dx: number): void;
  /** out[r, :] = concatenation of the inputs' rows (rows x sizes[i] floats each). */
  concatChannels(heap: Uint8Array, rows: number, sizes: Int32Array, inputs: Float64Array, out: number): void;
  /** The inverse of concatChannels. */
  splitChannels(heap: Uint8Array, rows: number, sizes: Int32Array, input: number, outputs: Float64Array): void;
  /** One torch-style SGD step of n floats; buffer -1 for a fresh (zero) momentum buffer. */
  sgdStep(
    heap: Uint8Array,
    n: number,
    param: number,
    grad: number,
    buffer: number,
    outParam: number,
    outBuffer: number,
    lr: number,
    momentum: number,
    weightDecay: number,
    nesterov: boolean,
  ): void;
  /** A slice of a row-major tensor of 4-byte elements. */
  slice(heap: Uint8Array, shape: Int32Array, begin: Int32Array, size: Int32Array, input: number, output: number): void;
}

export const ONEDNN_PACKAGE = 'prunebench-onednn';
const NATIVE_DIR = join(REPO_ROOT, 'native', 'onednn');
/** How to get the addon, for messages. */
export const ONEDNN_INSTALL_HINT =
  'install oneDNN (`apt-get install libdnnl-dev`, Debian/Ubuntu), then `npm install` (or `npm rebuild prunebench-onednn`)';

let cached: { addon: OnednnAddon } | { reason: string } | undefined;

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!;
}

/**
 * The addon, or the reason it cannot be used. Looks for the installed package first, then for a
 * build in native/onednn (a manual `node-gyp rebuild` there after installing oneDNN later).
 * `where` (tests) looks elsewhere, uncached.
 */
export function loadOnednnAddon(where?: { packageName: string; nativeDir: string }): { addon: OnednnAddon } | { reason: string } {
  if (cached && !where) return cached;
  const result = load(where?.packageName ?? ONEDNN_PACKAGE, where?.nativeDir ?? NATIVE_DIR);
  if (!where) cached = result;
  return result;
}

function load(packageName: string, nativeDir: string): { addon: OnednnAddon } | { reason: string } {
  const require = createRequire(import.meta.url);
  let loaded: unknown;
  let failure: string | undefined;
  try {
    loaded = require(packageName);
  } catch (err) {
    const code = (err as { code?: string }).code;
    const built = join(nativeDir, 'build', 'Release', 'prunebench_onednn.node');
    if (code === 'MODULE_NOT_FOUND' && existsSync(built)) {
      try {
        loaded = require(built);
      } catch (err2) {
        failure = `the native addon failed to load: ${firstLine(err2)}`;
      }
    } else if (code === 'MODULE_NOT_FOUND') {
      failure = `the native addon ${packageName} is not built (its build needs oneDNN's headers and a C++ compiler)`;
    } else {
      failure = `the native addon failed to load: ${firstLine(err)}`;
    }
  }
  if (failure !== undefined) return { reason: `${failure}; to use it, ${ONEDNN_INSTALL_HINT}` };
  const addon = loaded as OnednnAddon;
  if (typeof addon?.createConvPlan !== 'function' || typeof addon?.info !== 'function') {
    return { reason: `${packageName} loaded but is not the expected addon (rebuild it: npm rebuild ${packageName})` };
  }
  return { addon };
}
