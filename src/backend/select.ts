/**
 * Backend selection: the one place where prunebench picks the tfjs compute backend.
 *
 * 'auto' tries @tensorflow/tfjs-node-gpu (a GPU beats any CPU path), then onednn (prunebench's
 * native oneDNN kernels on the wasm heap, the fastest CPU path measured here), then
 * @tensorflow/tfjs-node, then webgpu (TensorFlow.js's WebGPU backend on Dawn, only on a hardware
 * adapter: a software one such as lavapipe is far slower than wasm), then wasm with prunebench's
 * training kernels. The tfjs-node packages are
 * optional dependencies whose install downloads libtensorflow, so they are often absent; onednn is
 * an optional native addon built at install when oneDNN is installed. An explicitly requested
 * backend that cannot load is an error with install advice; 'cpu' (pure JavaScript) is for
 * correctness checks only.
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { BackendError, ConfigError } from '../util/errors.ts';
import { stderrLogger, type Logger } from '../util/log.ts';
import { registerWasmTrainingKernels } from './kernels/register.ts';
import { ONEDNN_BACKEND, onednnRuntime, registerOnednnBackend } from './onednn/register.ts';
import { adapterDetail, loadWebgpuBackend, NO_ADAPTER, SOFTWARE_VULKAN_ADVICE, WEBGPU_BACKEND, type WebgpuAdapter } from './webgpu/register.ts';
import './gradients.ts';

export const BACKEND_NAMES = ['auto', 'tensorflow-gpu', 'tensorflow', 'onednn', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export type ConcreteBackendName = Exclude<BackendName, 'auto'>;

export interface BackendInfo {
  name: ConcreteBackendName;
  tfjsVersion: string;
  /** Compute threads the backend uses (wasm: its thread pool; onednn: its OpenMP threads; tensorflow: the machine's cores). */
  threads: number;
  /**
   * A one-line description of the native library or device, where there is one (onednn: version
   * and ISA; webgpu: the adapter's vendor, architecture and whether it is software).
   */
  detail?: string;
  /** Backends that 'auto' tried before this one, and why each was passed over. */
  skipped: { name: string; reason: string }[];
}

export interface InitBackendOptions {
  /** Backend name; default: env.PRUNEBENCH_BACKEND, else 'auto'. */
  backend?: BackendName | string;
  logger?: Logger;
  /**
   * Environment to read PRUNEBENCH_BACKEND, PRUNEBENCH_THREADS and PRUNEBENCH_DISABLE_ONEDNN (set:
   * never use onednn) from; default process.env.
   */
  env?: NodeJS.ProcessEnv;
  /**
   * Compute threads of the onednn backend (default: env.PRUNEBENCH_THREADS, else 1). One thread per
   * process is the default because parallelism comes from running cells in processes (--jobs), and
   * 2-thread OpenMP on a loaded 2-core machine was measured 10x slower than 1 thread.
   */
  threads?: number;
}

/** The npm package behind each native backend, and the name it registers with tfjs. */
const NATIVE: Record<'tensorflow-gpu' | 'tensorflow', { pkg: string; tfName: string; needs: string }> = {
  'tensorflow-gpu': {
    pkg: '@tensorflow/tfjs-node-gpu',
    tfName: 'tensorflow',
    needs: 'a Linux x86-64 machine with CUDA/cuDNN that can download libtensorflow during install',
  },
  tensorflow: {
    pkg: '@tensorflow/tfjs-node',
    tfName: 'tensorflow',
    needs: 'a machine that can download libtensorflow during install (storage.googleapis.com)',
  },
};

export function isBackendName(name: string): name is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(name);
}

function installAdvice(name: 'tensorflow-gpu' | 'tensorflow'): string {
  const { pkg, needs } = NATIVE[name];
  return (
    `install it with \`npm install ${pkg}@${tf.version_core}\` on ${needs} ` +
    `(npm >= 11 runs its install script only if the package is listed in package.json "allowScripts"), ` +
    `or choose --backend wasm`
  );
}

function shortReason(err: unknown, pkg: string): string {
  const e = err as { code?: string; message?: string };
  if (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') {
    if (String(e.message ?? '').includes(pkg)) return `${pkg} is not installed`;
  }
  const first = String(e?.message ?? err).split('\n')[0];
  return `${pkg} failed to load: ${first}`;
}

/** Tries to load a native tfjs-node backend; returns null on success, else the reason. */
async function tryNative(name: 'tensorflow-gpu' | 'tensorflow'): Promise<string | null> {
  const { pkg, tfName } = NATIVE[name];
  try {
    // The specifier is a variable so TypeScript does not try to resolve the (absent) package.
    const specifier: string = pkg;
    await import(specifier);
  } catch (err) {
    return shortReason(err, pkg);
  }
  try {
    if (!(await tf.setBackend(tfName))) return `${pkg} loaded but tfjs could not initialise backend '${tfName}'`;
  } catch (err) {
    return shortReason(err, pkg);
  }
  return null;
}

