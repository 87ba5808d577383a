import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it, vi } from 'vitest';
import { BackendError, ConfigError } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import { BACKEND_NAMES, initBackend, WASM_TRAINING_KERNELS } from './index.ts';
import { loadOnednnAddon } from './onednn/addon.ts';
import { onednnAvailability } from './onednn/availability.ts';

const onednn = onednnAvailability();

function recordingLogger(): Logger & { infos: string[]; warns: string[] } {
  const infos: string[] = [];
  const warns: string[] = [];
  return { infos, warns, info: (m) => infos.push(m), warn: (m) => warns.push(m) };
}

// The native tfjs-node packages are optional dependencies that are not installed here.
describe('initBackend', () => {
  it.runIf(onednn.reason === null)("'auto' picks onednn where its addon loads, and says why tensorflow-gpu was skipped", async () => {
    const logger = recordingLogger();
    const info = await initBackend({ logger, env: {} });
    expect(info.name).toBe('onednn');
    expect(tf.getBackend()).toBe('onednn');
    expect(info.threads).toBe(1);
    expect(info.detail).toMatch(/^oneDNN \d+\.\d+\.\d+, \w+, 1 thread$/);
    expect(info.skipped.map((s) => s.name)).toEqual(['tensorflow-gpu']);
    expect(logger.infos.join('\n')).toMatch(/auto chose onednn \(oneDNN .*\); skipped tensorflow-gpu/);
    // The wasm backend stays available beside it, with the training kernels.
    for (const k of WASM_TRAINING_KERNELS) expect(tf.getKernel(k.kernelName, 'wasm')?.kernelFunc).toBe(k.kernelFunc);
  });

  it.runIf(onednn.reason !== null)("'auto' falls back to wasm, with the training kernels, and says in one line why each faster backend was skipped", async () => {
    const logger = recordingLogger();
    const info = await initBackend({ logger, env: {} });
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.tfjsVersion).toBe(tf.version_core);
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(info.skipped.map((s) => s.name)).toEqual(['tensorflow-gpu', 'onednn', 'tensorflow', 'webgpu']);
    expect(info.skipped[0].reason).toMatch(/@tensorflow\/tfjs-node-gpu/);
    expect(info.skipped[1].reason).toMatch(/apt-get install libdnnl-dev/);
    expect(info.skipped[2].reason).toMatch(/@tensorflow\/tfjs-node\b/);
    // No hardware WebGPU adapter on a test machine: either none at all, or software only (lavapipe).
    expect(info.skipped[3].reason).toMatch(/adapter|webgpu/);
    expect(logger.infos.join('\n')).toMatch(/auto chose wasm.*skipped tensorflow-gpu.*onednn.*tensorflow.*webgpu/);
    expect(logger.infos.join('\n').split('\n')).toHaveLength(1);
    for (const k of WASM_TRAINING_KERNELS) expect(tf.getKernel(k.kernelName, 'wasm')?.kernelFunc).toBe(k.kernelFunc);
  });

  it("'auto' with onednn disabled falls back to wasm and says why it skipped each faster backend, in one line", async () => {
    const logger = recordingLogger();
    const info = await initBackend({ logger, env: { PRUNEBENCH_DISABLE_ONEDNN: '1' } });
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.skipped.map((s) => s.name)).toEqual(['tensorflow-gpu', 'onednn', 'tensorflow', 'webgpu']);
    expect(info.skipped[1].reason).toBe('disabled by the environment variable PRUNEBENCH_DISABLE_ONEDNN');
    expect(logger.infos).toHaveLength(1);
    const explicit = await initBackend({ backend: 'onednn', logger, env: { PRUNEBENCH_DISABLE_ONEDNN: '1' } }).catch((e: unknown) => e);
    expect(explicit).toBeInstanceOf(BackendError);
  });

  it('a missing onednn addon gives one line naming the package and how to get it', () => {
    const missing = loadOnednnAddon({ packageName: 'prunebench-onednn-not-installed', nativeDir: '/nonexistent/native/onednn' });
    expect('reason' in missing && missing.reason).toBe(
      'the native addon prunebench-onednn-not-installed is not built (its build needs oneDNN\'s headers and a C++ compiler); ' +
        'to use it, install oneDNN (`apt-get install libdnnl-dev`, Debian/Ubuntu), then `npm install` (or `npm rebuild prunebench-onednn`)',
    );
  });

  it('PRUNEBENCH_THREADS and the threads option are checked', async () => {
    const bad = await initBackend({ backend: 'wasm', logger: recordingLogger(), env: { PRUNEBENCH_THREADS: 'two' } }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ConfigError);
    expect((bad as ConfigError).key).toBe('PRUNEBENCH_THREADS');
    const zero = await initBackend({ backend: 'wasm', threads: 0, logger: recordingLogger(), env: {} }).catch((e: unknown) => e);
    expect((zero as ConfigError).key).toBe('threads');
  });

  it.runIf(onednn.reason === null)('onednn takes its thread count from PRUNEBENCH_THREADS', async () => {
    const info = await initBackend({ backend: 'onednn', logger: recordingLogger(), env: { PRUNEBENCH_THREADS: '2' } });
    expect(info.threads).toBe(2);
    const again = await initBackend({ backend: 'onednn', logger: recordingLogger(), env: {} });
    expect(again.threads).toBe(1);
  });

  it('reads PRUNEBENCH_BACKEND, and calling it again is harmless', async () => {
    const first = await initBackend({ logger: recordingLogger(), env: { PRUNEBENCH_BACKEND: 'wasm' } });
    const second = await initBackend({ backend: 'wasm', logger: recordingLogger(), env: {} });
    expect(first.name).toBe('wasm');
    expect(second).toEqual(first);
    expect(tf.getBackend()).toBe('wasm');
  });

  it("explicit 'tensorflow' and 'tensorflow-gpu' throw BackendError with install advice", async () => {
    for (const [name, pkg] of [
      ['tensorflow', '@tensorflow/tfjs-node'],
      ['tensorflow-gpu', '@tensorflow/tfjs-node-gpu'],
    ] as const) {
      const err = await initBackend({ backend: name, logger: recordingLogger(), env: {} }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BackendError);
      expect((err as Error).message).toContain(`npm install ${pkg}@`);
      expect((err as Error).message).toContain('--backend wasm');
    }
  });

  it('an unknown name is a ConfigError naming the flag or variable and the valid names', async () => {
    const fromFlag = await initBackend({ backend: 'metal', logger: recordingLogger(), env: {} }).catch((e: unknown) => e);
    expect(fromFlag).toBeInstanceOf(ConfigError);
    expect((fromFlag as ConfigError).key).toBe('backend');
    expect((fromFlag as Error).message).toContain('--backend');
    for (const n of BACKEND_NAMES) expect((fromFlag as Error).message).toContain(n);
    const fromEnv = await initBackend({ logger: recordingLogger(), env: { PRUNEBENCH_BACKEND: 'gpu' } }).catch((e: unknown) => e);
    expect(fromEnv).toBeInstanceOf(ConfigError);
    expect((fromEnv as ConfigError).key).toBe('PRUNEBENCH_BACKEND');
    expect((fromEnv as Error).message).toContain('"gpu"');
  });

  it("'cpu' works and warns loudly that it is not for training, without tfjs's advice to install tfjs-node", async () => {
    // A fresh cpu backend instance: tfjs prints its banner on an instance's first tensor only.
    const factory = tf.findBackendFactory('cpu')!;
    tf.removeBackend('cpu');
    tf.registerBackend('cpu', factory, 1);
    const logger = recordingLogger();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const info = await initBackend({ backend: 'cpu', logger, env: {} });
      expect(info.name).toBe('cpu');
      expect(tf.getBackend()).toBe('cpu');
      tf.tensor([1, 2]).dispose();
      expect(warn.mock.calls.flat().join('\n')).not.toMatch(/tfjs-node/);
    } finally {
      warn.mockRestore();
    }
    expect(logger.warns.join('\n')).toMatch(/300x slower.*not for training/);
    await initBackend({ backend: 'wasm', logger: recordingLogger(), env: {} });
    expect(tf.getBackend()).toBe('wasm');
  });
});
