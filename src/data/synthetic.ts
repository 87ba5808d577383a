/**
 * Synthetic data: files in the official CIFAR / Fashion-MNIST layouts (for tests of the readers,
 * the downloader and the CLI without the real data) and an in-memory data set ('synthetic').
 *
 * With `learnable`, each class has a fixed template (a per-channel colour offset plus a sinusoidal
 * grating with a class-specific frequency and phase) and each image is its class template plus
 * Gaussian noise, so a tiny network learns it in a few steps. Without it, pixels are uniform noise.
 * Labels are balanced: exactly count/numClasses per class (the first count % numClasses classes get
 * one more), in a seeded random order.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ConfigError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import {
  CIFAR100_COARSE_CLASSES,
  CIFAR100_FINE_CLASSES,
  CIFAR10_CLASSES,
  CIFAR10_SPEC,
  CIFAR100_SPEC,
  FASHION_MNIST_SPEC,
} from './names.ts';
import { channelStats } from './stats.ts';
import type { ImageDataset, ImageSplit } from './types.ts';
import { ensureDir } from '../util/fs.ts';

interface Template {
  offset: number[];
  fx: number;
  fy: number;
  phase: number[];
}

function makeTemplates(numClasses: number, channels: number, seed: number): Template[] {
  const rng = new Rng(seed).fork(1);
  const out: Template[] = [];
  for (let k = 0; k < numClasses; k++) {
    out.push({
      offset: Array.from({ length: channels }, () => Math.round((rng.next() * 2 - 1) * 60)),
      fx: rng.int(4),
      fy: rng.int(4),
      phase: Array.from({ length: channels }, () => rng.next() * 2 * Math.PI),
    });
  }
  return out;
}

/** Balanced labels in a seeded random order. */
export function balancedLabels(count: number, numClasses: number, rng: Rng): Int32Array {
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) labels[i] = i % numClasses;
  rng.shuffle(labels);
  return labels;
}

export interface SyntheticImagesOptions {
  count: number;
  numClasses: number;
  height: number;
  width: number;
  channels: number;
  learnable: boolean;
  /** Seed of the class templates: train and test must share it. */
  templateSeed: number;
  /** Seed of labels and noise for this split. */
  seed: number;
  /** Noise std in grey levels (default 25). */
  noise?: number;
}

/** NHWC uint8 images and balanced labels. */
export function syntheticImages(o: SyntheticImagesOptions): ImageSplit {
  const rng = new Rng(o.seed);
  const labels = balancedLabels(o.count, o.numClasses, rng);
  const { height: h, width: w, channels: c } = o;
  const images = new Uint8Array(o.count * h * w * c);
  if (!o.learnable) {
    for (let i = 0; i < images.length; i++) images[i] = rng.int(256);
    return { images, labels, count: o.count };
  }
  const templates = makeTemplates(o.numClasses, c, o.templateSeed);
  const noise = o.noise ?? 25;
  // Precompute each class template once.
  const tpl = templates.map((t) => {
    const a = new Float32Array(h * w * c);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let ch = 0; ch < c; ch++) {
          const g = Math.sin(2 * Math.PI * ((t.fx * x) / w + (t.fy * y) / h) + t.phase[ch]!);
          a[(y * w + x) * c + ch] = 128 + t.offset[ch]! + 50 * g;
        }
    return a;
  });
  const size = h * w * c;
  for (let i = 0; i < o.count; i++) {
    const t = tpl[labels[i]!]!;
    const base = i * size;
    for (let p = 0; p < size; p++) {
      const v = Math.round(t[p]! + noise * rng.normal());
      images[base + p] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { images, labels, count: o.count };
}

/** NHWC (interleaved) image -> CIFAR's channel-planar record pixels. */
function interleavedToPlanar(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number): void {
  for (let p = 0; p < 1024; p++) {
    dst[dstOff + p] = src[srcOff + p * 3]!;
    dst[dstOff + 1024 + p] = src[srcOff + p * 3 + 1]!;
    dst[dstOff + 2048 + p] = src[srcOff + p * 3 + 2]!;
  }
}

/** Encodes a split as CIFAR binary records (1 or 2 label bytes before the pixels). */
export function encodeCifarRecords(split: ImageSplit, labelBytes: 1 | 2): Uint8Array {
  const rb = 3072 + labelBytes;
  const out = new Uint8Array(split.count * rb);
  for (let i = 0; i < split.count; i++) {
    const off = i * rb;
    if (labelBytes === 2) {
      out[off] = split.coarseLabels ? split.coarseLabels[i]! : Math.floor(split.labels[i]! / 5);
      out[off + 1] = split.labels[i]!;
    } else {
      out[off] = split.labels[i]!;
    }
    interleavedToPlanar(split.images, i * 3072, out, off + labelBytes);
  }
  return out;
}

export interface WriteSyntheticCifarOptions {
  kind: 'cifar10' | 'cifar100';
  /** CIFAR-10: records in each of data_batch_1..5.bin. CIFAR-100: records in train.bin. */
  trainPerFile: number;
  testCount: number;
  seed: number;
  learnable?: boolean;
  /** Write the class-name files (default true). */
  meta?: boolean;
}

/**
 * Writes a synthetic data set in the official layout into `dir`: CIFAR-10 data_batch_1..5.bin,
 * test_batch.bin, batches.meta.txt; CIFAR-100 train.bin, test.bin, fine_label_names.txt,
 * coarse_label_names.txt. Returns the splits written (train in file order).
 */
export async function writeSyntheticCifar(
  dir: string,
  opts: WriteSyntheticCifarOptions,
): Promise<{ train: ImageSplit; test: ImageSplit }> {
  const spec = opts.kind === 'cifar10' ? CIFAR10_SPEC : CIFAR100_SPEC;
  const trainFiles = spec.trainFiles.length;
  const base = {
    numClasses: spec.numClasses,
    height: 32,
    width: 32,
    channels: 3,
    learnable: opts.learnable ?? false,
    templateSeed: opts.seed,
  };
  const train = syntheticImages({ ...base, count: opts.trainPerFile * trainFiles, seed: opts.seed + 1 });
  const test = syntheticImages({ ...base, count: opts.testCount, seed: opts.seed + 2 });
  if (opts.kind === 'cifar100') {
    for (const s of [train, test]) s.coarseLabels = s.labels.map((l) => Math.floor(l / 5));
  }
  await ensureDir(dir);
  const trainBytes = encodeCifarRecords(train, spec.labelBytes);
  const rb = spec.recordBytes;
  for (let f = 0; f < trainFiles; f++) {
    const slice = trainBytes.subarray(f * opts.trainPerFile * rb, (f + 1) * opts.trainPerFile * rb);
    await writeFile(join(dir, spec.trainFiles[f]!), slice);
  }
  await writeFile(join(dir, spec.testFiles[0]!), encodeCifarRecords(test, spec.labelBytes));
  if (opts.meta ?? true) {
    if (opts.kind === 'cifar10') {
      await writeFile(join(dir, spec.metaFile), `${CIFAR10_CLASSES.join('\n')}\n\n`);
    } else {
      await writeFile(join(dir, spec.metaFile), `${CIFAR100_FINE_CLASSES.join('\n')}\n`);
      await writeFile(join(dir, spec.coarseMetaFile!), `${CIFAR100_COARSE_CLASSES.join('\n')}\n`);
    }
  }
  return { train, test };
}

function idxBytes(magic: number, dims: number[], data: Uint8Array): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  const v = new DataView(header.buffer);
  v.setUint32(0, magic);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d));
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