/** Registers and activates the onednn backend; null on success, else the reason. */
async function useOnednn(threads: number, env: NodeJS.ProcessEnv): Promise<string | null> {
  const off = env.PRUNEBENCH_DISABLE_ONEDNN;
  if (off != null && off !== '' && off !== '0') return 'disabled by the environment variable PRUNEBENCH_DISABLE_ONEDNN';
  const reason = registerOnednnBackend();
  if (reason != null) return reason;
  try {
    if (!(await tf.setBackend(ONEDNN_BACKEND))) return 'tfjs could not initialise the onednn backend (its wasm module did not load)';
  } catch (err) {
    return `onednn backend failed to initialise: ${String((err as Error)?.message ?? err)}`;
  }
  onednnRuntime()!.setThreads(threads);
  return null;
}

function resolveThreads(opts: InitBackendOptions, env: NodeJS.ProcessEnv): number {
  const fromEnv = env.PRUNEBENCH_THREADS;
  const value = opts.threads ?? (fromEnv != null && fromEnv !== '' ? Number(fromEnv) : 1);
  if (!Number.isInteger(value) || value < 1) {
    const source = opts.threads != null ? '--threads' : 'environment variable PRUNEBENCH_THREADS';
    throw new ConfigError(`Expected ${source} to be a positive integer, but got ${opts.threads ?? fromEnv}`, opts.threads != null ? 'threads' : 'PRUNEBENCH_THREADS');
  }
  return value;
}

function onednnDetail(): string {
  const rt = onednnRuntime()!;
  const i = rt.addon.info();
  return `oneDNN ${i.version}, ${i.isa}, ${rt.threads} thread${rt.threads === 1 ? '' : 's'}`;
}

/** The adapter of the active webgpu backend, once it has been initialised in this process. */
let webgpuAdapter: WebgpuAdapter | undefined;

/**
 * Registers and activates the webgpu backend; null on success, else the reason. With
 * `hardwareOnly` (auto), a software adapter (lavapipe/llvmpipe, SwiftShader) is a reason to skip
 * it: training there is far slower than wasm, so it is only for correctness checks.
 */
async function useWebgpu(hardwareOnly: boolean): Promise<string | null> {
  const loaded = await loadWebgpuBackend();
  if ('reason' in loaded) return hardwareOnly && loaded.reason === NO_ADAPTER ? `${NO_ADAPTER}: install your GPU's Vulkan driver` : loaded.reason;
  if (hardwareOnly && loaded.adapter.software) {
    return `the only WebGPU adapter is software (${loaded.adapter.description || loaded.adapter.vendor}), slower than wasm; --backend webgpu uses it anyway, for correctness checks`;
  }
  try {
    if (!(await tf.setBackend(WEBGPU_BACKEND))) return 'tfjs could not initialise the webgpu backend (see the message above)';
  } catch (err) {
    return `webgpu backend failed to initialise: ${String((err as Error)?.message ?? err).split('\n')[0]}`;
  }
  webgpuAdapter = loaded.adapter;
  return null;
}

/** The error of an explicit --backend webgpu that cannot run: the reason and everything it needs. */
export function webgpuUnavailable(reason: string): BackendError {
  return new BackendError(
    `Backend "webgpu" is not available: ${reason}. It needs the optional packages webgpu and ` +
      `@tensorflow/tfjs-backend-webgpu@${tf.version_core} (installed by \`npm install\`) and a Vulkan driver: ${SOFTWARE_VULKAN_ADVICE}.`,
  );
}

async function useWasm(): Promise<string | null> {
  registerWasmTrainingKernels();
  try {
    if (!(await tf.setBackend('wasm'))) return 'tfjs could not initialise the wasm backend';
  } catch (err) {
    return `wasm backend failed to initialise: ${String((err as Error)?.message ?? err)}`;
  }
  return null;
}

function info(name: ConcreteBackendName, skipped: BackendInfo['skipped']): BackendInfo {
  if (name === 'onednn') {
    return { name, tfjsVersion: tf.version_core, threads: onednnRuntime()!.threads, skipped, detail: onednnDetail() };
  }
  if (name === 'webgpu') {
    return { name, tfjsVersion: tf.version_core, threads: 1, skipped, detail: adapterDetail(webgpuAdapter!) };
  }
  const threads = name === 'wasm' ? getThreadsCount() : name === 'cpu' ? 1 : availableParallelism();
  return { name, tfjsVersion: tf.version_core, threads, skipped };
}

