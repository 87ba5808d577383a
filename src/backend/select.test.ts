import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BackendError, ConfigError } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import { BACKEND_NAMES, initBackend, WASM_TRAINING_KERNELS } from './index.ts';

function recordingLogger(): Logger & { infos: string[]; warns: string[] } {
  const infos: string[] = [];
  const warns: string[] = [];
  return { infos, warns, info: (m) => infos.push(m), warn: (m) => warns.push(m) };
}

// The native tfjs-node packages are optional dependencies that are not installed here.
describe('initBackend', () => {
  it("'auto' falls back to wasm, with the training kernels, and says why the node packages were skipped", async () => {
    const logger = recordingLogger();
    const info = await initBackend({ logger, env: {} });
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.tfjsVersion).toBe(tf.version_core);
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(info.skipped.map((s) => s.name)).toEqual(['tensorflow-gpu', 'tensorflow']);
    expect(info.skipped[0].reason).toMatch(/@tensorflow\/tfjs-node-gpu/);
    expect(info.skipped[1].reason).toMatch(/@tensorflow\/tfjs-node\b/);
    expect(logger.infos.join('\n')).toMatch(/auto chose wasm.*skipped tensorflow-gpu.*tensorflow/);
    for (const k of WASM_TRAINING_KERNELS) expect(tf.getKernel(k.kernelName, 'wasm')?.kernelFunc).toBe(k.kernelFunc);
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
    const fromFlag = await initBackend({ backend: 'webgpu', logger: recordingLogger(), env: {} }).catch((e: unknown) => e);
    expect(fromFlag).toBeInstanceOf(ConfigError);
    expect((fromFlag as ConfigError).key).toBe('backend');
    expect((fromFlag as Error).message).toContain('--backend');
    for (const n of BACKEND_NAMES) expect((fromFlag as Error).message).toContain(n);
    const fromEnv = await initBackend({ logger: recordingLogger(), env: { PRUNEBENCH_BACKEND: 'gpu' } }).catch((e: unknown) => e);
    expect(fromEnv).toBeInstanceOf(ConfigError);
    expect((fromEnv as ConfigError).key).toBe('PRUNEBENCH_BACKEND');
    expect((fromEnv as Error).message).toContain('"gpu"');
  });

  it("'cpu' works and warns loudly that it is not for training", async () => {
    const logger = recordingLogger();
    const info = await initBackend({ backend: 'cpu', logger, env: {} });
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(logger.warns.join('\n')).toMatch(/300x slower.*not for training/);
    await initBackend({ backend: 'wasm', logger: recordingLogger(), env: {} });
    expect(tf.getBackend()).toBe('wasm');
  });
});
