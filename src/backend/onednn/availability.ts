/**
 * For tests: whether the onednn backend can run here. Where it must (CI, or
 * PRUNEBENCH_REQUIRE_ONEDNN=1) a missing addon is a test failure; elsewhere its tests skip, loudly.
 */
import { registerOnednnBackend } from './register.ts';

export interface OnednnAvailability {
  /** null when the backend is usable, else why not. */
  reason: string | null;
  /** Whether a missing backend must fail the tests instead of skipping them. */
  required: boolean;
}

export function onednnAvailability(env: NodeJS.ProcessEnv = process.env): OnednnAvailability {
  const reason = registerOnednnBackend();
  const required = env.CI === 'true' || env.PRUNEBENCH_REQUIRE_ONEDNN === '1';
  if (reason !== null && !required) {
    console.warn(`\n*** SKIPPING the onednn backend tests: ${reason}\n*** (CI=true or PRUNEBENCH_REQUIRE_ONEDNN=1 makes this a failure)\n`);
  }
  return { reason, required };
}
