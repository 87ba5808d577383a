/**
 * Seeded, class-balanced subsets and validation splits. Selected images keep their original
 * relative order (training shuffles per epoch anyway), so a subset is a plain function of
 * (split, size, seed).
 */
import { ConfigError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import type { ImageSplit } from './types.ts';

/** A new split holding the images at `indices`, in that order. */
export function takeIndices(split: ImageSplit, indices: ArrayLike<number>): ImageSplit {
  const size = split.count > 0 ? split.images.length / split.count : 0;
  const n = indices.length;
  const images = new Uint8Array(n * size);
  const labels = new Int32Array(n);
  const coarse = split.coarseLabels ? new Int32Array(n) : undefined;
  for (let k = 0; k < n; k++) {
    const i = indices[k]!;
    if (!Number.isInteger(i) || i < 0 || i >= split.count) {
      throw new RangeError(`takeIndices: index ${i} is outside 0..${split.count - 1}.`);
    }
    images.set(split.images.subarray(i * size, (i + 1) * size), k * size);
    labels[k] = split.labels[i]!;
    if (coarse) coarse[k] = split.coarseLabels![i]!;
  }
  return { images, labels, count: n, ...(coarse ? { coarseLabels: coarse } : {}) };
}

function numClassesOf(split: ImageSplit): number {
  let max = -1;
  for (const l of split.labels) if (l > max) max = l;
  return max + 1;
}

export interface BalancedSubsetOptions {
  /** Images in total; split as evenly as possible over the classes (the first total % numClasses classes get one more). */
  total?: number;
  /** Images per class (alternative to total). */
  perClass?: number;
  seed: number;
  /** Defaults to 1 + the largest label present. */
  numClasses?: number;
  /** Config key named in errors (default 'trainSubset'). */
  key?: string;
}

/** Per-class quotas for a balanced subset. */
function quotas(opts: BalancedSubsetOptions, numClasses: number, key: string): number[] {
  if ((opts.total === undefined) === (opts.perClass === undefined)) {
    throw new ConfigError(`balancedSubset needs exactly one of total or perClass (${key}).`, key);
  }
  if (opts.perClass !== undefined) {
    if (!Number.isInteger(opts.perClass) || opts.perClass < 0) {
      throw new ConfigError(`Expected ${key} (per class) to be a non-negative integer, but got ${opts.perClass}.`, key);
    }
    return new Array<number>(numClasses).fill(opts.perClass);
  }
  const total = opts.total!;
  if (!Number.isInteger(total) || total < 0) {
    throw new ConfigError(`Expected ${key} to be a non-negative integer, but got ${total}.`, key);
  }
  const q = Math.floor(total / numClasses);
  const r = total % numClasses;
  return Array.from({ length: numClasses }, (_, k) => q + (k < r ? 1 : 0));
}

/** Indices of a seeded class-balanced selection, ascending; and the complement. */
export function balancedIndices(split: ImageSplit, opts: BalancedSubsetOptions): { chosen: Int32Array; rest: Int32Array } {
  const key = opts.key ?? 'trainSubset';
  const numClasses = opts.numClasses ?? numClassesOf(split);
  const want = quotas(opts, numClasses, key);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < split.count; i++) byClass[split.labels[i]!]?.push(i);
  const rng = new Rng(opts.seed);
  const take = new Uint8Array(split.count);
  for (let k = 0; k < numClasses; k++) {
    const members = byClass[k]!;
    if (members.length < want[k]!) {
      throw new ConfigError(
        `${key}: class ${k} has ${members.length} images, fewer than the ${want[k]} a balanced subset needs.`,
        key,
      );
    }
    // A per-class stream, so the choice for one class does not depend on the other classes' sizes.
    const perm = rng.fork(k).permutation(members.length);
    for (let j = 0; j < want[k]!; j++) take[members[perm[j]!]!] = 1;
  }
  const chosen: number[] = [];
  const rest: number[] = [];
  for (let i = 0; i < split.count; i++) (take[i] ? chosen : rest).push(i);
  return { chosen: Int32Array.from(chosen), rest: Int32Array.from(rest) };
}

/**
 * A seeded class-balanced subset: `total` images (`--train-subset N`: N/numClasses per class) or
 * `perClass` images of each class.
 */
export function balancedSubset(split: ImageSplit, opts: BalancedSubsetOptions): ImageSplit {
  return takeIndices(split, balancedIndices(split, opts).chosen);
}

export interface ValidationSplitOptions {
  /** Images held out for validation. */
  valCount: number;
  seed: number;
  /** Class-balanced validation set (default true); otherwise a plain random draw. */
  stratified?: boolean;
  numClasses?: number;
}

/** Splits a training set into disjoint train and validation parts (seeded). */
export function splitValidation(split: ImageSplit, opts: ValidationSplitOptions): { train: ImageSplit; val: ImageSplit } {
  const { valCount } = opts;
  if (!Number.isInteger(valCount) || valCount < 0 || valCount >= split.count) {
    throw new ConfigError(
      `Expected valCount to be an integer in 0..${split.count - 1} (the split has ${split.count} images), but got ${valCount}.`,
      'valCount',
    );
  }
  let val: Int32Array;
  let train: Int32Array;
  if (opts.stratified ?? true) {
    const r = balancedIndices(split, { total: valCount, seed: opts.seed, numClasses: opts.numClasses, key: 'valCount' });
    val = r.chosen;
    train = r.rest;
  } else {
    const perm = new Rng(opts.seed).permutation(split.count);
    val = perm.slice(0, valCount).sort();
    train = perm.slice(valCount).sort();
  }
  return { train: takeIndices(split, train), val: takeIndices(split, val) };
}
