import { beforeAll, describe, expect, it } from 'vitest';
import { countSpec } from '../metrics/index.ts';
import { Model } from '../models/index.ts';
import { disposeMasks, weightMagnitudeMasks } from '../pruning/index.ts';
import { randomizeWeights, useCpuBackend } from '../testing/tf.ts';
import { measureLatency } from './latency.ts';
import { EXPORT_FAMILIES } from './testing.ts';

beforeAll(useCpuBackend);

describe('measureLatency', () => {
  it('times both runtimes at batch 1 and 64 and counts MACs and zeros of a masked model', async () => {
    const spec = EXPORT_FAMILIES[1]![1];
    const model = Model.init(spec, 1);
    randomizeWeights(model, 2);
    const masks = weightMagnitudeMasks(model, { ratio: 0.5 });
    model.applyMasks(masks.masks);
    // Zeros and effective MACs counted directly: the conv weights' masks, layer by layer.
    let zeros = 0;
    let weights = 0;
    let macsEffective = 0;
    const count = countSpec(spec);
    for (const info of model.paramInfo) {
      if (info.field !== 'weight') continue;
      const mask = masks.masks.get(info.name);
      const kept = mask ? Array.from(mask.dataSync()).reduce((a, b) => a + b, 0) : model.param(info.name).size;
      const layer = count.layers.find((l) => `${l.name}.weight` === info.name)!;
      macsEffective += (layer.macs * kept) / model.param(info.name).size;
      zeros += model.param(info.name).size - kept;
      weights += model.param(info.name).size;
    }
    disposeMasks(masks);
    const [r] = await measureLatency([model], { repeats: 3 });
    if (!r) throw new Error('no result');
    expect(r.macs).toBe(count.macs);
    expect(r.macsEffective).toBeCloseTo(macsEffective, 0);
    expect(r.zeroFraction).toBeCloseTo(zeros / weights, 9);
    expect(r.zeroFraction).toBeGreaterThan(0.3);
    for (const ms of [r.engineMsBatch1, r.engineMsBatch64, r.ortMsBatch1, r.ortMsBatch64]) {
      expect(Number.isFinite(ms) && ms > 0).toBe(true);
    }
    model.dispose();
  });
});
