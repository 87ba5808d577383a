import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { countSpec } from '../metrics/index.ts';
import { Model, modelSpec, resnetDepth, type ModelSpec, type PreResNetSpec, type ResNetSpec } from '../models/index.ts';
import { maxAbsDiff, randomImages, randomizeWeights, useCpuBackend } from '../testing/tf.ts';
import { ConfigError, PlanError } from '../util/errors.ts';
import { blockImportance, removeBlocks, selectBlocksToRemove, type BlockScore } from './blocks.ts';

const SMALL = { height: 8, width: 8, channels: 3 };
const RESNET = modelSpec('resnet20', { widthMultiplier: 0.25, input: SMALL, numClasses: 5 }) as ResNetSpec;
const PRERESNET: PreResNetSpec = {
  family: 'preresnet',
  name: 'preresnet-test',
  stemWidth: 4,
  stages: [2, 3, 4].map((planes) => ({ planes, blocks: Array.from({ length: 3 }, () => ({ select: null, conv1: planes, conv2: planes })) })),
  finalSelect: null,
  numClasses: 5,
  input: SMALL,
  bnGammaInit: 0.5,
};
const FAMILIES: [string, ModelSpec, string][] = [
  ['resnet', RESNET, 'bn2'],
  ['preresnet', PRERESNET, 'bn3'],
];

beforeAll(useCpuBackend);

function snapshot(model: Model): Map<string, number[]> {
  return new Map([...model.namedWeights()].map(([k, v]) => [k, Array.from(v.dataSync())]));
}

/** The same model with the residual branch of the given blocks silenced: last BN's gamma and beta zeroed. */
function branchZeroed(model: Model, blocks: string[], bn: string): Model {
  const copy = model.clone();
  for (const b of blocks) {
    for (const f of ['gamma', 'beta']) {
      const v = copy.param(`${b}.${bn}.${f}`);
      v.assign(tf.zerosLike(v));
    }
  }
  return copy;
}

describe.each(FAMILIES)('block removal on a %s', (family, spec, bn) => {
  it('scores are the L1 norm of the last BN gamma; shape-changing blocks are not removable', () => {
    const model = Model.init(spec, 1);
    randomizeWeights(model, 2);
    const scores = blockImportance(model);
    expect(scores).toHaveLength(9);
    for (const s of scores) {
      const gamma = Array.from(model.param(`${s.block}.${bn}.gamma`).dataSync());
      expect(s.score).toBeCloseTo(gamma.reduce((a, g) => a + Math.abs(g), 0), 5);
      expect(s.block).toBe(`layer${s.stage}.${s.index}`);
    }
    // ResNet stage 1 keeps the stem width at stride 1; PreResNet's first block widens 4 -> 8.
    const fixed = scores.filter((s) => !s.removable).map((s) => s.block);
    expect(fixed).toEqual(family === 'resnet' ? ['layer2.0', 'layer3.0'] : ['layer1.0', 'layer2.0', 'layer3.0']);
    expect(scores.find((s) => s.block === 'layer2.0')!.reason).toMatch(family === 'resnet' ? /layer2\.0\.shortcut/ : /layer2\.0\.downsample/);
    model.dispose();
  });

  it('removing a block equals silencing its residual branch, with the right depth, params and weight names', () => {
    const model = Model.init(spec, 3);
    randomizeWeights(model, 4);
    const before = snapshot(model);
    const x = randomImages(4, 8, 8, 3, 5);
    const remove = ['layer1.1', 'layer2.1', 'layer3.2'];
    const small = removeBlocks(model, remove);

    // Depth and parameter count: the removed blocks' parameters, counted from the original model's own list.
    const smallSpec = small.spec as ResNetSpec | PreResNetSpec;
    expect(smallSpec.stages.map((s) => s.blocks.length)).toEqual([2, 2, 2]);
    if (smallSpec.family === 'resnet') expect(resnetDepth(smallSpec)).toBe(resnetDepth(RESNET) - 6);
    const removedParams = model.paramInfo
      .filter((p) => p.trainable && remove.some((b) => p.name.startsWith(`${b}.`)))
      .reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
    expect(removedParams).toBeGreaterThan(0);
    expect(countSpec(small.spec).params).toBe(countSpec(spec).params - removedParams);

    // Kept blocks' weights under their new positional names.
    const rename: Record<string, string> = { 'layer1.2': 'layer1.1', 'layer2.2': 'layer2.1' };
    const after = snapshot(small);
    let mapped = 0;
    for (const [name, values] of before) {
      const m = name.match(/^(layer\d\.\d)\.(.+)$/);
      if (m && remove.includes(m[1]!)) continue;
      const to = m ? `${rename[m[1]!] ?? m[1]}.${m[2]}` : name;
      expect(after.get(to), to).toEqual(values);
      mapped++;
    }
    expect(mapped).toBe(after.size);

    // Outputs: removal == branch zeroed (the block becomes the identity), and differs from the original.
    const reference = branchZeroed(model, remove, bn);
    const y = small.forward(x, false).logits;
    const yRef = reference.forward(x, false).logits;
    const yOrig = model.forward(x, false).logits;
    expect(maxAbsDiff(y, yRef)).toBeLessThan(1e-4);
    expect(maxAbsDiff(y, yOrig)).toBeGreaterThan(1e-3);
    expect(snapshot(model)).toEqual(before);
    for (const t of [x, y, yRef, yOrig]) t.dispose();
    for (const m of [model, small, reference]) m.dispose();
  });

  it('non-removable, unknown, repeated blocks and emptied stages are PlanErrors naming the block', () => {
    const model = Model.init(spec, 6);
    expect(() => removeBlocks(model, ['layer2.0'])).toThrow(/layer2\.0 .*cannot be removed/);
    expect(() => removeBlocks(model, ['layer4.0'])).toThrow(/no residual block layer4\.0/);
    expect(() => removeBlocks(model, ['layer1.3'])).toThrow(PlanError);
    expect(() => removeBlocks(model, ['layer1.1', 'layer1.1'])).toThrow(/layer1\.1 is listed twice/);
    if (family === 'resnet') expect(() => removeBlocks(model, ['layer1.0', 'layer1.1', 'layer1.2'])).toThrow(/empty stage 1/);
    try {
      removeBlocks(model, ['layer3.0']);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PlanError);
      expect((e as PlanError).layer).toBe('layer3.0');
    }
    model.dispose();
  });
});

