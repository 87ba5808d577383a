import { expect } from 'vitest';
import { PrunebenchError } from '../util/errors.ts';

/** The PrunebenchError that `run` throws; fails the test when it throws another error or none. */
export async function thrownError(run: () => Promise<unknown>, what: string): Promise<PrunebenchError> {
  try {
    await run();
  } catch (e) {
    expect(e).toBeInstanceOf(PrunebenchError);
    return e as PrunebenchError;
  }
  throw new Error(`expected ${what} to fail`);
}
