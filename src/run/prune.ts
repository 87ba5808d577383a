import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { countSpec, reductionPct } from '../metrics/index.ts';
import { loadModel, Model, modelSpec, saveModel, encodeNamedWeights } from '../models/index.ts';
import {
  assertPruned,
  checkMethodApplies,
  formatPruneSummary,
  GRANULARITY_OF,
  isPruneMethod,
  PRUNE_METHODS,
  pruneModel,
  pruneSummary,
  validatePruneRatio,
  validateThresholdRule,
  type PruneOutcome,
} from '../pruning/index.ts';
import { GRANULARITIES } from '../results/index.ts';
import { ConfigError, fsErrorReason } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';


export interface PruneToFolderOptions {
  model: string;
  weights?: string;
  method: string;
  profile?: string;
  pruneRatio?: number;
  granularity?: string;
  /** slimming: 'floor' (default) or 'reference' (the reference scripts' one channel more). */
  thresholdRule?: string;
  out: string;
  minChannels: number;
  numClasses: number;
  widthMultiplier: number;
  seed: number;
  sampleImages?: tf.Tensor4D;
  logger: Logger;
}

/** Create the output folder before any work, so a bad --out fails at once and names the flag. */
async function makeOutDir(out: string): Promise<void> {
  try {
    await mkdir(out, { recursive: true });
  } catch (e) {
    throw new ConfigError(`--out ${out}: cannot create the folder (${fsErrorReason(e)})`, 'out');
  }
}

/**
 * `prunebench prune`: prune one model (saved, or freshly initialised) and write the result, its
 * spec, plan or masks and per-layer summary to `out`; returns the summary as text.
 */
export async function pruneToFolder(o: PruneToFolderOptions): Promise<string> {
  if (!isPruneMethod(o.method)) {
    throw new ConfigError(`Unknown --method "${o.method}"; expected one of ${PRUNE_METHODS.join(', ')}`, 'method');
  }
  const method = o.method;
  if (o.granularity !== undefined) {
    if (!(GRANULARITIES as readonly string[]).includes(o.granularity) || o.granularity === 'none') {
      throw new ConfigError(`Unknown --granularity "${o.granularity}"; expected channel, layer, vector or weight`, 'granularity');
    }
    if (o.granularity !== GRANULARITY_OF[method]) {
      throw new ConfigError(`--method ${method} prunes at ${GRANULARITY_OF[method]} granularity, not ${o.granularity}`, 'granularity');
    }
  }
  if (o.profile !== undefined && !['l1', 'l2', 'random'].includes(method)) {
    throw new ConfigError(`--profile applies to the filter-norm methods (l1, l2, random), not ${method}`, 'profile');
  }
  const thresholdRule = o.thresholdRule === undefined ? undefined : validateThresholdRule(o.thresholdRule);
  if (thresholdRule !== undefined && method !== 'slimming') throw new ConfigError(`--threshold-rule applies to --method slimming, not ${method}`, 'threshold-rule');
  if (!Number.isInteger(o.minChannels) || o.minChannels < 1) throw new ConfigError(`--min-channels expects a positive integer, got ${o.minChannels}`, 'min-channels');
  if (o.profile === undefined && o.pruneRatio === undefined) throw new ConfigError('Give --prune-ratio (fraction removed, in [0, 1)) or --profile', 'prune-ratio');
  const ratio = o.pruneRatio === undefined ? 0 : validatePruneRatio(o.pruneRatio);
  // An architecture the method cannot act on is refused before any file is read or written.
  const named = modelSpec(o.model, { numClasses: o.numClasses, widthMultiplier: o.widthMultiplier });
  if (!o.weights) checkMethodApplies(named, method);
  const model = o.weights ? await loadModel(o.weights) : Model.init(named, o.seed);
  let outcome: PruneOutcome | undefined;
  let images: tf.Tensor4D | undefined;
  try {
    if (o.weights && model.spec.name !== o.model) {
      o.logger.warn(`--weights holds a ${model.spec.name}, not a ${o.model}; pruning the saved model`);
    }
    if (!o.weights) o.logger.info(`no --weights: pruning a freshly initialised ${o.model} (enough to inspect an architecture)`);
    checkMethodApplies(model.spec, method);
    await makeOutDir(o.out);
    if (method === 'reconstruction' && !o.sampleImages) {
      o.logger.warn('reconstruction without --data-dir samples random images; give real data for a meaningful selection');
      images = tf.randomNormal([32, model.spec.input.height, model.spec.input.width, model.spec.input.channels], 0, 1, 'float32', o.seed) as tf.Tensor4D;
    }
    const sampleImages = o.sampleImages ?? images;
    outcome = pruneModel(model, {
      method,
      ratio,
      minChannels: o.minChannels,
      seed: o.seed,
      ...(o.profile !== undefined ? { profile: o.profile } : {}),
      ...(thresholdRule !== undefined ? { thresholdRule } : {}),
      ...(sampleImages ? { sampleImages } : {}),
    });
    assertPruned(outcome, { model: model.spec.name, method, ratio, ...(o.profile !== undefined ? { profile: o.profile } : {}) });
    return await writeOutcome(o.out, model, outcome, { method, ratio, profile: o.profile ?? null });
  } finally {
    images?.dispose();
    if (outcome) {
      outcome.model.dispose();
      if (outcome.kind === 'masks') for (const t of outcome.masks.values()) t.dispose();
    }
    model.dispose();
  }
}

