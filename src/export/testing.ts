import { Model, modelSpec, type ModelSpec } from '../models/index.ts';
import { compactModel, disposeMasks, prunableGroups, weightMagnitudeMasks, type KeepPlan } from '../pruning/index.ts';
import { randomizeWeights } from '../testing/tf.ts';
import { Rng } from '../util/rng.ts';

/** Test support for the export round trips (ONNX Runtime, tfjs): the models and the comparison. */
export const SMALL = { height: 8, width: 8, channels: 3 };

/** Every family and VGG head, at tiny widths on 8x8 inputs. */
export const EXPORT_FAMILIES: [string, ModelSpec][] = [
  ['vgg (Li et al. head)', { family: 'vgg', name: 'vgg-test', cfg: [8, 'M', 12, 10, 'M', 16], head: 'li2017', hiddenFeatures: 12, numClasses: 5, input: SMALL, bnGammaInit: 0.5 }],
  ['vgg (slimming head)', { family: 'vgg', name: 'vgg-test', cfg: [8, 'M', 12, 'M', 16, 16], head: 'slimming', numClasses: 5, input: SMALL, bnGammaInit: 0.5 }],
  ['vgg-tiny (gap head)', modelSpec('vgg-tiny', { widthMultiplier: 0.5, input: SMALL, numClasses: 5 })],
  ['resnet56', modelSpec('resnet56', { widthMultiplier: 0.25, input: SMALL, numClasses: 5 })],
  ['preresnet164', modelSpec('preresnet164', { widthMultiplier: 0.25, input: SMALL, numClasses: 5 })],
  ['densenet40', modelSpec('densenet40', { widthMultiplier: 0.34, input: SMALL, numClasses: 5 })],
];

/** A random keep plan: every prunable group keeps a random non-empty subset of its channels. */
export function randomPlan(model: Model, seed: number): KeepPlan {
  const rng = new Rng(seed);
  const groups: Record<string, number[]> = {};
  for (const g of prunableGroups(model.graph)) {
    groups[g.id] = Array.from(rng.permutation(g.channels)).slice(0, 1 + rng.int(g.channels));
  }
  return { model: model.spec.name, groups };
}

/** max |a - b| / max |b|, loop by loop. */
export function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`comparing ${a.length} values with ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

/** The three variants the export must handle: unpruned, compacted (smaller graph), masked (zeros). */
export function exportVariants(spec: ModelSpec): [string, Model][] {
  const model = Model.init(spec, 1);
  randomizeWeights(model, 2);
  const compact = compactModel(model, randomPlan(model, 3));
  const masked = model.clone();
  const masks = weightMagnitudeMasks(masked, { ratio: 0.5 });
  masked.applyMasks(masks.masks);
  disposeMasks(masks);
  return [
    ['unpruned', model],
    ['compacted', compact],
    ['masked', masked],
  ];
}

