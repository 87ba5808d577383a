/**
 * Per-layer sensitivity scan (Li et al. 2017, Fig. 2(b); Distiller's `--sense`): prune one
 * prunable channel group alone at each ratio, the others untouched, and evaluate top-1 on the
 * test set without retraining. The criterion scores every group once; each (layer, ratio) only
 * picks the top channels from those scores, so a data-needing criterion makes one pass.
 */
import * as tf from '@tensorflow/tfjs-core';
import { canReadSync, withSyncReads } from '../backend/index.ts';
import { batches, type ImageSplit } from '../data/index.ts';
import { Model } from '../models/index.ts';
import { compactModel, criterionNeedsData, keepAllPlan, prunableGroups, scoreChannels, topK, type CalibrationData, type Criterion, type KeepPlan } from '../pruning/index.ts';
import { evaluate, type TrainData } from '../train/index.ts';
import { ConfigError } from '../util/errors.ts';

export interface SensitivityPoint {
  /** The channel group's id (its producing conv or selection), e.g. features.7.conv. */
  layer: string;
  /** 1-based position among the prunable groups, in graph order: conv1..conv13 of VGG-16. */
  layerIndex: number;
  channels: number;
  /** Fraction of the layer's channels removed (asked for). */
  ratio: number;
  keptChannels: number;
  top1: number;
  /** Unpruned top-1 minus this top-1, in points (positive = worse). */
  drop: number;
}

export interface SensitivityScan {
  criterion: Criterion;
  /** Top-1 of the input model on the same test images. */
  unprunedTop1: number;
  /** Layer-major, ratios ascending within each layer. */
  points: SensitivityPoint[];
  testImages: number;
  /** Training images the criterion scored from (0 for weight-only criteria). */
  calibrationImages: number;
  /** Wall time of scoring, evaluating and pruning, in seconds. */
  seconds: number;
}

export interface SensitivityOptions {
  model: Model;
  test: ImageSplit;
  /** Shape and normalisation of the images (of test and calibration alike). */
  data: Pick<TrainData, 'shape' | 'mean' | 'std'>;
  criterion: Criterion;
  /** Fractions removed, each in (0, 1). */
  ratios: number[];
  /** Seeds the random criterion. */
  seed?: number;
  /** Fewest channels a layer keeps (default 1), as predefinedPlan's guard. */
  minChannels?: number;
  /** Images a data-needing criterion scores from (criterionNeedsData); ignored otherwise. */
  calibration?: { split: ImageSplit; batchSize: number };
  /** Called after each evaluated point (progress). */
  onPoint?: (p: SensitivityPoint, done: number, total: number) => void;
}

/** Channels a layer keeps at `ratio`: floor(C x (1 - ratio)), at least minChannels (as predefinedPlan). */
export function keptChannels(channels: number, ratio: number, minChannels = 1): number {
  return Math.max(Math.floor(channels * (1 - ratio)), Math.min(minChannels, channels));
}

/** The plan that prunes `layer` alone to the top `keep` channels by `scores`. */
export function singleLayerPlan(model: Model, layer: string, scores: ArrayLike<number>, keep: number): KeepPlan {
  const plan = keepAllPlan(model.graph, model.spec.name);
  return { ...plan, groups: { ...plan.groups, [layer]: topK(scores, keep) } };
}

/** Normalised calibration tensors: the first images of `split`, one tensor (the criterion batches them). */
function calibrationTensors(o: SensitivityOptions): CalibrationData | undefined {
  if (!o.calibration || !criterionNeedsData(o.criterion)) return undefined;
  const { split, batchSize } = o.calibration;
  const first = batches(split, o.data.shape, { batchSize: split.count, shuffle: false, augment: false, mean: o.data.mean, std: o.data.std }).next();
  if (first.done) throw new ConfigError(`criterion ${o.criterion} needs calibration images, and the calibration split is empty`, 'criterion');
  return { images: first.value.x, labels: first.value.y, batchSize };
}

/**
 * Scores of every group, read synchronously: where the backend cannot (webgpu), from a host copy
 * of the model on wasm, as the prune cells do.
 */
