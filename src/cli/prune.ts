import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { countSpec, reductionPct } from '../metrics/index.ts';
import { loadModel, Model, modelSpec, saveModel, encodeNamedWeights } from '../models/index.ts';
import {
  blockImportance,
  compactModel,
  findProfile,
  formatPruneSummary,
  predefinedPlan,
  prunableGroups,
  pruneSummary,
  reconstructionPrune,
  removeBlocks,
  resolveProfile,
  selectBlocksToRemove,
  slimmingPlan,
  uniformRatios,
  validatePruneRatio,
  vectorMasks,
  weightMagnitudeMasks,
  type Criterion,
} from '../pruning/index.ts';
import { GRANULARITIES, type Granularity } from '../results/index.ts';
import { ConfigError } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';

export const PRUNE_METHODS = ['l1', 'l2', 'random', 'slimming', 'reconstruction', 'block', 'vector', 'magnitude'] as const;
export type PruneMethod = (typeof PRUNE_METHODS)[number];

const GRANULARITY_OF: Record<PruneMethod, Granularity> = {
  l1: 'channel',
  l2: 'channel',
  random: 'channel',
  slimming: 'channel',
  reconstruction: 'channel',
  block: 'layer',
  vector: 'vector',
  magnitude: 'weight',
};

export interface PruneCommandOptions {
  model: string;
  weights?: string;
  method: string;
  profile?: string;
  pruneRatio?: number;
  granularity?: string;
  out: string;
  minChannels: number;
  numClasses: number;
  widthMultiplier: number;
  seed: number;
  sampleImages?: tf.Tensor4D;
  logger: Logger;
}

