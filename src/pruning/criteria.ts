import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../models/index.ts';
import { PlanError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { requireCalibration } from './calibration.ts';
import { readerWeights } from './channel_weights.ts';
import { fpgmImportance } from './fpgm.ts';
import { hrankChannelScores } from './hrank.ts';
import { prunableGroups, type ChannelGroup } from './groups.ts';
import { taylorChannelScores } from './taylor.ts';

/**
 * Importance criteria: a function from a channel group to one score per channel (higher =
 * more important). Property criteria read the weights (L1/L2 of each filter, computed on the
 * original kernel: Li et al.'s "independent" strategy; see channelNorm for channel selections;
 * FPGM's distance to the layer's other filters, see fpgm.ts); the adaptive one reads BN's scale
 * factor learned under a sparsity penalty (Network Slimming); Taylor (see taylor.ts) reads
 * gradients over calibration data and HRank (see hrank.ts) the ranks of feature maps; random is
 * the control.
 */
import { CRITERIA, type Criterion } from './names.ts';
export { CRITERIA, type Criterion };

/** The criteria that read calibration data; they score every group in one pass (scoreChannels). */
export const DATA_CRITERIA = ['taylor', 'hrank'] as const satisfies readonly Criterion[];
export type DataCriterion = (typeof DATA_CRITERIA)[number];

export type Importance = (model: Model, group: ChannelGroup) => Float32Array;

/**
 * Per-channel norm of a conv's filters (its output channels), or, for a channel selection (the
 * groups of Network Slimming's DenseNet and PreResNet, which no conv produces), of the weights
 * that read each selected channel: the input slices of the conv or linear layer(s) consuming it.
 * The second is what filter pruning means where channels are chosen at their reader: the same
 * norm on the other side of the channel.
 */
function channelNorm(model: Model, group: ChannelGroup, power: 1 | 2): Float32Array {
  const reduce = (w: tf.Tensor, axes: number[]): tf.Tensor => (power === 1 ? tf.sum(tf.abs(w), axes) : tf.sum(tf.square(w), axes));
  return tf.tidy(() => {
    let sum: tf.Tensor;
    if (group.producerKind === 'conv') {
      sum = reduce(model.param(`${group.id}.weight`), [0, 1, 2]);
    } else {
      const readers = readerWeights(model, group);
      sum = readers.map(([name, axis]) => reduce(model.param(name), axis === 2 ? [0, 1, 3] : [1])).reduce((a, b) => tf.add(a, b));
    }
    return (power === 1 ? sum : tf.sqrt(sum)).dataSync() as Float32Array;
  });
}

/** Li et al.: sum of absolute kernel weights of each output filter (of each read channel, for a channel selection). */
export const l1FilterImportance: Importance = (model, group) => channelNorm(model, group, 1);

export const l2FilterImportance: Importance = (model, group) => channelNorm(model, group, 2);

/** |gamma| of the BN that normalises the group's channels (the first one, right after the producer). */
export const bnGammaImportance: Importance = (model, group) => {
  const bn = group.bns[0];
  if (!bn) throw new PlanError(`Channel group ${group.id} has no BN layer, so it has no scaling factor to rank`, group.id);
  return tf.tidy(() => tf.abs(model.param(`${bn}.gamma`)).dataSync() as Float32Array);
};

export function randomImportance(seed: number): Importance {
  return (_model, group) => {
    const rng = new Rng(seed ^ hashString(group.id));
    return Float32Array.from({ length: group.channels }, () => rng.next());
  };
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/**
 * Calibration data for criteria that score channels or weights from activations or gradients
 * (Taylor, gradient magnitude): labelled images, used in batches of `batchSize`. Weight-only
 * criteria ignore it. The caller owns the tensors.
 */
export interface CalibrationData {
  /** NHWC images, normalised as in training. */
  images: tf.Tensor4D;
  /** Class ids (int32), one per image. */
  labels: tf.Tensor1D;
  batchSize: number;
}

export interface ScoreOptions {
  /** Seeds the random criterion. */
  seed?: number;
  /** Required by the criteria for which criterionNeedsData() is true. */
  calibration?: CalibrationData;
}

/** Whether a channel criterion reads calibration data (refused without it). */
export function criterionNeedsData(criterion: Criterion): criterion is DataCriterion {
  return (DATA_CRITERIA as readonly Criterion[]).includes(criterion);
}

/**
 * Scores of every prunable channel group of `model` by one criterion (higher = more important),
 * keyed by group id. The one entry point that plans (layerwise or global, ratio or budget) use,
 * so a criterion that needs a pass over data makes it once for all groups.
 */
export function scoreChannels(model: Model, criterion: Criterion, opts: ScoreOptions = {}): Map<string, Float32Array> {
  if (criterionNeedsData(criterion)) {
    const calibration = requireCalibration(criterion, opts.calibration);
    switch (criterion) {
      case 'taylor':
        return taylorChannelScores(model, calibration);
      case 'hrank':
        return hrankChannelScores(model, calibration);
    }
  }
  const importance = importanceFor(criterion, opts.seed ?? 0);
  return new Map(prunableGroups(model.graph).map((g) => [g.id, importance(model, g)]));
}

/** The per-group importance of a criterion that reads only the weights. */
export function importanceFor(criterion: Exclude<Criterion, DataCriterion>, seed = 0): Importance {
  switch (criterion) {
    case 'l1':
      return l1FilterImportance;
    case 'l2':
      return l2FilterImportance;
    case 'bn-gamma':
      return bnGammaImportance;
    case 'fpgm':
      return fpgmImportance;
    case 'random':
      return randomImportance(seed);
  }
}

/**
 * Indices of the k highest scores, in ascending index order. Ties go to the lower index: of two
 * channels with equal scores the earlier one is kept. (Li et al.'s reference code sorts ascending
 * and keeps the tail, so on equal norms it keeps the higher index; with trained float weights
 * exact ties are rare.)
 */
export function topK(scores: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  idx.sort((a, b) => scores[b]! - scores[a]! || a - b);
  return idx.slice(0, k).sort((a, b) => a - b);
}
