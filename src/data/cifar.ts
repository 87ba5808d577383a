/**
 * Reader for the official CIFAR binary layouts.
 *
 * CIFAR-10 (`cifar-10-batches-bin/`): data_batch_1..5.bin and test_batch.bin, 3073-byte records:
 * 1 label byte (0-9), then the 1024 red, 1024 green and 1024 blue bytes of a 32x32 image, each
 * plane row-major. CIFAR-100 (`cifar-100-binary/`): train.bin and test.bin, 3074-byte records:
 * coarse label (0-19), fine label (0-99), then the same 3072 pixel bytes. We use the fine label.
 *
 * The channel-planar records are converted to NHWC (pixel-interleaved RGB) on load, which is the
 * layout tfjs convolutions expect.
 */
import { DatasetError } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import {
  Fingerprinter,
  fileSize,
  readClassNames,
  readDataFile,
  secondsSince,
  type DataFileInfo,
  type LoadedFiles,
} from './files.ts';
import type { CifarBinarySpec } from './names.ts';
import type { ImageSplit } from './types.ts';
import { join } from 'node:path';

const PIXELS = 32 * 32;
const IMAGE_BYTES = PIXELS * 3;

/**
 * Converts one planar record's pixels (R plane, G plane, B plane) at `src[srcOff..]` to
 * interleaved RGB at `dst[dstOff..]`.
 */
export function planarToInterleaved(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number): void {
  for (let p = 0; p < PIXELS; p++) {
    const o = dstOff + p * 3;
    dst[o] = src[srcOff + p]!;
    dst[o + 1] = src[srcOff + PIXELS + p]!;
    dst[o + 2] = src[srcOff + 2 * PIXELS + p]!;
  }
}

interface SizedFile {
  name: string;
  path: string;
  bytes: number;
  records: number;
  split: 'train' | 'test';
}

/** Checks presence and sizes of all files before reading any, so errors come early and named. */
async function sizeFiles(spec: CifarBinarySpec, dir: string): Promise<SizedFile[]> {
  const all = [
    ...spec.trainFiles.map((n) => ({ name: n, split: 'train' as const })),
    ...spec.testFiles.map((n) => ({ name: n, split: 'test' as const })),
  ];
  const out: SizedFile[] = [];
  for (const { name, split } of all) {
    const path = join(dir, name);
    const bytes = await fileSize(path);
    if (bytes === null) {
      throw new DatasetError(
        `Missing file ${path}: ${spec.title} needs ${[...spec.trainFiles, ...spec.testFiles].join(', ')} in ${dir}.`,
        path,
      );
    }
    if (bytes === 0 || bytes % spec.recordBytes !== 0) {
      throw new DatasetError(
        `${path} is ${bytes} bytes, not a positive multiple of the ${spec.recordBytes}-byte ${spec.title} record ` +
          `(${bytes === 0 ? 'empty' : `${Math.floor(bytes / spec.recordBytes)} records + ${bytes % spec.recordBytes} bytes`}): ` +
          `the file is truncated, oversized or not a ${spec.title} binary file.`,
        path,
      );
    }
    out.push({ name, path, bytes, split, records: bytes / spec.recordBytes });
  }
  // The official training batches all hold the same number of records; one that differs was cut
  // short (or padded) by whole records, which a size check alone cannot see.
  const train = out.filter((f) => f.split === 'train');
  if (train.length > 1) {
    const counts = train.map((f) => f.records);
    const common = mode(counts);
    const odd = train.find((f) => f.records !== common);
    if (odd) {
      throw new DatasetError(
        `${odd.path} holds ${odd.records} records but the other training batches hold ${common} each: ` +
          `the file is truncated or oversized.`,
        odd.path,
      );
    }
  }
  return out;
}

function mode(values: number[]): number {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = values[0]!;
  for (const [v, c] of counts) if (c > counts.get(best)!) best = v;
  return best;
}

