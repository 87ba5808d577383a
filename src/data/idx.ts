/**
 * Reader for Fashion-MNIST's IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
 * t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz), gzip-compressed or not.
 *
 * IDX: a big-endian header (magic 0x00000803 for a uint8 3-d array of images, 0x00000801 for a
 * uint8 1-d array of labels, then one uint32 per dimension) followed by the bytes. 28x28x1 images
 * are already NHWC. The fingerprint hashes the *decompressed* bytes under the name without .gz,
 * so the official files and a re-compressed copy (Debian's dataset-fashion-mnist) agree.
 */
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { DatasetError } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import { Fingerprinter, fileSize, readDataFile, secondsSince, type DataFileInfo, type LoadedFiles } from './files.ts';
import type { IdxSpec } from './names.ts';

const IMAGES_MAGIC = 0x00000803;
const LABELS_MAGIC = 0x00000801;

/** The path of an IDX file in `dir`: `<name>.gz` if present, else `<name>`; null if neither. */
export async function findIdxFile(dir: string, name: string): Promise<{ path: string; bytes: number } | null> {
  for (const candidate of [`${name}.gz`, name]) {
    const path = join(dir, candidate);
    const bytes = await fileSize(path);
    if (bytes !== null) return { path, bytes };
  }
  return null;
}

export function idxFileNames(spec: IdxSpec): string[] {
  return [spec.trainImages, spec.trainLabels, spec.testImages, spec.testLabels];
}

interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

export function parseIdx(raw: Uint8Array, path: string, expectedMagic: number): IdxArray {
  if (raw.length < 8) throw new DatasetError(`${path} is ${raw.length} bytes: too short for an IDX header.`, path);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const magic = view.getUint32(0);
  if (magic !== expectedMagic) {
    throw new DatasetError(
      `${path} has IDX magic 0x${magic.toString(16).padStart(8, '0')}; expected 0x${expectedMagic.toString(16).padStart(8, '0')} ` +
        `(${expectedMagic === IMAGES_MAGIC ? 'uint8 images, 3 dims' : 'uint8 labels, 1 dim'}).`,
      path,
    );
  }
  const ndim = magic & 0xff;
  const header = 4 + 4 * ndim;
  if (raw.length < header) throw new DatasetError(`${path} is truncated inside its IDX header.`, path);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i));
  const expected = header + dims.reduce((a, b) => a * b, 1);
  if (raw.length !== expected) {
    throw new DatasetError(
      `${path} holds ${raw.length - header} data bytes but its header (dims ${dims.join('x')}) announces ` +
        `${expected - header}: the file is truncated or oversized.`,
      path,
    );
  }
  return { dims, data: raw.subarray(header) };
}

async function readIdx(dir: string, name: string, magic: number, fp: Fingerprinter, timing: { read: number; decode: number }) {
  const found = await findIdxFile(dir, name);
  if (!found) {
    const path = join(dir, `${name}.gz`);
    throw new DatasetError(`Missing file ${path} (or ${name} uncompressed) in ${dir}.`, path);
  }
  let t0 = performance.now();
  const buf = await readDataFile(found.path);
  timing.read += secondsSince(t0);
  t0 = performance.now();
  let raw: Uint8Array;
  if (found.path.endsWith('.gz')) {
    try {
      raw = gunzipSync(buf);
    } catch (e) {
      throw new DatasetError(`${found.path} is not a valid gzip file (${(e as Error).message}): truncated download?`, found.path);
    }
  } else {
    raw = buf;
  }
  timing.decode += secondsSince(t0);
  fp.add(name, raw);
  return { ...found, arr: parseIdx(raw, found.path, magic) };
}

export async function readIdxDir(
  spec: IdxSpec,
  dir: string,
  opts: { logger: Logger; requireOfficialCounts?: boolean },
): Promise<LoadedFiles> {
  const fp = new Fingerprinter();
  const timing = { read: 0, decode: 0 };
  const files: DataFileInfo[] = [];
  const splits = [] as { images: Uint8Array; labels: Int32Array; count: number }[];
  for (const [split, imgName, lblName] of [
    ['train', spec.trainImages, spec.trainLabels],
    ['test', spec.testImages, spec.testLabels],
  ] as const) {
    const img = await readIdx(dir, imgName, IMAGES_MAGIC, fp, timing);
    const lbl = await readIdx(dir, lblName, LABELS_MAGIC, fp, timing);
    const [n, h, w] = img.arr.dims as [number, number, number];
    if (h !== spec.height || w !== spec.width) {
      throw new DatasetError(`${img.path} holds ${h}x${w} images; expected ${spec.height}x${spec.width}.`, img.path);
    }
    if (lbl.arr.dims[0] !== n) {
      throw new DatasetError(`${lbl.path} holds ${lbl.arr.dims[0]} labels but ${img.path} holds ${n} images.`, lbl.path);
    }
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = lbl.arr.data[i]!;
      if (v >= spec.numClasses) {
        throw new DatasetError(`${lbl.path}: record ${i} has label ${v}; expected 0..${spec.numClasses - 1}.`, lbl.path);
      }
      labels[i] = v;
    }
    // Copy out of the (possibly pooled) buffer so the split owns its bytes.
    splits.push({ images: new Uint8Array(img.arr.data), labels, count: n });
    files.push({ path: img.path, name: imgName, bytes: img.bytes, records: n, split });
    files.push({ path: lbl.path, name: lblName, bytes: lbl.bytes, records: n, split });
  }
  const [train, test] = splits as [(typeof splits)[0], (typeof splits)[0]];
  const warnings: string[] = [];
  const official = train.count === spec.officialTrainCount && test.count === spec.officialTestCount;
  if (!official) {
    const msg =
      `${dir} does not hold the official ${spec.title} counts (${train.count} train, ${test.count} test; official: ` +
      `${spec.officialTrainCount} train, ${spec.officialTestCount} test): a subset or a synthetic copy?`;
    if (opts.requireOfficialCounts) throw new DatasetError(msg, dir);
    warnings.push(msg);
  }
  for (const w of warnings) opts.logger.warn(w);
  return {
    dir,
    height: spec.height,
    width: spec.width,
    channels: 1,
    numClasses: spec.numClasses,
    train,
    test,
    classNames: spec.builtInClasses,
    classNamesFrom: 'built-in',
    files,
    fingerprint: fp.digest(),
    officialCounts: official,
    warnings,
    seconds: { read: timing.read, hash: fp.seconds, decode: timing.decode },
  };
}
