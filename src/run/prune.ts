import { writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { canReadSync, withSyncReads } from '../backend/index.ts';
import { countSpec, reductionPct } from '../metrics/index.ts';
import { loadModel, Model, modelSpec, saveModel, encodeNamedWeights } from '../models/index.ts';
import { batches, loadDataset } from '../data/index.ts';
import {
  assertPruned,
  CRITERIA,
  checkMethodApplies,
  criterionNeedsData,
  weightCriterionNeedsData,
  WEIGHT_CRITERIA,
  type WeightCriterion,
  VECTOR_CRITERIA,
  type VectorCriterion,
  validateBudgetTarget,
  validateGlobalNorm,
  validateMaxLayerRatio,
  validateScope,
  type BudgetTarget,
  type CalibrationData,
  type Criterion,
  type GlobalNorm,
  type Scope,
  formatPruneSummary,
  GRANULARITY_OF,
  isPruneMethod,
  PRUNE_METHODS,
  pruneModel,
  pruneSummary,
  validatePruneRatio,
  validateThresholdRule,
  DEFAULT_GLOBAL_NORM,
  type PruneOutcome,
} from '../pruning/index.ts';
import { GRANULARITIES } from '../results/index.ts';
import { ConfigError, fsErrorReason } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import { Rng } from '../util/rng.ts';
import { ensureDir } from '../util/fs.ts';


/** Images per calibration batch (`--calibration-batches N` reads N of them from the training split). */
export const CALIBRATION_BATCH_SIZE = 64;


export interface PruneToFolderOptions {
  model: string;
  weights?: string;
  /** A method from PRUNE_METHODS; may be left out when `criterion` picks it (see resolveMethod). */
  method?: string;
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
  /** A channel criterion (CRITERIA) or, with granularity weight, a weight criterion (WEIGHT_CRITERIA). */
  criterion?: string;
  scope?: string;
  globalNorm?: string;
  maxLayerRatio?: number;
  targetSpeedup?: number;
  targetCompression?: number;
  /** Calibration data for criteria that need it: the data set's folder and how many batches of CALIBRATION_BATCH_SIZE. */
  dataDir?: string;
  dataset?: string;
  calibrationBatches?: number;
  /** Replace a model already in `out` (never the input model itself). */
  force?: boolean;
  logger: Logger;
}

/**
 * How --method and --criterion combine: `--method l1|l2|random` is that channel criterion,
 * layerwise unless --scope says otherwise, and --criterion may only repeat it; `--method
 * channel` needs --criterion; `--criterion C` alone picks the method: the method of that name
 * for l1, l2 and random (the rows stay comparable with older ones), `channel` for any other
 * channel criterion, with --granularity weight the weight method (magnitude), and with
 * --granularity vector the fibre criterion of the vector method. Any other pairing is refused.
 */
export function resolveMethod(o: { method?: string; criterion?: string; granularity?: string }): { method: string; criterion?: Criterion; weightCriterion?: WeightCriterion; vectorCriterion?: VectorCriterion } {
  const valid = `channel criteria ${CRITERIA.join(', ')}; with --granularity weight: ${WEIGHT_CRITERIA.join(', ')}; with --granularity vector: ${VECTOR_CRITERIA.join(', ')}`;
  if (o.criterion === undefined) {
    if (o.method === undefined) throw new ConfigError(`Give --method (${PRUNE_METHODS.join(', ')}) or --criterion (${valid})`, 'method');
    return { method: o.method };
  }
  if (o.granularity === 'vector' || o.method === 'vector') {
    if (!(VECTOR_CRITERIA as readonly string[]).includes(o.criterion)) throw new ConfigError(`--criterion ${o.criterion} cannot score kernel fibres; with --granularity vector expected one of ${VECTOR_CRITERIA.join(', ')}`, 'criterion');
    if (o.method !== undefined && o.method !== 'vector') throw new ConfigError(`--granularity vector prunes kernel fibres; --method ${o.method} contradicts it (use --method vector or leave --method out)`, 'method');
    return { method: 'vector', vectorCriterion: o.criterion as VectorCriterion };
  }
  const isChannel = (CRITERIA as readonly string[]).includes(o.criterion);
  const isWeight = (WEIGHT_CRITERIA as readonly string[]).includes(o.criterion);
  if (!isChannel && !isWeight) throw new ConfigError(`Unknown --criterion "${o.criterion}"; expected one of the ${valid}`, 'criterion');
  if (isWeight) {
    if (o.granularity !== 'weight') throw new ConfigError(`--criterion ${o.criterion} scores single weights; add --granularity weight`, 'criterion');
    if (o.method !== undefined && o.method !== 'magnitude') throw new ConfigError(`--criterion ${o.criterion} is a weight criterion; --method ${o.method} contradicts it (use --method magnitude or leave --method out)`, 'criterion');
    return { method: 'magnitude', weightCriterion: o.criterion as WeightCriterion };
  }
  if (o.granularity !== undefined && o.granularity !== 'channel') throw new ConfigError(`--criterion ${o.criterion} ranks channels, not ${o.granularity} granularity`, 'granularity');
  const criterion = o.criterion as Criterion;
  if (o.method === undefined) return { method: ['l1', 'l2', 'random'].includes(criterion) ? criterion : 'channel', criterion };
  if (o.method === 'channel' || o.method === criterion) return { method: o.method, criterion };
  throw new ConfigError(`--method ${o.method} contradicts --criterion ${o.criterion}${['l1', 'l2', 'random'].includes(o.method) ? ` (it is the ${o.method} criterion)` : ''}; give one, or --method channel --criterion ${o.criterion}`, 'criterion');
}

/** The target from --target-speedup / --target-compression (at most one), checked. */
export function resolveTarget(o: { targetSpeedup?: number; targetCompression?: number; pruneRatio?: number; profile?: string }): BudgetTarget | undefined {
  if (o.targetSpeedup !== undefined && o.targetCompression !== undefined) throw new ConfigError('Give one of --target-speedup and --target-compression, not both', 'target-speedup');
  const target: BudgetTarget | undefined =
    o.targetSpeedup !== undefined ? { kind: 'speedup', value: o.targetSpeedup } : o.targetCompression !== undefined ? { kind: 'compression', value: o.targetCompression } : undefined;
  if (!target) return undefined;
  validateBudgetTarget(target, `target-${target.kind}`);
  if (o.pruneRatio !== undefined) throw new ConfigError(`--target-${target.kind} and --prune-ratio are exclusive: the target sets the ratio`, 'prune-ratio');
  if (o.profile !== undefined) throw new ConfigError(`--target-${target.kind} and --profile are exclusive: the target sets the ratios`, 'profile');
  return target;
}

/** N batches of training images (unaugmented, normalised, a seeded draw) for a data-needing criterion. The caller disposes them. */
async function loadCalibration(o: { dataset: string; dataDir: string; batches: number; seed: number; logger: Logger }): Promise<CalibrationData> {
  const ds = await loadDataset({ name: o.dataset, dataDir: o.dataDir, logger: o.logger, download: false });
  const count = Math.min(ds.train.count, o.batches * CALIBRATION_BATCH_SIZE);
  const first = batches(ds.train, { h: ds.height, w: ds.width, c: ds.channels }, { batchSize: count, shuffle: true, augment: false, rng: new Rng(o.seed), mean: ds.mean, std: ds.std }).next();
  if (first.done) throw new ConfigError(`--data-dir ${o.dataDir}: the training split is empty`, 'data-dir');
  return { images: first.value.x, labels: first.value.y, batchSize: CALIBRATION_BATCH_SIZE };
}

/**
 * The pruned model never replaces its input (`--out` is `--weights` or a folder inside it: refused
 * even with --force), nor, without --force, a model already saved in `--out`.
 */
function checkOutFolder(o: Pick<PruneToFolderOptions, 'out' | 'weights' | 'force'>): void {
  const out = resolve(o.out);
  if (o.weights !== undefined) {
    const weights = resolve(o.weights);
    if (out === weights || out.startsWith(weights + sep)) {
      throw new ConfigError(`--out ${o.out} is the --weights folder or inside it: writing there would replace the model it prunes; choose another folder`, 'out');
    }
  }
  if (!o.force && existsSync(join(out, 'spec.json'))) {
    throw new ConfigError(`--out ${o.out} already holds a model (spec.json); choose another folder, or give --force to replace it`, 'out');
  }
}

/** Create the output folder before any work, so a bad --out fails at once and names the flag. */
async function makeOutDir(out: string): Promise<void> {
  try {
    await ensureDir(out);
  } catch (e) {
    throw new ConfigError(`--out ${out}: cannot create the folder (${fsErrorReason(e)})`, 'out');
  }
}

/**
 * `prunebench prune`: prune one model (saved, or freshly initialised) and write the result, its
 * spec, plan or masks and per-layer summary to `out`; returns the summary as text.
 */
export async function pruneToFolder(o: PruneToFolderOptions): Promise<string> {
  const resolved = resolveMethod({ ...(o.method !== undefined ? { method: o.method } : {}), ...(o.criterion !== undefined ? { criterion: o.criterion } : {}), ...(o.granularity !== undefined ? { granularity: o.granularity } : {}) });
  if (!isPruneMethod(resolved.method)) {
    throw new ConfigError(`Unknown --method "${resolved.method}"; expected one of ${PRUNE_METHODS.join(', ')}`, 'method');
  }
  const method = resolved.method;
  const criterion = resolved.criterion;
  const weightCriterion = resolved.weightCriterion;
  const vectorCriterion = resolved.vectorCriterion;
  if (o.granularity !== undefined) {
    if (!(GRANULARITIES as readonly string[]).includes(o.granularity) || o.granularity === 'none') {
      throw new ConfigError(`Unknown --granularity "${o.granularity}"; expected channel, layer, vector or weight`, 'granularity');
    }
    if (o.granularity !== GRANULARITY_OF[method]) {
      throw new ConfigError(`--method ${method} prunes at ${GRANULARITY_OF[method]} granularity, not ${o.granularity}`, 'granularity');
    }
  }
  if (o.profile !== undefined && !['l1', 'l2', 'random', 'channel'].includes(method)) {
    throw new ConfigError(`--profile applies to the filter-norm methods (l1, l2, random), not ${method}`, 'profile');
  }
  const scope: Scope | undefined = o.scope === undefined ? undefined : validateScope(o.scope, 'scope');
  const globalNorm: GlobalNorm | undefined = o.globalNorm === undefined ? undefined : validateGlobalNorm(o.globalNorm, 'global-norm');
  const maxLayerRatio = o.maxLayerRatio === undefined ? undefined : validateMaxLayerRatio(o.maxLayerRatio, 'max-layer-ratio');
  if (o.profile !== undefined && o.pruneRatio !== undefined) {
    throw new ConfigError(`--profile ${o.profile} sets every layer's ratio; --prune-ratio ${o.pruneRatio} contradicts it: give one of them`, 'prune-ratio');
  }
  const target = resolveTarget(o);
  const needsData = (criterion !== undefined && criterionNeedsData(criterion)) || (weightCriterion !== undefined && weightCriterionNeedsData(weightCriterion));
  if (needsData && o.dataDir === undefined) throw new ConfigError(`--criterion ${criterion ?? weightCriterion} scores ${criterion ? 'channels' : 'weights'} from data: give --data-dir (and optionally --calibration-batches N)`, 'data-dir');
  if (o.calibrationBatches !== undefined && !needsData) throw new ConfigError(`--calibration-batches applies to criteria that read data; ${criterion ?? weightCriterion ?? method} does not`, 'calibration-batches');
  const calibrationBatches = needsData ? (o.calibrationBatches ?? 8) : 0;
  const thresholdRule = o.thresholdRule === undefined ? undefined : validateThresholdRule(o.thresholdRule);
  if (thresholdRule !== undefined && method !== 'slimming') throw new ConfigError(`--threshold-rule applies to --method slimming, not ${method}`, 'threshold-rule');
  if (!Number.isInteger(o.minChannels) || o.minChannels < 1) throw new ConfigError(`--min-channels expects a positive integer, got ${o.minChannels}`, 'min-channels');
  if (o.profile === undefined && o.pruneRatio === undefined && !target) throw new ConfigError('Give --prune-ratio (fraction removed, in [0, 1)), --profile, --target-speedup or --target-compression', 'prune-ratio');
  const ratio = o.pruneRatio === undefined ? 0 : validatePruneRatio(o.pruneRatio);
  if (o.pruneRatio === 0) throw new ConfigError('--prune-ratio 0 removes nothing: give a fraction in (0, 1), a --profile, or a --target-speedup / --target-compression', 'prune-ratio');
  // Network Slimming's threshold only means something on gammas that sparsity training spread out.
  if (method === 'slimming' && !o.weights) {
    throw new ConfigError('--method slimming ranks the BN scale factors that sparsity training learned; a freshly initialised model has every |gamma| = 0.5, so its global threshold would cut layers arbitrarily: give --weights (a sparsity-trained model, e.g. the trained model of a run\'s sparsity-train cell)', 'weights');
  }
  checkOutFolder(o);
  // An architecture the method cannot act on is refused before any file is read or written.
  const named = modelSpec(o.model, { numClasses: o.numClasses, widthMultiplier: o.widthMultiplier });
  if (!o.weights) checkMethodApplies(named, method);
  // Pruning reads tensors synchronously (scores, plans, reconstruction). A backend that cannot
  // (webgpu) prunes on wasm, as run's prune cells do: the model is loaded (or initialised) there,
  // its input sample read back first, and the pruned model is written from there.
  const direct = canReadSync();
  if (!direct) o.logger.info(`prune: the ${tf.getBackend()} backend has no synchronous read; pruning on wasm, as run's prune cells do`);
  const hostSample = !direct && o.sampleImages ? { values: await o.sampleImages.data(), shape: o.sampleImages.shape } : undefined;
  return withSyncReads(async () => {
    const given = hostSample ? (tf.tensor(hostSample.values, hostSample.shape) as tf.Tensor4D) : o.sampleImages;
    const model = o.weights ? await loadModel(o.weights) : Model.init(named, o.seed);
    let outcome: PruneOutcome | undefined;
    let images: tf.Tensor4D | undefined;
    let calibration: CalibrationData | undefined;
    try {
      if (o.weights && model.spec.name !== o.model) {
        throw new ConfigError(`--weights ${o.weights} holds a ${model.spec.name}, but --model says ${o.model}: give the --model of the saved model`, 'model');
      }
      if (!o.weights) o.logger.info(`no --weights: pruning a freshly initialised ${o.model} (enough to inspect an architecture)`);
      checkMethodApplies(model.spec, method);
      await makeOutDir(o.out);
      let sampleData: CalibrationData | undefined;
      if (method === 'reconstruction' && !o.sampleImages) {
        if (o.dataDir !== undefined) {
          // As the prune cells do: 64 training images whose activations the greedy selection samples.
          sampleData = await loadCalibration({ dataset: o.dataset ?? 'cifar10', dataDir: o.dataDir, batches: 1, seed: o.seed, logger: o.logger });
          images = sampleData.images;
          sampleData.labels.dispose();
        } else {
          o.logger.warn('reconstruction without --data-dir samples random images; give real data (--data-dir) for a meaningful selection');
          images = tf.randomNormal([32, model.spec.input.height, model.spec.input.width, model.spec.input.channels], 0, 1, 'float32', o.seed) as tf.Tensor4D;
        }
      }
      const sampleImages = given ?? images;
      if (needsData) calibration = await loadCalibration({ dataset: o.dataset ?? 'cifar10', dataDir: o.dataDir!, batches: calibrationBatches, seed: o.seed, logger: o.logger });
      outcome = pruneModel(model, {
        method,
        ratio,
        minChannels: o.minChannels,
        seed: o.seed,
        ...(o.profile !== undefined ? { profile: o.profile } : {}),
        ...(thresholdRule !== undefined ? { thresholdRule } : {}),
        ...(sampleImages ? { sampleImages } : {}),
        ...(criterion !== undefined ? { criterion } : {}),
        ...(weightCriterion !== undefined ? { weightCriterion } : {}),
        ...(vectorCriterion !== undefined ? { vectorCriterion } : {}),
        ...(scope !== undefined ? { scope } : {}),
        ...(globalNorm !== undefined ? { globalNorm } : {}),
        ...(maxLayerRatio !== undefined ? { maxLayerRatio } : {}),
        ...(target ? { target } : {}),
        ...(calibration ? { calibration } : {}),
      });
      if (!target) assertPruned(outcome, { model: model.spec.name, method, ratio, ...(o.profile !== undefined ? { profile: o.profile } : {}) });
      const budget = budgetMeta(outcome, { globalNorm, maxLayerRatio, calibrationBatches });
      // With a target the ratio was searched: summary.json gives the fraction it removed.
      return await writeOutcome(o.out, model, outcome, { method, ratio: target ? outcome.removedFraction : ratio, profile: o.profile ?? null, budget });
    } finally {
      images?.dispose();
      if (given !== o.sampleImages) given?.dispose();
      calibration?.images.dispose();
      calibration?.labels.dispose();
      if (outcome) {
        outcome.model.dispose();
        if (outcome.kind === 'masks') for (const t of outcome.masks.values()) t.dispose();
      }
      model.dispose();
    }
  });
}

/** Writes the pruned model, its plan or masks and summary.json to `out`; returns the text to print. */
async function writeOutcome(out: string, model: Model, r: PruneOutcome, meta: { method: string; ratio: number; profile: string | null; budget: BudgetMeta }): Promise<string> {
  const writeJson = (name: string, v: unknown): Promise<void> => writeFile(join(out, name), `${JSON.stringify(v, null, 1)}\n`);
  const text = await writeOutcomeFiles(out, model, r, meta, (name, v) => writeJson(name, name === 'summary.json' ? { ...(v as object), ...meta.budget } : v));
  return [text, ...budgetLines(meta.budget)].join('\n');
}

/**
 * What summary.json and the printed summary say about the ranking and the budget: criterion,
 * scope and its options, the target and what the pruned model achieves (recounted from it).
 */
export interface BudgetMeta {
  criterion?: string;
  scope?: string;
  globalNorm?: string;
  maxLayerRatio?: number;
  criterionSeconds?: number;
  calibrationBatches: number;
  target?: { kind: string; value: number };
  achieved?: number;
  /** exact: within 1% of the target; nearest: the closest value whole channels / blocks allow. */
  budgetStatus?: string;
}

function budgetMeta(r: PruneOutcome, o: { globalNorm: GlobalNorm | undefined; maxLayerRatio: number | undefined; calibrationBatches: number }): BudgetMeta {
  const global = r.scope === 'global' && r.kind === 'channels' && r.thresholdRule === undefined;
  return {
    ...(r.criterion !== undefined ? { criterion: r.criterion } : {}),
    ...(r.weightCriterion !== undefined ? { criterion: r.weightCriterion } : {}),
    ...(r.vectorCriterion !== undefined ? { criterion: r.vectorCriterion } : {}),
    ...(r.scope !== undefined ? { scope: r.scope } : {}),
    ...(global ? { globalNorm: o.globalNorm ?? DEFAULT_GLOBAL_NORM } : {}),
    ...(o.maxLayerRatio !== undefined ? { maxLayerRatio: o.maxLayerRatio } : {}),
    ...(r.criterionSeconds !== undefined ? { criterionSeconds: r.criterionSeconds } : {}),
    calibrationBatches: o.calibrationBatches,
    ...(r.budget ? { target: { kind: r.budget.kind, value: r.budget.target }, achieved: r.budget.achieved, budgetStatus: r.budget.status } : {}),
  };
}

function budgetLines(b: BudgetMeta): string[] {
  const lines: string[] = [];
  if (b.criterion !== undefined || b.scope !== undefined) {
    const opts = [b.globalNorm !== undefined ? `--global-norm ${b.globalNorm}` : '', b.maxLayerRatio !== undefined ? `--max-layer-ratio ${b.maxLayerRatio}` : ''].filter(Boolean).join(', ');
    const timing = b.criterionSeconds !== undefined ? `, scored in ${b.criterionSeconds.toFixed(3)} s` : '';
    lines.push(`criterion ${b.criterion ?? '-'}, scope ${b.scope ?? '-'}${opts ? ` (${opts})` : ''}${timing}${b.calibrationBatches > 0 ? `, ${b.calibrationBatches} calibration batches` : ''}`);
  }
  if (b.target) {
    const what = b.target.kind === 'speedup' ? 'MACs' : 'parameters';
    const why = b.budgetStatus === 'exact' ? 'exact: within 1%' : 'nearest: the closest value whole units allow';
    lines.push(`target ${b.target.kind} ${b.target.value} (${what} base / pruned): achieved ${b.achieved!.toFixed(4)} (${why})`);
  }
  return lines;
}

async function writeOutcomeFiles(out: string, model: Model, r: PruneOutcome, meta: { method: string; ratio: number; profile: string | null }, writeJson: (name: string, v: unknown) => Promise<void>): Promise<string> {
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