/** Writes the pruned model, its plan or masks and summary.json to `out`; returns the text to print. */
async function writeOutcome(out: string, model: Model, r: PruneOutcome, meta: { method: string; ratio: number; profile: string | null }): Promise<string> {
  const writeJson = (name: string, v: unknown): Promise<void> => writeFile(join(out, name), `${JSON.stringify(v, null, 1)}\n`);
  const before = countSpec(model.spec);
  await saveModel(out, r.model);
  if (r.kind === 'masks') {
    const enc = await encodeNamedWeights(r.masks);
    await writeFile(join(out, 'masks.bin'), enc.data);
    await writeFile(join(out, 'masks.json'), enc.manifest);
    const after = countSpec(r.model.spec, { nonZero: r.nonZero });
    const layers = [...r.nonZero].map(([name, nz]) => ({ layer: name, weights: model.param(name).size, nonZero: nz }));
    const granularity = GRANULARITY_OF[meta.method as keyof typeof GRANULARITY_OF];
    await writeJson('summary.json', { method: meta.method, granularity, prunedFraction: r.removedFraction, layers, params: before.params, paramsEffective: after.paramsEffective, macs: before.macs, macsEffective: after.macsEffective });
    const lines = layers.map((l) => `${l.layer.padEnd(28)} ${String(l.weights).padStart(9)} -> ${String(l.nonZero).padStart(9)} non-zero`);
    lines.push('', `weights pruned: ${(100 * r.removedFraction).toFixed(1)}% (${granularity} granularity, masks in masks.json)`);
    lines.push(`params (dense) ${before.params.toExponential(3)}, effective ${after.paramsEffective.toExponential(3)} (-${reductionPct(before.params, after.paramsEffective).toFixed(1)}%)`);
    lines.push(`MACs (dense) ${before.macs.toExponential(3)}, effective ${after.macsEffective.toExponential(3)} (-${reductionPct(before.macs, after.macsEffective).toFixed(1)}%)`);
    lines.push('note: masked weights still run through dense kernels: no real speedup without sparse kernels.');
    return lines.join('\n');
  }
  if (r.kind === 'blocks') {
    const after = countSpec(r.model.spec);
    await writeJson('summary.json', { method: meta.method, granularity: 'layer', removedBlocks: r.removedBlocks, scores: r.scores, params: before.params, paramsAfter: after.params, macs: before.macs, macsAfter: after.macs });
    return [
      ...r.scores.map((s) => `${s.block.padEnd(12)} score ${s.score.toFixed(4)}${s.removable ? '' : ' (not removable)'}${r.removedBlocks.includes(s.block) ? '  REMOVED' : ''}`),
      '',
      `removed ${r.removedBlocks.length} of ${r.scores.length} blocks`,
      `params ${before.params.toExponential(3)} -> ${after.params.toExponential(3)} (-${reductionPct(before.params, after.params).toFixed(1)}%)`,
      `MACs ${before.macs.toExponential(3)} -> ${after.macs.toExponential(3)} (-${reductionPct(before.macs, after.macs).toFixed(1)}%)`,
    ].join('\n');
  }
  if (r.reconstruction) await writeJson('reconstruction.json', r.reconstruction);
  await writeJson('plan.json', r.plan);
  const summary = pruneSummary(model.spec, r.model.spec, r.plan, r.widthsBefore, r.guardedLayers);
  const slimming = r.thresholdRule !== undefined ? { thresholdRule: r.thresholdRule, threshold: r.threshold } : {};
  await writeJson('summary.json', { method: meta.method, granularity: 'channel', profile: meta.profile, pruneRatio: meta.ratio, ...slimming, ...summary });
  const text = formatPruneSummary(summary);
  return r.thresholdRule !== undefined ? `${text}\nglobal |gamma| threshold ${r.threshold} (--threshold-rule ${r.thresholdRule})` : text;
}
