import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../models/index.ts';
import { PlanError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import type { ChannelGroup } from './groups.ts';

/**
 * Importance criteria: a function from a channel group to one score per channel (higher =
 * more important). Property criteria read the weights (L1/L2 of each filter, computed on the
 * original kernel: Li et al.'s "independent" strategy); the adaptive one reads BN's scale factor
 * learned under a sparsity penalty (Network Slimming); random is the control.
 */
export const CRITERIA = ['l1', 'l2', 'bn-gamma', 'random'] as const;
export type Criterion = (typeof CRITERIA)[number];

export type Importance = (model: Model, group: ChannelGroup) => Float32Array;

function filterNorm(model: Model, group: ChannelGroup, power: 1 | 2): Float32Array {
  if (group.producerKind !== 'conv') {
    throw new PlanError(`Filter-norm criteria score conv filters; ${group.id} is a channel selection (use bn-gamma)`, group.id);
  }
  return tf.tidy(() => {
    const w = model.param(`${group.id}.weight`);
    const per = power === 1 ? tf.sum(tf.abs(w), [0, 1, 2]) : tf.sqrt(tf.sum(tf.square(w), [0, 1, 2]));
    return per.dataSync() as Float32Array;
  });
}

/** Li et al.: sum of absolute kernel weights of each output filter. */
export const l1FilterImportance: Importance = (model, group) => filterNorm(model, group, 1);

export const l2FilterImportance: Importance = (model, group) => filterNorm(model, group, 2);

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

export function importanceFor(criterion: Criterion, seed = 0): Importance {
  switch (criterion) {
    case 'l1':
      return l1FilterImportance;
    case 'l2':
      return l2FilterImportance;
    case 'bn-gamma':
      return bnGammaImportance;
    case 'random':
      return randomImportance(seed);
  }
}

/** Indices of the k highest scores (ties to the lower index), in ascending index order. */
export function topK(scores: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  idx.sort((a, b) => scores[b]! - scores[a]! || a - b);
  return idx.slice(0, k).sort((a, b) => a - b);
}
