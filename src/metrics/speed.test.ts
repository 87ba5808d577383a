import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Model } from '../models/index.ts';
import { useCpuBackend } from '../testing/tf.ts';
import { measureInferencePaired, pairOrder } from './speed.ts';

beforeAll(useCpuBackend);

/** A stand-in model that logs each call (its name and batch size). */
function fakeModel(name: string, log: string[]): Model {
  return {
    spec: { input: { height: 2, width: 2, channels: 1 } },
    forward: (x: tf.Tensor4D) => {
      log.push(`${name}:${x.shape[0]}`);
      return { logits: tf.zeros([x.shape[0], 1]) };
    },
  } as unknown as Model;
}

describe('paired timing', () => {
  it('pairOrder swaps the first model every round', () => {
    expect([0, 1, 2, 3].map((i) => pairOrder(i).join(''))).toEqual(['01', '10', '01', '10']);
  });

  it('measureInferencePaired puts each model first in every other round, at batch 1 and at batch 64', async () => {
    const log: string[] = [];
    await measureInferencePaired(fakeModel('m', log), fakeModel('r', log), { repeats: 6, warmup: 0 });
    const b1 = log.filter((c) => c.endsWith(':1'));
    const b64 = log.filter((c) => c.endsWith(':64'));
    expect(b1.join(' ')).toBe('m:1 r:1 r:1 m:1 m:1 r:1 r:1 m:1 m:1 r:1 r:1 m:1');
    expect(b64.join(' ')).toBe('m:64 r:64 r:64 m:64 m:64 r:64');
  });
});
