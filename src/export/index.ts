import { stat, writeFile, rm } from 'node:fs/promises';
import { loadModel } from '../models/index.ts';
import { ConfigError, fsErrorReason } from '../util/errors.ts';
import { modelToOnnx } from './onnx.ts';

export * from './onnx.ts';
export { onnxModelType } from './onnx-schema.ts';

export const EXPORT_FORMATS = ['onnx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export function isExportFormat(s: string): s is ExportFormat {
  return (EXPORT_FORMATS as readonly string[]).includes(s);
}

export interface ExportOptions {
  /** A saved model's folder (spec.json + weights), e.g. the --out of `prunebench prune`. */
  weights: string;
  format: string;
  /** The file (onnx) to write. */
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

/** `prunebench export`: a saved model to an ONNX file. Inputs are checked before anything is written. */
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
  if (existing?.isDirectory()) throw new ConfigError(`--out ${o.out} is a folder; an ONNX export is one file (e.g. model.onnx)`, 'out');
  const model = await loadModel(o.weights);
  try {
    const bytes = modelToOnnx(model, { metadata: { 'prunebench.source': o.weights } });
    try {
      if (existing) await rm(o.out);
      await writeFile(o.out, bytes);
    } catch (e) {
      throw new ConfigError(`--out ${o.out}: cannot write the file (${fsErrorReason(e)})`, 'out');
    }
    let zeroWeights = 0;
    let weights = 0;
    for (const info of model.paramInfo) {
      if (info.field !== 'weight') continue;
      const v = model.param(info.name).dataSync();
      weights += v.length;
      for (let i = 0; i < v.length; i++) if (v[i] === 0) zeroWeights++;
    }
    return { format, out: o.out, bytes: bytes.byteLength, model: model.spec.name, zeroWeights, weights };
  } finally {
    model.dispose();
  }
}
