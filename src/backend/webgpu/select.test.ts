/**
 * Selecting the webgpu backend: explicitly it runs on any adapter, software ones included (that
 * is how CI tests it, on lavapipe); 'auto' takes it only on a hardware adapter and otherwise says
 * why it passed over it; an unusable backend is one BackendError naming what to install.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BackendError } from '../../util/errors.ts';
import type { Logger } from '../../util/log.ts';
import { canReadSync, initBackend, withSyncReads } from '../index.ts';
import { webgpuUnavailable } from '../select.ts';
import { webgpuAvailability } from './availability.ts';
import { adapterDetail, describeAdapter, loadWebgpuBackend } from './register.ts';

const { reason, adapter } = await webgpuAvailability();

function recordingLogger(): Logger & { infos: string[]; warns: string[] } {
  const infos: string[] = [];
  const warns: string[] = [];
  return { infos, warns, info: (m) => infos.push(m), warn: (m) => warns.push(m) };
}

describe('webgpu backend selection', () => {
  it.runIf(reason === null)("explicit 'webgpu' runs on the adapter found, and names it (vendor, architecture, software or not)", async () => {
    const logger = recordingLogger();
    const info = await initBackend({ backend: 'webgpu', logger, env: {} });
    expect(info.name).toBe('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    expect(info.detail).toBe(adapterDetail(adapter!));
    expect(logger.infos.join('\n')).toContain(`backend: webgpu (${info.detail}`);
    if (adapter!.software) {
      expect(info.detail).toMatch(/^vendor \S+, architecture \S+.*, software adapter \(runs on the CPU/);
      expect(logger.warns.join('\n')).toMatch(/software adapter.*correctness checks only/);
    }
    // It computes (asynchronously read).
    expect(Array.from(await tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).data())).toEqual([3, 3, 3, 3]);
  });

  it.runIf(reason === null && adapter?.software === true)("'auto' does not take a software adapter, and says so in its skipped list", async () => {
    const logger = recordingLogger();
    const info = await initBackend({ logger, env: { PRUNEBENCH_DISABLE_ONEDNN: '1' } });
    expect(info.name).toBe('wasm');
    const skipped = info.skipped.find((s) => s.name === 'webgpu');
    expect(skipped?.reason).toMatch(/the only WebGPU adapter is software \(.+\)/);
    expect(skipped?.reason).toContain(adapter!.description || adapter!.vendor);
    expect(logger.infos.join('\n')).toMatch(/auto chose wasm.*webgpu \(the only WebGPU adapter is software/);
  });

  it('software adapters are recognised by what they say about themselves', () => {
    expect(describeAdapter({ info: { vendor: 'mesa', architecture: 'software', description: 'llvmpipe: Mesa 25.0.7' } }).software).toBe(true);
    expect(describeAdapter({ info: { vendor: 'google', architecture: '', description: 'SwiftShader Device (Subzero)' } }).software).toBe(true);
    expect(describeAdapter({ info: { vendor: 'nvidia', architecture: 'ampere', description: 'NVIDIA A100' }, isFallbackAdapter: true }).software).toBe(true);
    const gpu = describeAdapter({ info: { vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' } });
    expect(gpu.software).toBe(false);
    expect(adapterDetail(gpu)).toBe('vendor nvidia, architecture hopper (NVIDIA H200), hardware adapter');
  });

  it('without the packages: one line naming the missing package', async () => {
    const noDawn = await loadWebgpuBackend({ dawnPackage: 'webgpu-not-installed-here' });
    expect(noDawn).toEqual({ reason: 'webgpu-not-installed-here is not installed (it is an optional dependency: `npm install` installs it where its platform is supported)' });
  });

  it.runIf(reason === null)('without an adapter: a BackendError that says what to install, no stack from inside tfjs', async () => {
    // Dawn's D3D12 backend does not exist on Linux: no adapter, as on a machine without a Vulkan driver.
    const none = await loadWebgpuBackend({ dawnFlags: ['backend=d3d12'] });
    expect('reason' in none && none.reason).toMatch(/^Dawn found no WebGPU adapter/);
    const err = webgpuUnavailable((none as { reason: string }).reason);
    expect(err).toBeInstanceOf(BackendError);
    expect(err.message).toContain('apt-get install -t bookworm-backports mesa-vulkan-drivers');
    expect(err.message).toContain("your GPU's Vulkan driver");
    expect(err.message).toContain('@tensorflow/tfjs-backend-webgpu@4.22.0');
    expect(err.message.split('\n')).toHaveLength(1);
  });

  it.runIf(reason !== null)("where the backend cannot run, explicit 'webgpu' throws that BackendError", async () => {
    const err = await initBackend({ backend: 'webgpu', logger: recordingLogger(), env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as Error).message).toBe(webgpuUnavailable(reason!).message);
  });

  it.runIf(reason === null)('withSyncReads runs a synchronously-reading step on wasm and returns to webgpu; its result is usable on the GPU', async () => {
    await initBackend({ backend: 'webgpu', logger: recordingLogger(), env: {} });
    expect(canReadSync()).toBe(false);
    const t = await withSyncReads(() => {
      expect(tf.getBackend()).toBe('wasm');
      const x = tf.tensor1d([1, -2, 3]);
      const scores = tf.abs(x).dataSync();
      x.dispose();
      return tf.tensor1d(scores);
    });
    expect(tf.getBackend()).toBe('webgpu');
    const y = tf.mul(t, 2);
    expect(Array.from(await y.data())).toEqual([2, 4, 6]);
    tf.dispose([t, y]);
    // It restores the backend when the step throws, too.
    await expect(withSyncReads(() => { throw new Error('step failed'); })).rejects.toThrow('step failed');
    expect(tf.getBackend()).toBe('webgpu');
  });
});