describe('choosing blocks', () => {
  const score = (block: string, s: number, removable = true): BlockScore => {
    const [stage, index] = block.slice('layer'.length).split('.').map(Number) as [number, number];
    return { block, stage, index, score: s, removable };
  };
  const scores = [
    score('layer1.0', 0.5),
    score('layer1.1', 0.1),
    score('layer1.2', 0.2),
    score('layer2.0', 0.0, false),
    score('layer2.1', 0.3),
    score('layer3.0', 0.05, false),
    score('layer3.1', 0.9),
    score('layer3.2', 0.4),
  ];

  it('picks the lowest-scoring removable blocks and never empties a stage', () => {
    expect(selectBlocksToRemove(scores, { count: 2 })).toEqual(['layer1.1', 'layer1.2']);
    // layer1.0 is next by score, but stage 1 must keep one block; so layer2.1, then layer3.2.
    expect(selectBlocksToRemove(scores, { count: 4 })).toEqual(['layer1.1', 'layer1.2', 'layer2.1', 'layer3.2']);
    // ratio: floor(0.4 * 8) = 3 blocks.
    expect(selectBlocksToRemove(scores, { ratio: 0.4 })).toEqual(['layer1.1', 'layer1.2', 'layer2.1']);
    expect(selectBlocksToRemove(scores, { ratio: 0 })).toEqual([]);
    // 5 would need layer3.1 and a stage-1 block: only one more can go (layer3.1), then nothing.
    expect(selectBlocksToRemove(scores, { count: 5 })).toEqual(['layer1.1', 'layer1.2', 'layer2.1', 'layer3.1', 'layer3.2']);
    expect(() => selectBlocksToRemove(scores, { count: 6 })).toThrow(/only 5 can go/);
  });

  it('rejects bad ratios and counts with the flag named', () => {
    expect(() => selectBlocksToRemove(scores, { ratio: 1 })).toThrow(/--prune-ratio/);
    expect(() => selectBlocksToRemove(scores, { ratio: -0.1 })).toThrow(ConfigError);
    expect(() => selectBlocksToRemove(scores, { count: 1.5 })).toThrow(ConfigError);
    expect(() => selectBlocksToRemove(scores, {})).toThrow(ConfigError);
  });

  it('end to end: the chosen blocks are removable and the model shrinks; no tensor leaks', () => {
    const model = Model.init(RESNET, 7);
    randomizeWeights(model, 8);
    const start = tf.memory().numTensors;
    for (let i = 0; i < 2; i++) {
      const chosen = selectBlocksToRemove(blockImportance(model), { ratio: 0.34 });
      expect(chosen).toHaveLength(3);
      const small = removeBlocks(model, chosen);
      expect(countSpec(small.spec).params).toBeLessThan(countSpec(RESNET).params);
      small.dispose();
    }
    expect(tf.memory().numTensors).toBe(start);
    model.dispose();
  });

  it('only ResNet and PreResNet have blocks', () => {
    const vgg = Model.init({ family: 'vgg', name: 'v', cfg: [4, 'M', 4], head: 'gap', numClasses: 2, input: SMALL, bnGammaInit: 0.5 }, 0);
    expect(() => blockImportance(vgg)).toThrow(/v is a vgg/);
    vgg.dispose();
  });
});
