import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, fsErrorReason, ModelError } from '../util/errors.ts';
import { ensureDir, writeFileAtomic } from '../util/fs.ts';
import { Model, type NamedWeights } from './model.ts';
import { parseModelSpec } from './registry.ts';
import type { ModelSpec } from './spec.ts';

/**
 * A saved model is a folder: `spec.json` (the architecture, plain data) plus TensorFlow.js's own
 * weight format (`weights.json` manifest + `weights.bin`). The spec alone rebuilds the
 * architecture with fresh weights (Scratch-E/B); spec + weights restore it (fine-tuning).
 */
export const SPEC_FILE = 'spec.json';
export const WEIGHTS_MANIFEST = 'weights.json';
export const WEIGHTS_DATA = 'weights.bin';

export async function encodeNamedWeights(weights: NamedWeights): Promise<{ manifest: string; data: Uint8Array }> {
  const { data, specs } = await tf.io.encodeWeights(Object.fromEntries(weights));
  return { manifest: JSON.stringify(specs), data: new Uint8Array(data as ArrayBuffer) };
}

export function decodeNamedWeights(manifestJson: string, data: Uint8Array, source: string): NamedWeights {
  let specs: tf.io.WeightsManifestEntry[];
  try {
    specs = JSON.parse(manifestJson) as tf.io.WeightsManifestEntry[];
  } catch (e) {
    throw new CheckpointError(`${source}: the weights manifest is not valid JSON (${(e as Error).message})`, source);
  }
  const bad = Array.isArray(specs)
    ? specs.findIndex((s) => !s || typeof s.name !== 'string' || s.dtype !== 'float32' || !Array.isArray(s.shape) || !s.shape.every((d) => Number.isInteger(d) && d >= 0))
    : -1;
  if (!Array.isArray(specs) || bad >= 0) {
    const what = Array.isArray(specs) ? `entry ${bad} (${JSON.stringify(specs[bad]).slice(0, 80)})` : 'its top level';
    throw new CheckpointError(`${source}: not a weights manifest: ${what}; expected a list of {name, shape: [integers], dtype: "float32"}`, source);
  }
  const expected = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (data.byteLength !== expected) {
    throw new CheckpointError(`${source}: weights data has ${data.byteLength} bytes but the manifest describes ${expected}`, source);
  }
  const buffer = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  return new Map(Object.entries(tf.io.decodeWeights(buffer, specs)));
}

export async function saveModel(dir: string, model: Model, extra: Record<string, unknown> = {}): Promise<void> {
  await ensureDir(dir);
  const { manifest, data } = await encodeNamedWeights(model.namedWeights());
  await writeFileAtomic(join(dir, WEIGHTS_DATA), data);
  await writeFileAtomic(join(dir, WEIGHTS_MANIFEST), manifest);
  await writeFileAtomic(join(dir, SPEC_FILE), `${JSON.stringify({ spec: model.spec, ...extra }, null, 1)}\n`);
}

/** The spec of a saved model: `dir` is its folder, or its spec.json itself. Validated (see parseModelSpec). */
export async function loadSpec(dir: string): Promise<ModelSpec> {
  const file = dir.endsWith('.json') ? dir : join(dir, SPEC_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new CheckpointError(`No saved model at ${dir}: ${file} is missing`, file);
    throw new CheckpointError(`Cannot read ${file}: ${fsErrorReason(e)}`, file);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`${file} is not valid JSON: ${(e as Error).message}`, file);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || !('spec' in parsed)) {
    throw new CheckpointError(`${file}: no "spec" field; a saved model's ${SPEC_FILE} holds {"spec": {"family": ..., ...}}`, file);
  }
  try {
    return parseModelSpec((parsed as { spec: unknown }).spec, file);
  } catch (e) {
    if (e instanceof ModelError) throw new CheckpointError(e.message, file);
    throw e;
  }
}

/** Load a saved model (spec + weights). */
export async function loadModel(dir: string): Promise<Model> {
  const spec = await loadSpec(dir);
  const manifestFile = join(dir, WEIGHTS_MANIFEST);
  let manifest: string;
  let data: Uint8Array;
  try {
    manifest = await readFile(manifestFile, 'utf8');
    data = await readFile(join(dir, WEIGHTS_DATA));
  } catch {
    throw new CheckpointError(`${dir} has a spec but no readable weights (${WEIGHTS_MANIFEST}, ${WEIGHTS_DATA})`, manifestFile);
  }
  const weights = decodeNamedWeights(manifest, data, manifestFile);
  try {
    return Model.fromWeights(spec, weights);
  } catch (e) {
    // Weights of another architecture (e.g. spec.json edited, or weights copied from another model).
    if (e instanceof ModelError) throw new CheckpointError(`${manifestFile}: ${e.message} (of ${join(dir, SPEC_FILE)})`, manifestFile);
    throw e;
  } finally {
    for (const t of weights.values()) t.dispose();
  }
}
