/**
 * For tests: whether the webgpu backend can run here (Dawn loads and finds an adapter, software
 * ones included). Where it must (CI, whose .ci/run installs Mesa's lavapipe, or
 * PRUNEBENCH_REQUIRE_WEBGPU=1) an unusable backend is a test failure; elsewhere its tests skip,
 * loudly.
 */
import { loadWebgpuBackend, type WebgpuAdapter } from './register.ts';

export interface WebgpuAvailability {
  /** null when the backend is usable, else why not. */
  reason: string | null;
  /** Whether an unusable backend must fail the tests instead of skipping them. */
  required: boolean;
  adapter?: WebgpuAdapter;
}

export async function webgpuAvailability(env: NodeJS.ProcessEnv = process.env): Promise<WebgpuAvailability> {
  const loaded = await loadWebgpuBackend();
  const reason = 'reason' in loaded ? loaded.reason : null;
  const required = env.CI === 'true' || env.PRUNEBENCH_REQUIRE_WEBGPU === '1';
  if (reason !== null && !required) {
    console.warn(`\n*** SKIPPING the webgpu backend tests: ${reason}\n*** (CI=true or PRUNEBENCH_REQUIRE_WEBGPU=1 makes this a failure)\n`);
  }
  return { reason, required, ...('adapter' in loaded ? { adapter: loaded.adapter } : {}) };
}
