/**
 * The input pipeline: seeded shuffle, training augmentation and normalisation, done in plain JS
 * into one Float32Array per batch, then a single tf.tensor4d (no per-image tensors).
 *
 * Augmentation follows the reference code (torchvision `Pad(4)` or `RandomCrop(32, padding=4)`,
 * then `RandomHorizontalFlip()`, then `ToTensor()` and `Normalize(mean, std)`): the uint8 image is
 * padded with zeros *before* normalisation, so a padded pixel becomes (0 - mean) / std, not 0.
 * Per image the Rng is drawn in the order top offset, left offset (each uniform in 0..2*pad),
 * then flip (next() < 0.5), as torchvision draws i, j and then the flip.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../util/errors.ts';
import type { Rng } from '../util/rng.ts';
import type { ImageShape, ImageSplit } from './types.ts';

export interface BatchOptions {
  batchSize: number;
  shuffle: boolean;
  augment: boolean;
  /** Drives the shuffle and the augmentation; the caller forks one per epoch. */
  rng?: Rng;
  /** Per-channel mean and std on the 0..1 scale. */
  mean: number[];
  std: number[];
  /** Drop the last batch when it is smaller than batchSize (default false: keep it). */
  dropLast?: boolean;
  /** Zero padding for the random crop (default 4). */
  pad?: number;
}

export interface Batch {
  /** float32 [size, h, w, c], normalised. The caller disposes it. */
  x: tf.Tensor4D;
  /** int32 [size] class labels. The caller disposes it. */
  y: tf.Tensor1D;
  size: number;
  /** Indices into the split of the images in this batch. */
  indices: Int32Array;
}

/** 256-entry table per channel: normalised value of each uint8 level. */
export function normalisationTable(mean: number[], std: number[]): Float32Array[] {
  return mean.map((m, ch) => {
    const s = std[ch]!;
    const t = new Float32Array(256);
    for (let v = 0; v < 256; v++) t[v] = (v / 255 - m) / s;
    return t;
  });
}

export interface AugmentParams {
  /** Row offset of the crop in the padded image, 0..2*pad. */
  top: number;
  /** Column offset of the crop in the padded image, 0..2*pad. */
  left: number;
  flip: boolean;
}

export function drawAugment(rng: Rng, pad: number): AugmentParams {
  const top = rng.int(2 * pad + 1);
  const left = rng.int(2 * pad + 1);
  const flip = rng.next() < 0.5;
  return { top, left, flip };
}

/**
 * Writes image `img` (uint8 NHWC, h*w*c at `srcOff`) into `dst` at `dstOff` as normalised float32,
 * cropped from the zero-padded image at (top, left) and optionally flipped left-right.
 * Without augmentation pass { top: pad, left: pad, flip: false }.
 */
export function writeImage(
  src: Uint8Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  shape: ImageShape,
  tables: Float32Array[],
  aug: AugmentParams,
  pad: number,
): void {
  const { h, w, c } = shape;
  for (let y = 0; y < h; y++) {
    const sy = y + aug.top - pad;
    const rowOut = dstOff + y * w * c;
    if (sy < 0 || sy >= h) {
      for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) dst[rowOut + x * c + ch] = tables[ch]![0]!;
      continue;
    }
    const rowIn = srcOff + sy * w * c;
    for (let x = 0; x < w; x++) {
      const cx = aug.flip ? w - 1 - x : x;
      const sx = cx + aug.left - pad;
      const o = rowOut + x * c;
      if (sx < 0 || sx >= w) {
        for (let ch = 0; ch < c; ch++) dst[o + ch] = tables[ch]![0]!;
      } else {
        const i = rowIn + sx * c;
        for (let ch = 0; ch < c; ch++) dst[o + ch] = tables[ch]![src[i + ch]!]!;
      }
    }
  }
}

export function numBatches(count: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);
}

/**
 * Yields batches of a split. With `shuffle` the order is a permutation drawn from `rng`; with
 * `augment` each image gets a random padded crop and flip from `rng`. The last partial batch is
 * kept unless `dropLast`. Each yielded x and y must be disposed by the caller.
 */
export function* batches(split: ImageSplit, shape: ImageShape, opts: BatchOptions): Generator<Batch> {
  const { h, w, c } = shape;
  const size = h * w * c;
  if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
    throw new ConfigError(`Expected batchSize to be a positive integer, but got ${opts.batchSize}.`, 'batchSize');
  }
  if (split.images.length !== split.count * size) {
    throw new ConfigError(
      `batches: the split holds ${split.images.length} bytes, not ${split.count} images of ${h}x${w}x${c}.`,
      'shape',
    );
  }
  if (opts.mean.length !== c || opts.std.length !== c) {
    throw new ConfigError(`batches: mean/std need ${c} values (one per channel), got ${opts.mean.length}/${opts.std.length}.`, 'mean');
  }
  if ((opts.shuffle || opts.augment) && !opts.rng) {
    throw new ConfigError('batches: shuffle and augment need an rng.', 'rng');
  }
  const pad = opts.pad ?? 4;
  const tables = normalisationTable(opts.mean, opts.std);
  const order = opts.shuffle ? opts.rng!.permutation(split.count) : Int32Array.from({ length: split.count }, (_, i) => i);
  const identity: AugmentParams = { top: pad, left: pad, flip: false };
  const n = numBatches(split.count, opts.batchSize, opts.dropLast);
  for (let b = 0; b < n; b++) {
    const start = b * opts.batchSize;
    const end = Math.min(start + opts.batchSize, split.count);
    const bs = end - start;
    const xs = new Float32Array(bs * size);
    const ys = new Int32Array(bs);
    const indices = order.slice(start, end);
    for (let k = 0; k < bs; k++) {
      const i = indices[k]!;
      const aug = opts.augment ? drawAugment(opts.rng!, pad) : identity;
      writeImage(split.images, i * size, xs, k * size, shape, tables, aug, pad);
      ys[k] = split.labels[i]!;
    }
    yield { x: tf.tensor4d(xs, [bs, h, w, c], 'float32'), y: tf.tensor1d(ys, 'int32'), size: bs, indices };
  }
}