/**
 * Selects and initialises the compute backend. Resolution: opts.backend, else
 * env.PRUNEBENCH_BACKEND, else 'auto'. Calling it again with the same backend is harmless.
 * Throws ConfigError for an unknown name and BackendError for a requested backend that
 * cannot load.
 */
export async function initBackend(opts: InitBackendOptions = {}): Promise<BackendInfo> {
  const logger = opts.logger ?? stderrLogger;
  const env = opts.env ?? process.env;
  const fromEnv = opts.backend == null && env.PRUNEBENCH_BACKEND != null && env.PRUNEBENCH_BACKEND !== '';
  const requested = opts.backend ?? (fromEnv ? env.PRUNEBENCH_BACKEND! : 'auto');
  if (!isBackendName(requested)) {
    const source = fromEnv ? 'environment variable PRUNEBENCH_BACKEND' : '--backend';
    throw new ConfigError(
      `Unknown backend "${requested}" (from ${source}); expected one of: ${BACKEND_NAMES.join(', ')}`,
      fromEnv ? 'PRUNEBENCH_BACKEND' : 'backend',
    );
  }
  const threads = resolveThreads(opts, env);
  // Kernels are registered whatever the backend, so switching to wasm later is always safe.
  registerWasmTrainingKernels();

  if (requested === 'tensorflow-gpu' || requested === 'tensorflow') {
    const reason = await tryNative(requested);
    if (reason != null) {
      throw new BackendError(`Backend "${requested}" is not available: ${reason}. To use it, ${installAdvice(requested)}.`);
    }
    logger.info(`backend: ${requested} (${NATIVE[requested].pkg}, tfjs ${tf.version_core})`);
    return info(requested, []);
  }
  if (requested === 'onednn') {
    const reason = await useOnednn(threads, env);
    if (reason != null) throw new BackendError(`Backend "onednn" is not available: ${reason}`);
    logger.info(`backend: onednn (${onednnDetail()}, tfjs ${tf.version_core})`);
    return info('onednn', []);
  }
  if (requested === 'webgpu') {
    const reason = await useWebgpu(false);
    if (reason != null) throw webgpuUnavailable(reason);
    const result = info('webgpu', []);
    logger.info(`backend: webgpu (${result.detail}, tfjs ${tf.version_core})`);
    if (webgpuAdapter!.software) logger.warn('backend: webgpu is running on a software adapter: far slower than wasm, use it for correctness checks only');
    return result;
  }
  if (requested === 'wasm') {
    const reason = await useWasm();
    if (reason != null) throw new BackendError(`Backend "wasm" is not available: ${reason}`);
    const result = info('wasm', []);
    logger.info(`backend: wasm (${result.threads} thread${result.threads === 1 ? '' : 's'}, tfjs ${tf.version_core})`);
    return result;
  }
  if (requested === 'cpu') {
    if (!(await tf.setBackend('cpu'))) throw new BackendError('Backend "cpu" is not available: tfjs could not initialise it');
    // tfjs's cpu backend prints, on its first tensor, advice to install tfjs-node, which cannot
    // install here; the warning below gives ours. `firstUse` is the flag it checks (tfjs 4.22).
    const cpu = tf.backend() as unknown as { firstUse?: boolean };
    if (cpu.firstUse !== undefined) cpu.firstUse = false;
    logger.warn(
      'backend: cpu is the pure-JavaScript reference backend, about 300x slower than wasm: ' +
        'use it for correctness checks only, not for training',
    );
    return info('cpu', []);
  }

  // auto
  const skipped: BackendInfo['skipped'] = [];
  for (const name of ['tensorflow-gpu', 'onednn', 'tensorflow', 'webgpu'] as const) {
    const reason = name === 'onednn' ? await useOnednn(threads, env) : name === 'webgpu' ? await useWebgpu(true) : await tryNative(name);
    if (reason == null) {
      const what = name === 'onednn' ? onednnDetail() : name === 'webgpu' ? adapterDetail(webgpuAdapter!) : NATIVE[name].pkg;
      logger.info(`backend: auto chose ${name} (${what})${describeSkipped(skipped)}`);
      return info(name, skipped);
    }
    skipped.push({ name, reason });
  }
  const reason = await useWasm();
  if (reason != null) {
    skipped.push({ name: 'wasm', reason });
    throw new BackendError(
      `No usable backend for "auto": ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}. ` +
        `Use --backend cpu for (slow) correctness checks.`,
    );
  }
  const result = info('wasm', skipped);
  logger.info(
    `backend: auto chose wasm (${result.threads} thread${result.threads === 1 ? '' : 's'})${describeSkipped(skipped)}`,
  );
  return result;
}

function describeSkipped(skipped: BackendInfo['skipped']): string {
  if (skipped.length === 0) return '';
  return `; skipped ${skipped.map((s) => `${s.name} (${s.reason})`).join(', ')}`;
}
