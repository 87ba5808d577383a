import { rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModel } from '../models/index.ts';
import { ConfigError, fsErrorReason } from '../util/errors.ts';
import { modelToOnnx } from './onnx.ts';
import { modelToTfjs, TFJS_MODEL_FILE, TFJS_WEIGHTS_FILE } from './tfjs.ts';

export * from './onnx.ts';
export * from './tfjs.ts';
export * from './latency.ts';
export { onnxModelType } from './onnx-schema.ts';

import { EXPORT_FORMATS, type ExportFormat } from './formats.ts';
import { ensureDir } from '../util/fs.ts';
export { EXPORT_FORMATS, type ExportFormat };

export function isExportFormat(s: string): s is ExportFormat {
  return (EXPORT_FORMATS as readonly string[]).includes(s);
}

export interface ExportOptions {
  /** A saved model's folder (spec.json + weights), e.g. the --out of `prunebench prune`. */
  weights: string;
  format: string;
  /** The file (onnx) or folder (tfjs: model.json + weight shard) to write. */
  out: string;
  /** Replace an existing --out. */
  force?: boolean;
}

export interface ExportResult {
  format: ExportFormat;
  out: string;
  bytes: number;
  model: string;
  /** Zero weights among the conv and linear weights (masked models export them dense). */
  zeroWeights: number;
  weights: number;
}

/** `prunebench export`: a saved model to an ONNX file or a tfjs graph model. Inputs are checked before anything is written. */
export async function exportSavedModel(o: ExportOptions): Promise<ExportResult> {
  const format = o.format;
  if (!isExportFormat(format)) throw new ConfigError(`Unknown --format "${format}"; expected one of ${EXPORT_FORMATS.join(', ')}`, 'format');
  let weightsStat;
  try {
    weightsStat = await stat(o.weights);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(`--weights ${o.weights}: ${code === 'ENOENT' || code === 'ENOTDIR' ? 'no such folder' : `cannot be read (${fsErrorReason(e)})`}`, 'weights');
  }
  if (!weightsStat.isDirectory()) throw new ConfigError(`--weights ${o.weights}: not a folder (expected a saved model's folder, e.g. the --out of prunebench prune)`, 'weights');
  const existing = await stat(o.out).catch(() => undefined);
  if (existing && !o.force) throw new ConfigError(`--out ${o.out} already exists; give --force to replace it`, 'out');
  if (format === 'onnx' && existing?.isDirectory()) throw new ConfigError(`--out ${o.out} is a folder; an ONNX export is one file (e.g. model.onnx)`, 'out');
  if (format === 'tfjs' && existing && !existing.isDirectory()) throw new ConfigError(`--out ${o.out} is a file; a tfjs export is a folder (model.json + weights)`, 'out');
  const model = await loadModel(o.weights);
  try {
    // Encoded first: only the file-system steps below are reported as --out problems.
    const files: [string, Uint8Array | string][] = [];
    if (format === 'onnx') {
      files.push([o.out, modelToOnnx(model, { metadata: { 'prunebench.source': o.weights } })]);
    } else {
      const g = await modelToTfjs(model);
      // --force replaces the export's own two files, never the rest of the folder.
      files.push([join(o.out, TFJS_WEIGHTS_FILE), g.weightData], [join(o.out, TFJS_MODEL_FILE), JSON.stringify(g.modelJson)]);
    }
    try {
      if (format === 'onnx' && existing) await rm(o.out);
      if (format === 'tfjs') await ensureDir(o.out);
      for (const [path, data] of files) await writeFile(path, data);
    } catch (e) {
      throw new ConfigError(`--out ${o.out}: cannot write (${fsErrorReason(e)})`, 'out');
    }
    const bytes = files.reduce((n, [, d]) => n + (typeof d === 'string' ? Buffer.byteLength(d) : d.byteLength), 0);
    let zeroWeights = 0;
    let weights = 0;
    for (const info of model.paramInfo) {
      if (info.field !== 'weight') continue;
      const v = model.param(info.name).dataSync();
      weights += v.length;
      for (let i = 0; i < v.length; i++) if (v[i] === 0) zeroWeights++;
    }
    return { format, out: o.out, bytes, model: model.spec.name, zeroWeights, weights };
  } finally {
    model.dispose();
  }
}