/** `prunebench prune`: prune one model and write the result, its spec, plan and per-layer summary. */
export async function pruneCommand(o: PruneCommandOptions): Promise<string> {
  if (!(PRUNE_METHODS as readonly string[]).includes(o.method)) {
    throw new ConfigError(`Unknown --method "${o.method}"; expected one of ${PRUNE_METHODS.join(', ')}`, 'method');
  }
  const method = o.method as PruneMethod;
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
  if (o.profile === undefined && o.pruneRatio === undefined) throw new ConfigError('Give --prune-ratio (fraction removed, in [0, 1)) or --profile', 'prune-ratio');
  const ratio = o.pruneRatio === undefined ? 0 : validatePruneRatio(o.pruneRatio);
  const model = o.weights ? await loadModel(o.weights) : Model.init(modelSpec(o.model, { numClasses: o.numClasses, widthMultiplier: o.widthMultiplier }), o.seed);
  if (o.weights && model.spec.name !== o.model) {
    o.logger.warn(`--weights holds a ${model.spec.name}, not a ${o.model}; pruning the saved model`);
  }
  if (!o.weights) o.logger.info(`no --weights: pruning a freshly initialised ${o.model} (enough to inspect an architecture)`);
  await mkdir(o.out, { recursive: true });
  const writeJson = (name: string, v: unknown): Promise<void> => writeFile(join(o.out, name), `${JSON.stringify(v, null, 1)}\n`);
  const before = countSpec(model.spec);
  try {
    if (method === 'magnitude' || method === 'vector') {
      const m = method === 'magnitude' ? weightMagnitudeMasks(model, { ratio }) : vectorMasks(model, { ratio });
      model.applyMasks(m.masks);
      await saveModel(o.out, model);
      const enc = await encodeNamedWeights(m.masks);
      await writeFile(join(o.out, 'masks.bin'), enc.data);
      await writeFile(join(o.out, 'masks.json'), enc.manifest);
      const after = countSpec(model.spec, { nonZero: m.nonZero });
      const layers = [...m.nonZero].map(([name, nz]) => ({ layer: name, weights: model.param(name).size, nonZero: nz }));
      await writeJson('summary.json', { method, granularity: GRANULARITY_OF[method], prunedFraction: m.prunedFraction, layers, params: before.params, paramsEffective: after.paramsEffective, macs: before.macs, macsEffective: after.macsEffective });
      for (const t of m.masks.values()) t.dispose();
      const lines = layers.map((l) => `${l.layer.padEnd(28)} ${String(l.weights).padStart(9)} -> ${String(l.nonZero).padStart(9)} non-zero`);
      lines.push('', `weights pruned: ${(100 * m.prunedFraction).toFixed(1)}% (${GRANULARITY_OF[method]} granularity, masks in masks.json)`);
      lines.push(`params (dense) ${before.params.toExponential(3)}, effective ${after.paramsEffective.toExponential(3)} (-${reductionPct(before.params, after.paramsEffective).toFixed(1)}%)`);
      lines.push(`MACs (dense) ${before.macs.toExponential(3)}, effective ${after.macsEffective.toExponential(3)} (-${reductionPct(before.macs, after.macsEffective).toFixed(1)}%)`);
      lines.push('note: masked weights still run through dense kernels: no real speedup without sparse kernels.');
      return lines.join('\n');
    }
    if (method === 'block') {
      const scores = blockImportance(model);
      const blocks = selectBlocksToRemove(scores, { ratio });
      const pruned = removeBlocks(model, blocks);
      await saveModel(o.out, pruned);
      const after = countSpec(pruned.spec);
      await writeJson('summary.json', { method, granularity: 'layer', removedBlocks: blocks, scores, params: before.params, paramsAfter: after.params, macs: before.macs, macsAfter: after.macs });
      pruned.dispose();
      return [
        ...scores.map((s) => `${s.block.padEnd(12)} score ${s.score.toFixed(4)}${s.removable ? '' : ' (not removable)'}${blocks.includes(s.block) ? '  REMOVED' : ''}`),
        '',
        `removed ${blocks.length} of ${scores.length} blocks`,
        `params ${before.params.toExponential(3)} -> ${after.params.toExponential(3)} (-${reductionPct(before.params, after.params).toFixed(1)}%)`,
        `MACs ${before.macs.toExponential(3)} -> ${after.macs.toExponential(3)} (-${reductionPct(before.macs, after.macs).toFixed(1)}%)`,
      ].join('\n');
    }
    const widthsBefore = Object.fromEntries(prunableGroups(model.graph).map((g) => [g.id, g.channels]));
    let pruned: Model;
    let plan;
    let guarded: string[] = [];
    if (method === 'reconstruction') {
      const images = o.sampleImages ?? (tf.randomNormal([32, model.spec.input.height, model.spec.input.width, model.spec.input.channels], 0, 1, 'float32', o.seed) as tf.Tensor4D);
      if (!o.sampleImages) o.logger.warn('reconstruction without --data-dir samples random images; give real data for a meaningful selection');
      const r = reconstructionPrune(model, images, { ratio, seed: o.seed });
      if (!o.sampleImages) images.dispose();
      pruned = r.model;
      plan = r.plan;
      await writeJson('reconstruction.json', r.errors);
    } else {
      const r =
        method === 'slimming'
          ? slimmingPlan(model, ratio, { minChannels: o.minChannels })
          : predefinedPlan(model, o.profile ? resolveProfile(model.spec, findProfile(model.spec.name, o.profile)) : uniformRatios(model, ratio, method as Criterion), { criterion: method as Criterion, minChannels: o.minChannels, seed: o.seed });
      plan = r.plan;
      guarded = r.guardedLayers;
      pruned = compactModel(model, plan);
    }
    await saveModel(o.out, pruned);
    await writeJson('plan.json', plan);
    const summary = pruneSummary(model.spec, pruned.spec, plan, widthsBefore, guarded);
    await writeJson('summary.json', { method, granularity: 'channel', profile: o.profile ?? null, pruneRatio: ratio, ...summary });
    pruned.dispose();
    return formatPruneSummary(summary);
  } finally {
    model.dispose();
  }
}