/** Writes synthetic Fashion-MNIST IDX files (gzip-compressed unless `gzip: false`) into `dir`. */
export async function writeSyntheticFashionMnist(
  dir: string,
  opts: { trainCount: number; testCount: number; seed: number; learnable?: boolean; gzip?: boolean },
): Promise<{ train: ImageSplit; test: ImageSplit }> {
  const spec = FASHION_MNIST_SPEC;
  const base = {
    numClasses: 10,
    height: 28,
    width: 28,
    channels: 1,
    learnable: opts.learnable ?? false,
    templateSeed: opts.seed,
  };
  const train = syntheticImages({ ...base, count: opts.trainCount, seed: opts.seed + 1 });
  const test = syntheticImages({ ...base, count: opts.testCount, seed: opts.seed + 2 });
  await ensureDir(dir);
  const gz = opts.gzip ?? true;
  const write = (name: string, bytes: Uint8Array) =>
    writeFile(join(dir, gz ? `${name}.gz` : name), gz ? gzipSync(bytes) : bytes);
  for (const [split, imgName, lblName] of [
    [train, spec.trainImages, spec.trainLabels],
    [test, spec.testImages, spec.testLabels],
  ] as const) {
    await write(imgName, idxBytes(0x803, [split.count, 28, 28], split.images));
    await write(lblName, idxBytes(0x801, [split.count], Uint8Array.from(split.labels)));
  }
  return { train, test };
}

export interface SyntheticDatasetOptions {
  numClasses?: number;
  trainCount: number;
  testCount: number;
  seed: number;
  height?: number;
  width?: number;
  channels?: number;
  /** Default true: class templates plus noise. */
  learnable?: boolean;
  noise?: number;
}

/** An in-memory, learnable data set named 'synthetic'; normalised with its own training statistics. */
export function syntheticDataset(opts: SyntheticDatasetOptions): ImageDataset {
  const numClasses = opts.numClasses ?? 10;
  const height = opts.height ?? 32;
  const width = opts.width ?? 32;
  const channels = opts.channels ?? 3;
  for (const [key, v] of Object.entries({ numClasses, height, width, channels })) {
    if (!Number.isInteger(v) || v < 1) {
      throw new ConfigError(`Expected synthetic ${key} to be a positive integer, but got ${v}.`, key);
    }
  }
  for (const [key, v] of Object.entries({ trainCount: opts.trainCount, testCount: opts.testCount })) {
    if (!Number.isInteger(v) || v < numClasses) {
      throw new ConfigError(`Expected synthetic ${key} to be an integer >= numClasses (${numClasses}), but got ${v}.`, key);
    }
  }
  const base = {
    numClasses,
    height,
    width,
    channels,
    learnable: opts.learnable ?? true,
    templateSeed: opts.seed,
    noise: opts.noise,
  };
  const train = syntheticImages({ ...base, count: opts.trainCount, seed: opts.seed + 1 });
  const test = syntheticImages({ ...base, count: opts.testCount, seed: opts.seed + 2 });
  const h = createHash('sha256');
  h.update(JSON.stringify({ numClasses, height, width, channels, learnable: base.learnable, noise: opts.noise ?? 25 }));
  for (const s of [train, test]) {
    h.update(s.images);
    h.update(new Uint8Array(s.labels.buffer, s.labels.byteOffset, s.labels.byteLength));
  }
  const { mean, std } = channelStats(train, channels);
  return {
    name: 'synthetic',
    classNames: Array.from({ length: numClasses }, (_, k) => `class${k}`),
    classNamesFrom: 'built-in',
    numClasses,
    height,
    width,
    channels,
    train,
    test,
    fingerprint: h.digest('hex').slice(0, 16),
    source: `memory:synthetic(seed=${opts.seed},classes=${numClasses},train=${opts.trainCount},test=${opts.testCount})`,
    mean,
    std: std.map((s) => (s > 1e-6 ? s : 1)),
  };
}