async function scoresOf(o: SensitivityOptions): Promise<Map<string, Float32Array>> {
  const score = (model: Model): Map<string, Float32Array> => {
    const calibration = calibrationTensors(o);
    try {
      return scoreChannels(model, o.criterion, { seed: o.seed ?? 0, ...(calibration ? { calibration } : {}) });
    } finally {
      if (calibration) tf.dispose([calibration.images, calibration.labels]);
    }
  };
  if (canReadSync()) return score(o.model);
  const host: [string, Float32Array, number[]][] = [];
  for (const [n, t] of o.model.namedWeights()) host.push([n, (await t.data()) as Float32Array, t.shape]);
  return withSyncReads(() => {
    const weights = new Map(host.map(([n, v, shape]) => [n, tf.tensor(v, shape)] as const));
    const copy = Model.fromWeights(o.model.spec, weights);
    tf.dispose([...weights.values()]);
    try {
      return score(copy);
    } finally {
      copy.dispose();
    }
  });
}

/** Sorted ratios, each in (0, 1), none twice; `flag` is named in the errors (its key without the dashes). */
export function validateSensitivityRatios(ratios: number[], flag = '--ratios'): number[] {
  const key = flag.replace(/^-+/, '');
  if (ratios.length === 0) throw new ConfigError(`${flag} lists no ratio`, key);
  for (const r of ratios) {
    if (!(Number.isFinite(r) && r > 0 && r < 1)) throw new ConfigError(`${flag} expects fractions removed in (0, 1), got ${r}`, key);
  }
  const sorted = [...ratios].sort((a, b) => a - b);
  const twice = sorted.find((r, i) => i > 0 && r === sorted[i - 1]);
  if (twice !== undefined) throw new ConfigError(`${flag} lists ${twice} twice`, key);
  return sorted;
}

/** Runs the scan on `o.model` (left unchanged). */
export async function sensitivityScan(o: SensitivityOptions): Promise<SensitivityScan> {
  const ratios = validateSensitivityRatios(o.ratios, 'ratios');
  const minChannels = o.minChannels ?? 1;
  if (criterionNeedsData(o.criterion) && !o.calibration) {
    throw new ConfigError(`criterion ${o.criterion} scores channels from data: give calibration images`, 'criterion');
  }
  const t0 = performance.now();
  const unprunedTop1 = (await evaluate(o.model, o.test, o.data)).acc;
  const scores = await scoresOf(o);
  const groups = prunableGroups(o.model.graph);
  const points: SensitivityPoint[] = [];
  const total = groups.length * ratios.length;
  for (const [gi, g] of groups.entries()) {
    for (const ratio of ratios) {
      const keep = keptChannels(g.channels, ratio, minChannels);
      let top1 = unprunedTop1;
      // A ratio that rounds to no removal leaves the model as it is: its top-1 is the unpruned one.
      if (keep < g.channels) {
        const pruned = compactModel(o.model, singleLayerPlan(o.model, g.id, scores.get(g.id)!, keep));
        try {
          top1 = (await evaluate(pruned, o.test, o.data)).acc;
        } finally {
          pruned.dispose();
        }
      }
      const p: SensitivityPoint = { layer: g.id, layerIndex: gi + 1, channels: g.channels, ratio, keptChannels: keep, top1, drop: unprunedTop1 - top1 };
      points.push(p);
      o.onPoint?.(p, points.length, total);
    }
  }
  const calibrationImages = criterionNeedsData(o.criterion) && o.calibration ? o.calibration.split.count : 0;
  return { criterion: o.criterion, unprunedTop1, points, testImages: o.test.count, calibrationImages, seconds: (performance.now() - t0) / 1000 };
}

/** Layers whose drop at `ratio` stays under `maxDrop` points (strictly), in layer order. */
export function robustLayers(scan: SensitivityScan, ratio: number, maxDrop: number): SensitivityPoint[] {
  const at = scan.points.filter((p) => Math.abs(p.ratio - ratio) < 1e-9);
  if (at.length === 0) {
    const scanned = [...new Set(scan.points.map((p) => p.ratio))].join(', ');
    throw new ConfigError(`--at-ratio ${ratio} is not one of the scanned ratios (${scanned})`, 'at-ratio');
  }
  return at.filter((p) => p.drop < maxDrop);
}