export async function readCifarDir(
  spec: CifarBinarySpec,
  dir: string,
  opts: { logger: Logger; requireOfficialCounts?: boolean },
): Promise<LoadedFiles> {
  const files = await sizeFiles(spec, dir);
  const warnings: string[] = [];
  const official =
    files.filter((f) => f.split === 'train').every((f, i) => f.records === spec.officialTrainCounts[i]) &&
    files.filter((f) => f.split === 'test').every((f) => f.records === spec.officialTestCount);
  if (!official) {
    const msg =
      `${dir} does not hold the official ${spec.title} record counts ` +
      `(${files.map((f) => `${f.name}: ${f.records}`).join(', ')}; official: ` +
      `${spec.officialTrainCounts.join('+')} train, ${spec.officialTestCount} test): a subset or a synthetic copy?`;
    if (opts.requireOfficialCounts) throw new DatasetError(msg, dir);
    warnings.push(msg);
  }

  const fp = new Fingerprinter();
  let readS = 0;
  let decodeS = 0;
  const splits: Record<'train' | 'test', ImageSplit> = {
    train: allocSplit(files, 'train', spec),
    test: allocSplit(files, 'test', spec),
  };
  const filled = { train: 0, test: 0 };
  for (const f of files) {
    let t0 = performance.now();
    const buf = await readDataFile(f.path);
    readS += secondsSince(t0);
    if (buf.length !== f.bytes) {
      throw new DatasetError(`${f.path} changed size while being read (${f.bytes} -> ${buf.length} bytes).`, f.path);
    }
    fp.add(f.name, buf);
    t0 = performance.now();
    const split = splits[f.split];
    const base = filled[f.split];
    for (let r = 0; r < f.records; r++) {
      const off = r * spec.recordBytes;
      const fine = buf[off + spec.labelBytes - 1]!;
      if (fine >= spec.numClasses) {
        throw new DatasetError(
          `${f.path}: record ${r} has ${spec.labelBytes === 2 ? 'fine ' : ''}label ${fine}; expected 0..${spec.numClasses - 1}.`,
          f.path,
        );
      }
      split.labels[base + r] = fine;
      if (spec.labelBytes === 2) {
        const coarse = buf[off]!;
        if (coarse >= spec.numCoarse!) {
          throw new DatasetError(
            `${f.path}: record ${r} has coarse label ${coarse}; expected 0..${spec.numCoarse! - 1}.`,
            f.path,
          );
        }
        split.coarseLabels![base + r] = coarse;
      }
      planarToInterleaved(buf, off + spec.labelBytes, split.images, (base + r) * IMAGE_BYTES);
    }
    filled[f.split] += f.records;
    decodeS += secondsSince(t0);
  }

  const metaPath = join(dir, spec.metaFile);
  let classNames = await readClassNames(metaPath, spec.numClasses);
  let classNamesFrom: 'file' | 'built-in' = 'file';
  if (!classNames) {
    classNames = spec.builtInClasses;
    classNamesFrom = 'built-in';
    warnings.push(`${metaPath} not found; using the built-in ${spec.title} class names.`);
  }
  let coarseClassNames: string[] | undefined;
  if (spec.coarseMetaFile) {
    const coarsePath = join(dir, spec.coarseMetaFile);
    coarseClassNames = (await readClassNames(coarsePath, spec.numCoarse!)) ?? undefined;
    if (!coarseClassNames) {
      coarseClassNames = spec.builtInCoarse;
      warnings.push(`${coarsePath} not found; using the built-in ${spec.title} coarse class names.`);
    }
  }
  for (const w of warnings) opts.logger.warn(w);

  const infos: DataFileInfo[] = files.map((f) => ({
    path: f.path,
    name: f.name,
    bytes: f.bytes,
    records: f.records,
    split: f.split,
  }));
  return {
    dir,
    height: 32,
    width: 32,
    channels: 3,
    numClasses: spec.numClasses,
    train: splits.train,
    test: splits.test,
    classNames,
    classNamesFrom,
    coarseClassNames,
    files: infos,
    fingerprint: fp.digest(),
    officialCounts: official,
    warnings,
    seconds: { read: readS, hash: fp.seconds, decode: decodeS },
  };
}

function allocSplit(files: SizedFile[], split: 'train' | 'test', spec: CifarBinarySpec): ImageSplit {
  const count = files.filter((f) => f.split === split).reduce((s, f) => s + f.records, 0);
  return {
    images: new Uint8Array(count * IMAGE_BYTES),
    labels: new Int32Array(count),
    count,
    ...(spec.labelBytes === 2 ? { coarseLabels: new Int32Array(count) } : {}),
  };
}
