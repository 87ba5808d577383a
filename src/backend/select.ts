/**
 * Backend selection: the one place where prunebench picks the tfjs compute backend.
 *
 * 'auto' tries @tensorflow/tfjs-node-gpu, then @tensorflow/tfjs-node (optional dependencies whose
 * install downloads libtensorflow, so they are often absent), then wasm with prunebench's
 * training kernels. An explicitly requested backend that cannot load is an error with install
 * advice; 'cpu' (pure JavaScript) is for correctness checks only.
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { BackendError, ConfigError } from '../util/errors.ts';
import { stderrLogger, type Logger } from '../util/log.ts';
import { registerWasmTrainingKernels } from './kernels/register.ts';
import './gradients.ts';

export const BACKEND_NAMES = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export type ConcreteBackendName = Exclude<BackendName, 'auto'>;

export interface BackendInfo {
  name: ConcreteBackendName;
  tfjsVersion: string;
  /** Compute threads the backend uses (wasm: its thread pool; tensorflow: the machine's cores). */
  threads: number;
  /** Backends that 'auto' tried before this one, and why each was passed over. */
  skipped: { name: string; reason: string }[];
}

export interface InitBackendOptions {
  /** Backend name; default: env.PRUNEBENCH_BACKEND, else 'auto'. */
  backend?: BackendName | string;
  logger?: Logger;
  /** Environment to read PRUNEBENCH_BACKEND from; default process.env. */
  env?: NodeJS.ProcessEnv;
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
  if (requested === 'wasm') {
    const reason = await useWasm();
    if (reason != null) throw new BackendError(`Backend "wasm" is not available: ${reason}`);
    const result = info('wasm', []);
    logger.info(`backend: wasm (${result.threads} thread${result.threads === 1 ? '' : 's'}, tfjs ${tf.version_core})`);
    return result;
  }
  if (requested === 'cpu') {
    if (!(await tf.setBackend('cpu'))) throw new BackendError('Backend "cpu" is not available: tfjs could not initialise it');
    logger.warn(
      'backend: cpu is the pure-JavaScript reference backend, about 300x slower than wasm: ' +
        'use it for correctness checks only, not for training',
    );
    return info('cpu', []);
  }

  // auto
  const skipped: BackendInfo['skipped'] = [];
  for (const name of ['tensorflow-gpu', 'tensorflow'] as const) {
    const reason = await tryNative(name);
    if (reason == null) {
      logger.info(`backend: auto chose ${name} (${NATIVE[name].pkg})${describeSkipped(skipped)}`);
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
