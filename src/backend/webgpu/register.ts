/**
 * The `webgpu` tfjs backend in Node: TensorFlow.js's WebGPU backend
 * (@tensorflow/tfjs-backend-webgpu) on Dawn's Node binding (the `webgpu` npm package), which
 * exposes WebGPU on Vulkan (or Metal / D3D12). Both are optional dependencies with no install-time
 * download, loaded here by dynamic import.
 *
 * tfjs-backend-webgpu registers its backend factory only if `navigator.gpu` exists when the module
 * is imported, and its factory calls `navigator.gpu.requestAdapter()`; so the Dawn GPU object is
 * installed as `navigator.gpu` (and Dawn's constants such as GPUBufferUsage as globals) first.
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerWebgpuWorkarounds } from './workarounds.ts';

export const WEBGPU_BACKEND = 'webgpu';

/** What the adapter says about itself. */
export interface WebgpuAdapter {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation (lavapipe/llvmpipe, SwiftShader, WARP) rather than a GPU. */
  software: boolean;
}

/** The shape of Dawn's binding that we use (the package ships @webgpu/types, but not as globals here). */
interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<AdapterLike | null>;
}
interface AdapterLike {
  info?: Partial<Record<'vendor' | 'architecture' | 'device' | 'description', string>> & { isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}

export const SOFTWARE_VULKAN_ADVICE =
  'for software Vulkan (correctness only, slow) on Debian 12 `apt-get install -t bookworm-backports mesa-vulkan-drivers` ' +
  '(bookworm\'s own Mesa 22.3 lavapipe lacks features Dawn requires), or install your GPU\'s Vulkan driver';

/** The reason when Dawn loads but finds no adapter; the advice on drivers is the caller's to add. */
export const NO_ADAPTER = 'Dawn found no WebGPU adapter (no usable Vulkan driver)';

let loaded: { adapter: WebgpuAdapter } | { reason: string } | undefined;

/** Names that mark a CPU implementation of Vulkan/WebGPU. */
const SOFTWARE_NAMES = /llvmpipe|lavapipe|swiftshader|softpipe|microsoft basic render|\bwarp\b/i;

export function describeAdapter(a: AdapterLike): WebgpuAdapter {
  const i = a.info ?? {};
  const vendor = String(i.vendor ?? '');
  const architecture = String(i.architecture ?? '');
  const device = String(i.device ?? '');
  const description = String(i.description ?? '');
  const software =
    a.isFallbackAdapter === true ||
    i.isFallbackAdapter === true ||
    architecture.toLowerCase() === 'software' ||
    SOFTWARE_NAMES.test(`${vendor} ${architecture} ${device} ${description}`);
  return { vendor, architecture, device, description, software };
}

/**
 * One line: "vendor mesa, architecture software (llvmpipe: Mesa 25.0.7 ...), software adapter
 * (runs on the CPU: for correctness, not speed)".
 */
export function adapterDetail(a: WebgpuAdapter): string {
  const desc = a.description || a.device;
  return (
    `vendor ${a.vendor || 'unknown'}, architecture ${a.architecture || 'unknown'}${desc ? ` (${desc})` : ''}, ` +
    (a.software ? 'software adapter (runs on the CPU: for correctness, not speed)' : 'hardware adapter')
  );
}

function missing(err: unknown, pkg: string): string {
  const e = err as { code?: string; message?: string };
  if ((e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') && String(e.message ?? '').includes(pkg)) {
    return `${pkg} is not installed (it is an optional dependency: \`npm install\` installs it where its platform is supported)`;
  }
  return `${pkg} failed to load: ${String(e?.message ?? err).split('\n')[0]}`;
}

/** Makes Dawn's GPU object `navigator.gpu` (Node 20 has no navigator; Node 21+ has one without gpu). */
function installNavigatorGpu(gpu: GpuLike): void {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator == null) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  } else if (g.navigator.gpu == null) {
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
  }
}

/** For tests: other package names or Dawn flags (e.g. 'backend=d3d12', which finds no adapter on Linux). */
export interface LoadWebgpuOptions {
  dawnPackage?: string;
  tfjsPackage?: string;
  dawnFlags?: string[];
}

/**
 * Loads Dawn, finds an adapter and registers tfjs's webgpu backend (idempotent; with options, an
 * uncached probe). Returns the adapter, or the reason in one line with what to install.
 */
export async function loadWebgpuBackend(opts?: LoadWebgpuOptions): Promise<{ adapter: WebgpuAdapter } | { reason: string }> {
  if (opts) return load(opts);
  loaded ??= await load({});
  return loaded;
}

async function load(opts: LoadWebgpuOptions): Promise<{ adapter: WebgpuAdapter } | { reason: string }> {
  const dawnPackage = opts.dawnPackage ?? 'webgpu';
  const tfjsPackage = opts.tfjsPackage ?? '@tensorflow/tfjs-backend-webgpu';
  let dawn: DawnModule;
  try {
    // Variable specifiers: both packages are optional, so TypeScript must not require them.
    dawn = (await import(dawnPackage)) as DawnModule;
  } catch (err) {
    return { reason: missing(err, dawnPackage) };
  }
  let gpu: GpuLike;
  let raw: AdapterLike | null;
  try {
    for (const [k, v] of Object.entries(dawn.globals)) if (!(k in globalThis)) Object.defineProperty(globalThis, k, { value: v, configurable: true, writable: true });
    gpu = dawn.create(opts.dawnFlags ?? []);
    raw = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (err) {
    return { reason: `Dawn (the webgpu package) could not start: ${String((err as Error)?.message ?? err).split('\n')[0]}` };
  }
  if (raw == null) {
    return { reason: NO_ADAPTER };
  }
  const adapter = describeAdapter(raw);
  installNavigatorGpu(gpu);
  let mod: Parameters<typeof registerWebgpuWorkarounds>[0];
  try {
    mod = (await import(tfjsPackage)) as typeof mod;
  } catch (err) {
    return { reason: missing(err, tfjsPackage) };
  }
  if (tf.findBackendFactory(WEBGPU_BACKEND) == null) {
    return { reason: '@tensorflow/tfjs-backend-webgpu loaded but did not register its backend (navigator.gpu was not visible to it)' };
  }
  registerWebgpuWorkarounds(mod);
  return { adapter };
}
