import { existsSync } from 'node:fs';
import { copyFile, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { canReadSync, withSyncReads } from '../backend/index.ts';
import { countSpec, measureInferencePaired, reductionPct, scratchBudgetEpochs } from '../metrics/index.ts';
import {
  compileGraph,
  decodeNamedWeights,
  encodeNamedWeights,
  loadModel,
  loadSpec,
  Model,
  modelSpec,
  saveModel,
  type ModelSpec,
  type NamedWeights,
} from '../models/index.ts';
import { ensureDir, writeFileAtomic } from '../util/fs.ts';
import {
  agpSchedule,
  budgetValue,
  compactModel,
  compactSpec,
  findProfile,
  gradualMasksAt,
  keepPlanFromChannelMasks,
  resolveProfile,
  type AgpSchedule,
  type GradualTarget,
  CRITERIA,
  criterionNeedsData,
  weightCriterionNeedsData,
  WEIGHT_CRITERIA,
  VECTOR_CRITERIA,
  type VectorCriterion,
  type WeightCriterion,
  isPruneMethod,
  predefinedPlan,
  prunableGroups,
  pruneModel,
  removeBlocks,
  slimmingGammaParams,
  uniformRatios,
  type BudgetResult,
  type CalibrationData,
  type Criterion,
  type KeepPlan,
  type ThresholdRule,
} from '../pruning/index.ts';
import { RUN_COLUMNS, UNPRUNED_PROTOCOLS, type CurvePoint, type LayerWidth, type RunRecord, type RunRow } from '../results/index.ts';
import { numBatches } from '../data/index.ts';
import { evaluate, trainModel, type MaskSchedule, type TrainConfig, type TrainResult } from '../train/index.ts';
import { ConfigError, PlanError, PrunebenchError } from '../util/errors.ts';
import { canonicalJson, sha256File } from '../util/hash.ts';
import { armScope, iterativeSchedule, widthOf, type Arm, type ExperimentConfig, type PhaseConfig } from './config.ts';
import type { Cell } from './cells.ts';
import type { DatasetInfo, RunContext, RunEnvironment } from './context.ts';
import { prunedShape } from './shape-compute.ts';
import { measureRuntimeLatency, runtimeCells, type RuntimeCosts } from './runtime-latency.ts';

/** File-system-safe name of a cell. */
export function cellDirName(id: string): string {
  return id.replace(/[^A-Za-z0-9:.#_-]+/g, '_');
}

export function cellDir(runDir: string, id: string): string {
  return join(runDir, 'cells', cellDirName(id));
}

/** Where a cell's training keeps its end-of-epoch checkpoint (removed once the cell completes). */
export function cellCheckpointDir(runDir: string, id: string): string {
  return join(cellDir(runDir, id), 'checkpoint');
}

function artifactDir(ctx: RunContext, cellId: string, name: string): string {
  return join(ctx.runDir, 'artifacts', cellDirName(cellId), name);
}

export function specFor(ctx: RunContext, model: string): ModelSpec {
  const { h, w, c } = ctx.data.shape;
  return modelSpec(model, { numClasses: ctx.dataset.numClasses, widthMultiplier: widthOf(ctx.config, model), input: { height: h, width: w, channels: c } });
}

/** Scratch runs start from a random init that differs from the baseline's. */
const scratchInitSeed = (seed: number): number => seed + 100_003;

function trainConfig(phase: PhaseConfig, seed: number, epochs = phase.epochs): TrainConfig {
  return { ...phase, epochs, seed };
}

function lambdaFor(ctx: RunContext, spec: ModelSpec): number {
  return spec.family === 'vgg' ? ctx.config.sparsityLambda.vgg : ctx.config.sparsityLambda.other;
}

function findArm(ctx: RunContext, id: string | undefined): Arm {
  const arm = ctx.config.arms.find((a) => a.id === id);
  if (!arm) throw new ConfigError(`Cell refers to arm ${id}, which ${ctx.config.experiment} does not define`, 'arms');
  return arm;
}

/** Per-layer widths of a model (convs and selections, in order), for the architecture figure. */
export function architectureOf(spec: ModelSpec): LayerWidth[] {
  const graph = compileGraph(spec);
  const widths: LayerWidth[] = [];
  for (const g of prunableGroups(graph)) widths.push({ layer: g.id, index: widths.length, channels: g.channels });
  return widths;
}

/** |gamma| of every slimming BN, read asynchronously (the webgpu backend has no synchronous read). */
async function bnGammasOf(model: Model): Promise<number[]> {
  const out: number[] = [];
  for (const n of slimmingGammaParams(model)) out.push(...Array.from(await model.param(n).data(), Math.abs));
  return out;
}

interface MaskSet {
  masks: Map<string, tf.Tensor>;
  nonZero: Map<string, number>;
}

async function saveMasks(dir: string, masks: MaskSet): Promise<void> {
  await ensureDir(dir);
  const { manifest, data } = await encodeNamedWeights(masks.masks as NamedWeights);
  await writeFileAtomic(join(dir, 'masks.bin'), data);
  await writeFileAtomic(join(dir, 'masks.json'), manifest);
}

async function loadMasks(dir: string): Promise<MaskSet | null> {
  const manifest = join(dir, 'masks.json');
  if (!existsSync(manifest)) return null;
  const masks = decodeNamedWeights(await readFile(manifest, 'utf8'), await readFile(join(dir, 'masks.bin')), manifest);
  const nonZero = new Map<string, number>();
  for (const [n, m] of masks) {
    const sum = tf.sum(m);
    nonZero.set(n, (await sum.data())[0]!);
    sum.dispose();
  }
  return { masks, nonZero };
}

function disposeMaskSet(m: MaskSet | null): void {
  for (const t of m?.masks.values() ?? []) t.dispose();
}

/**
 * The criterion's time: on the prune cell's row and on the rows of the cells that train its model
 * further (fine-tune, Scratch), like `achieved` (finishRow), so every row of an arm says both.
 */
function criterionSecondsOf(record: PruneRecord): Pick<RunRow, 'criterion_seconds'> {
  return { criterion_seconds: record.criterionSeconds !== undefined ? +record.criterionSeconds.toFixed(4) : '' };
}

/** What a prune cell leaves for the cells after it. */
interface PruneRecord {
  plan?: KeepPlan;
  guardedLayers: string[];
  top1: number;
  /** Channel (or weight) fraction actually removed. */
  actualRatio: number;
  threshold?: number;
  /** slimming: how the threshold was placed (see THRESHOLD_RULES). */
  thresholdRule?: ThresholdRule;
  removedBlocks?: string[];
  masked: boolean;
  /** With the arm's target: what the pruned model achieves, and whether within 1% (exact) or the nearest value. */
  budget?: BudgetResult;
  /** Seconds the criterion took to score the channels (channel criteria). */
  criterionSeconds?: number;
}

/**
 * The identity and provenance columns of a cell's row (everything but measurements). Shared by
 * completed runs and by the runner's rows for failed cells.
 */
export function identityRow(o: { config: ExperimentConfig; configHash: string; env: RunEnvironment; cell: Cell; startedAt: string; dataset?: DatasetInfo }): RunRow {
  const { config, cell } = o;
  const arm = config.arms.find((a) => a.id === cell.arm);
  const row = Object.fromEntries(RUN_COLUMNS.map((c) => [c, ''])) as RunRow;
  return {
    ...row,
    run_id: `${cell.id}@${o.startedAt}`,
    experiment: config.experiment,
    preset: config.preset,
    cell: cell.id,
    protocol: cell.protocol,
    model: cell.model,
    dataset: o.dataset?.name ?? config.data.dataset,
    dataset_fingerprint: o.dataset?.fingerprint ?? '',
    train_subset: config.data.trainSubset,
    test_images: o.dataset?.testCount ?? '',
    method: arm?.method ?? 'none',
    granularity: arm?.granularity ?? 'none',
    ratio_style: arm?.ratioStyle ?? 'none',
    criterion: arm?.criterion ?? 'none',
    scope: arm ? armScope(arm) : 'none',
    profile: arm?.profile ?? '',
    prune_ratio: arm ? arm.pruneRatio : 0,
    target_kind: arm?.target?.kind ?? '',
    target: arm?.target?.value ?? '',
    calibration_batches: arm ? calibrationBatchesOf(arm) : 0,
    seed: cell.seed,
    backend: o.env.backend,
    tfjs_version: o.env.tfjsVersion,
    node_version: o.env.nodeVersion,
    git_commit: o.env.gitCommit,
    git_dirty: o.env.gitDirty,
    config_hash: o.configHash,
    status: 'ok',
    started_at: o.startedAt,
  };
}

type PairedCost = NonNullable<RunRecord['cost']>;


/**
 * Counts, cost and accuracy of the final model, filled into the row; the paired cost for the
 * record, and with the config's latencyRuntimes (cells after the baselines) the same on each runtime.
 */
async function finishRow(ctx: RunContext, row: RunRow, model: Model, masks: MaskSet | null, result: { final: number; best: number; bestEpoch: number; seconds: number; imagesPerSec: number }): Promise<{ row: RunRow; cost: PairedCost; runtimes?: RuntimeCosts }> {
  const count = countSpec(model.spec, masks ? { nonZero: masks.nonZero } : {});
  const baseSpec = specFor(ctx, String(row.model));
  const base = countSpec(baseSpec);
  // Speed does not depend on the weights' values: a fresh unpruned model is the reference.
  const reference = Model.init(baseSpec, 0);
  let cost: Awaited<ReturnType<typeof measureInferencePaired>>;
  try {
    cost = await measureInferencePaired(model, reference);
  } finally {
    reference.dispose();
  }
  const paired: PairedCost = {
    latencyMsBatch1: +cost.latencyMsBatch1.toFixed(3),
    imagesPerSecBatch64: +cost.imagesPerSecBatch64.toFixed(1),
    baseLatencyMsBatch1: +cost.reference.latencyMsBatch1.toFixed(3),
    baseImagesPerSecBatch64: +cost.reference.imagesPerSecBatch64.toFixed(1),
  };
  let runtimes: RuntimeCosts | undefined;
  const listed = ctx.config.latencyRuntimes ?? [];
  if (listed.length > 0 && !UNPRUNED_PROTOCOLS.has(String(row.protocol))) {
    const t0 = performance.now();
    runtimes = await measureRuntimeLatency(model, baseSpec, listed, { backend: ctx.env.backend, cost: paired }, ctx.logger);
    ctx.logger.info(`${String(row.cell)}: latency on ${listed.join(', ')} measured in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  // Every row with a target says what its model achieves, counted as the budget search counts it
  // (prune, fine-tune and Scratch rows alike, with or without a prune record to read it from).
  const kind = String(row.target_kind);
  const achieved = (kind === 'speedup' || kind === 'compression') && !UNPRUNED_PROTOCOLS.has(String(row.protocol)) ? +budgetValue(kind, base, count).toFixed(6) : row.achieved;
  const done: RunRow = {
    ...row,
    achieved,
    ...runtimeCells(runtimes),
    params: count.params,
    params_without_bn: count.paramsWithoutBn,
    macs: count.macs,
    flops: count.flops,
    params_effective: count.paramsEffective,
    macs_effective: count.macsEffective,
    params_base: base.params,
    macs_base: base.macs,
    params_reduction_pct: +reductionPct(base.params, count.paramsEffective).toFixed(3),
    macs_reduction_pct: +reductionPct(base.macs, count.macsEffective).toFixed(3),
    top1_final: +result.final.toFixed(3),
    top1_best: +result.best.toFixed(3),
    best_epoch: result.bestEpoch,
    wall_time_s: +result.seconds.toFixed(2),
    train_images_per_sec: +result.imagesPerSec.toFixed(1),
    latency_ms_b1: +cost.latencyMsBatch1.toFixed(3),
    infer_images_per_sec_b64: +cost.imagesPerSecBatch64.toFixed(1),
    finished_at: new Date().toISOString(),
  };
  return { row: done, cost: paired, ...(runtimes ? { runtimes } : {}) };
}

/** A resumed cell's wall time counts the epochs its earlier processes trained, so it is the cell's cost, not this process's. */
function trainSummary(r: TrainResult, secondsThisProcess: number): { final: number; best: number; bestEpoch: number; seconds: number; imagesPerSec: number } {
  return { final: r.finalTestAcc, best: r.bestTestAcc, bestEpoch: r.bestEpoch, seconds: r.resumedWallSeconds + secondsThisProcess, imagesPerSec: r.trainImagesPerSec };
}

async function train(ctx: RunContext, cell: Cell, model: Model, cfg: TrainConfig, hooks: { l1Penalty?: { lambda: number; params: string[] }; masks?: MaskSet | null; maskSchedule?: MaskSchedule; label: string }): Promise<TrainResult> {
  return trainModel(model, ctx.data, cfg, {
    checkpointDir: cellCheckpointDir(ctx.runDir, cell.id),
    logger: ctx.logger,
    label: hooks.label,
    ...(ctx.progressStream !== undefined ? { progressStream: ctx.progressStream } : {}),
    ...(hooks.l1Penalty ? { l1Penalty: hooks.l1Penalty } : {}),
    ...(hooks.masks ? { masks: hooks.masks.masks } : {}),
    ...(hooks.maskSchedule ? { maskSchedule: hooks.maskSchedule } : {}),
  });
}

async function requireArtifact(dir: string, what: string, producer: string): Promise<void> {
  if (!existsSync(join(dir, 'spec.json'))) {
    throw new PrunebenchError(`${what} is missing (${dir}); cell ${producer} must finish first`);
  }
}

// ---------------------------------------------------------------------------------------------

async function runBaseline(ctx: RunContext, cell: Cell, row: RunRow): Promise<RunRecord> {
  const spec = specFor(ctx, cell.model);
  const model = Model.init(spec, cell.seed);
  try {
    const initDir = artifactDir(ctx, cell.id, 'init');
    if (!existsSync(join(initDir, 'spec.json'))) await saveModel(initDir, model);
    const penalty = cell.sparsity ? { lambda: lambdaFor(ctx, spec), params: slimmingGammaParams(model) } : undefined;
    const t0 = performance.now();
    const r = await train(ctx, cell, model, trainConfig(ctx.config.baseline, cell.seed), { label: cell.id, ...(penalty ? { l1Penalty: penalty } : {}) });
    await saveModel(artifactDir(ctx, cell.id, 'trained'), model);
    const { row: done, ...costs } = await finishRow(ctx, { ...row, epochs_configured: ctx.config.baseline.epochs, epochs_derived: ctx.config.baseline.epochs }, model, null, trainSummary(r, (performance.now() - t0) / 1000));
    return { row: done, ...costs, config: ctx.config, architecture: architectureOf(spec), curve: r.curve, bnGammas: await bnGammasOf(model) };
  } finally {
    model.dispose();
  }
}

/**
 * A baseline cell served by the model zoo (`run --baselines DIR`): nothing is trained. The
 * entry's files are checked against their sha256 (again: the plan checked them, but they could
 * have changed since), its trained model is copied where the cells after it look, its initial
 * weights are regenerated from the seed (and checked against the ones it was trained from), and
 * its result row is written again under this run's identity, with the record saying where it came from.
 */
async function runZooBaseline(ctx: RunContext, cell: Cell, row: RunRow): Promise<RunRecord> {
  const z = cell.zoo!;
  const where = `zoo entry ${z.entry} (${z.dir})`;
  for (const f of z.files) {
    const file = join(z.dir, f.path);
    let actual: string;
    try {
      actual = await sha256File(file);
    } catch {
      throw new PrunebenchError(`${where}: ${file} is missing or unreadable; run \`prunebench zoo verify --zoo ${z.zooDir}\``);
    }
    if (actual !== f.sha256) throw new PrunebenchError(`${where}: ${file} has sha256 ${actual}, the index says ${f.sha256}: the file changed since it was added`);
  }
  const spec = specFor(ctx, cell.model);
  const zooSpec = await loadSpec(join(z.dir, 'trained'));
  if (canonicalJson(zooSpec) !== canonicalJson(spec)) throw new PrunebenchError(`${where}: its model (${join(z.dir, 'trained', 'spec.json')}) is not the ${cell.model} this run trains (another width, input or class count)`);
  const record = JSON.parse(await readFile(join(z.dir, 'record.json'), 'utf8')) as RunRecord;
  const fingerprint = String(record.row.dataset_fingerprint ?? '');
  if (fingerprint && ctx.dataset.fingerprint && fingerprint !== ctx.dataset.fingerprint) {
    throw new PrunebenchError(`${where}: trained on ${record.row.dataset} with fingerprint ${fingerprint}, but this run's data has ${ctx.dataset.fingerprint}`);
  }
  const trainedDir = artifactDir(ctx, cell.id, 'trained');
  await ensureDir(trainedDir);
  for (const f of ['spec.json', 'weights.json', 'weights.bin']) await copyFile(join(z.dir, 'trained', f), join(trainedDir, f));
  const initDir = artifactDir(ctx, cell.id, 'init');
  const init = Model.init(spec, cell.seed);
  try {
    await saveModel(initDir, init);
  } finally {
    init.dispose();
  }
  if (z.initSha256 && (await sha256File(join(initDir, 'weights.bin'))) !== z.initSha256) {
    // Only lottery tickets start from the baseline's initial weights; other cells never read them.
    await rm(initDir, { recursive: true, force: true });
    const needs = ctx.config.arms.find((a) => a.model === cell.model && a.sparsity === cell.sparsity && a.protocols.includes('lottery-ticket'));
    if (needs) throw new PrunebenchError(`${where}: the initial weights regenerated for seed ${cell.seed} differ from those it was trained from (model initialisation changed since commit ${record.row.git_commit}); arm ${needs.id}'s lottery tickets need them: train this baseline here (run without --baselines)`);
    ctx.logger.warn(`${cell.id}: ${where} was trained from initial weights this code no longer generates; kept none (no lottery-ticket cell needs them)`);
  }
  const source = record.row;
  return {
    ...record,
    row: {
      ...source,
      run_id: row.run_id,
      experiment: row.experiment,
      preset: row.preset,
      cell: row.cell,
      config_hash: row.config_hash,
      started_at: row.started_at,
      finished_at: new Date().toISOString(),
    },
    config: ctx.config,
    baselineSource: {
      zoo: z.zooDir,
      entry: z.entry,
      baselineHash: z.baselineHash,
      experiment: String(source.experiment),
      cell: String(source.cell),
      runId: String(source.run_id),
      startedAt: String(source.started_at),
      finishedAt: String(source.finished_at),
    },
  };
}

/** The channel criterion an arm ranks by, when it ranks by one of CRITERIA (l1, l2, random, channel arms). */
function channelCriterionOf(arm: Arm): Criterion | undefined {
  return ['l1', 'l2', 'random', 'channel'].includes(arm.method) && (CRITERIA as readonly string[]).includes(arm.criterion) ? (arm.criterion as Criterion) : undefined;
}

/** The weight criterion of a weight-granularity (magnitude) arm: magnitude, lamp or grad-magnitude. */
function weightCriterionOf(arm: Arm): WeightCriterion | undefined {
  return arm.method === 'magnitude' && (WEIGHT_CRITERIA as readonly string[]).includes(arm.criterion) ? (arm.criterion as WeightCriterion) : undefined;
}

/** The fibre criterion of a vector arm: l1 or magnitude. */
function vectorCriterionOf(arm: Arm): VectorCriterion | undefined {
  return arm.method === 'vector' && (VECTOR_CRITERIA as readonly string[]).includes(arm.criterion) ? (arm.criterion as VectorCriterion) : undefined;
}

/** Batches of calibration data the arm's criterion reads (0 when it reads none). */
function calibrationBatchesOf(arm: Arm): number {
  const criterion = channelCriterionOf(arm);
  const weightCriterion = weightCriterionOf(arm);
  const needs = (criterion !== undefined && criterionNeedsData(criterion)) || (weightCriterion !== undefined && weightCriterionNeedsData(weightCriterion));
  return needs ? (arm.calibrationBatches ?? 8) : 0;
}

/** Images per calibration batch. */
const CALIBRATION_BATCH = 64;

/** The first n training images, unaugmented and normalised as in training (NHWC). */
function firstTrainImages(ctx: RunContext, n: number): tf.Tensor4D {
  const { h, w, c } = ctx.data.shape;
  const v = new Float32Array(n * h * w * c);
  for (let i = 0; i < v.length; i++) {
    const ch = i % c;
    v[i] = (ctx.data.train.images[i]! / 255 - ctx.data.mean[ch]!) / ctx.data.std[ch]!;
  }
  return tf.tensor4d(v, [n, h, w, c]);
}

/** The first N x 64 training images (unaugmented, normalised) and their labels. */
function calibrationData(ctx: RunContext, batches: number): CalibrationData {
  const n = Math.min(batches * CALIBRATION_BATCH, ctx.data.train.count);
  return { images: firstTrainImages(ctx, n), labels: tf.tensor1d(Int32Array.from(ctx.data.train.labels.subarray(0, n)), 'int32'), batchSize: CALIBRATION_BATCH };
}

/** Applies the arm's method to a trained model: a compacted model (structured) or masks (weights). */
function applyMethod(ctx: RunContext, arm: Arm, model: Model, ratio: number, seed: number): { model: Model; masks: MaskSet | null; record: Omit<PruneRecord, 'top1'> } {
  if (!isPruneMethod(arm.method)) throw new ConfigError(`Arm ${arm.id}: method ${arm.method} cannot prune`, 'method');
  // Reconstruction samples the activations of 64 training images.
  const sample = arm.method === 'reconstruction' ? firstTrainImages(ctx, Math.min(64, ctx.data.train.count)) : undefined;
  const criterion = channelCriterionOf(arm);
  const batches = calibrationBatchesOf(arm);
  const calibration = batches > 0 ? calibrationData(ctx, batches) : undefined;
  try {
    const r = pruneModel(model, {
      method: arm.method,
      ratio,
      minChannels: arm.minChannels,
      seed,
      ...(arm.profile ? { profile: arm.profile } : {}),
      ...(arm.thresholdRule ? { thresholdRule: arm.thresholdRule } : {}),
      ...(sample ? { sampleImages: sample } : {}),
      ...(arm.method === 'channel' && criterion ? { criterion } : {}),
      ...(weightCriterionOf(arm) ? { weightCriterion: weightCriterionOf(arm)! } : {}),
      ...(vectorCriterionOf(arm) ? { vectorCriterion: vectorCriterionOf(arm)! } : {}),
      ...(arm.scope ? { scope: arm.scope } : {}),
      ...(arm.globalNorm ? { globalNorm: arm.globalNorm } : {}),
      ...(arm.maxLayerRatio !== undefined ? { maxLayerRatio: arm.maxLayerRatio } : {}),
      ...(arm.target ? { target: arm.target } : {}),
      ...(calibration ? { calibration } : {}),
    });
    const budget = { ...(r.budget ? { budget: r.budget } : {}), ...(r.criterionSeconds !== undefined ? { criterionSeconds: r.criterionSeconds } : {}) };
    if (r.kind === 'masks') return { model: r.model, masks: { masks: r.masks, nonZero: r.nonZero }, record: { guardedLayers: [], actualRatio: r.removedFraction, masked: true, ...budget } };
    if (r.kind === 'blocks') return { model: r.model, masks: null, record: { guardedLayers: [], actualRatio: r.removedFraction, removedBlocks: r.removedBlocks, masked: false, ...budget } };
    return {
      model: r.model,
      masks: null,
      record: {
        plan: r.plan,
        guardedLayers: r.guardedLayers,
        actualRatio: r.removedFraction,
        masked: false,
        ...(r.threshold !== undefined ? { threshold: r.threshold } : {}),
        ...(r.thresholdRule !== undefined ? { thresholdRule: r.thresholdRule } : {}),
        ...budget,
      },
    };
  } finally {
    sample?.dispose();
    calibration?.images.dispose();
    calibration?.labels.dispose();
  }
}

/**
 * applyMethod where tensors can be read synchronously, which pruning needs: on a backend that
 * cannot (webgpu), on wasm, from a copy of the model made of host values (read asynchronously).
 * The result then lives on wasm until a GPU kernel first uses it (tfjs moves it).
 */
async function applyMethodReadable(ctx: RunContext, arm: Arm, model: Model, ratio: number, seed: number): Promise<ReturnType<typeof applyMethod>> {
  if (canReadSync()) return applyMethod(ctx, arm, model, ratio, seed);
  const host: [string, Float32Array | Int32Array | Uint8Array, number[]][] = [];
  for (const [n, t] of model.namedWeights()) host.push([n, (await t.data()) as Float32Array, t.shape]);
  return withSyncReads(() => {
    const weights = new Map(host.map(([n, v, shape]) => [n, tf.tensor(v, shape)] as const));
    const copy = Model.fromWeights(model.spec, weights);
    tf.dispose([...weights.values()]);
    try {
      return applyMethod(ctx, arm, copy, ratio, seed);
    } finally {
      copy.dispose();
    }
  });
}

/** A pruning that removed nothing would make every arm after it a copy of the baseline. */
function refuseEmptyPrune(ctx: RunContext, arm: Arm, removedFraction: number, modelName: string): void {
  if (removedFraction > 0 || !(arm.pruneRatio > 0 || arm.profile)) return;
  throw new PlanError(
    `Arm ${arm.id}: ${arm.method} ${arm.profile ? `profile ${arm.profile}` : `ratio ${arm.pruneRatio}`} removes nothing from ${modelName} (width x${widthOf(ctx.config, arm.model)}): every layer is too narrow for the ratio to round to a removal, or the minimum-channels guard (${arm.minChannels}) kept it whole`,
  );
}

async function runPrune(ctx: RunContext, cell: Cell, arm: Arm, row: RunRow): Promise<RunRecord> {
  const baseId = cell.dependsOn[0]!;
  const trainedDir = artifactDir(ctx, baseId, 'trained');
  await requireArtifact(trainedDir, 'The trained baseline', baseId);
  const trained = await loadModel(trainedDir);
  const t0 = performance.now();
  const pruned = await applyMethodReadable(ctx, arm, trained, arm.pruneRatio, cell.seed);
  try {
    refuseEmptyPrune(ctx, arm, pruned.record.actualRatio, trained.spec.name);
    const top1 = (await evaluate(pruned.model, ctx.data.test, ctx.data)).acc;
    const record: PruneRecord = { ...pruned.record, top1 };
    const dir = artifactDir(ctx, cell.id, 'pruned');
    await saveModel(dir, pruned.model);
    if (pruned.masks) await saveMasks(dir, pruned.masks);
    await writeFileAtomic(join(artifactDir(ctx, cell.id, ''), 'prune.json'), JSON.stringify(record));
    const { row: done, ...costs } = await finishRow(ctx, { ...row, ...criterionSecondsOf(record), epochs_configured: 0, epochs_derived: 0, top1_before_finetune: +top1.toFixed(3) }, pruned.model, pruned.masks, {
      final: top1,
      best: top1,
      bestEpoch: 0,
      seconds: (performance.now() - t0) / 1000,
      imagesPerSec: 0,
    });
    const prune: NonNullable<RunRecord['prune']> = {
      removedFraction: record.actualRatio,
      ...(record.thresholdRule !== undefined ? { thresholdRule: record.thresholdRule } : {}),
      ...(record.threshold !== undefined && Number.isFinite(record.threshold) ? { threshold: record.threshold } : {}),
      ...(record.removedBlocks ? { removedBlocks: record.removedBlocks } : {}),
      ...(record.budget ? { budget: record.budget } : {}),
    };
    return { row: done, ...costs, config: ctx.config, ...(record.plan ? { keepPlan: record.plan } : {}), architecture: architectureOf(pruned.model.spec), curve: [], guardedLayers: record.guardedLayers, prune };
  } finally {
    trained.dispose();
    pruned.model.dispose();
    disposeMaskSet(pruned.masks);
  }
}

interface PrunedArtifact {
  dir: string;
  record: PruneRecord;
  spec: ModelSpec;
}

async function prunedArtifact(ctx: RunContext, cell: Cell): Promise<PrunedArtifact> {
  const pruneId = cell.dependsOn[0]!;
  const dir = artifactDir(ctx, pruneId, 'pruned');
  await requireArtifact(dir, 'The pruned model', pruneId);
  const record = JSON.parse(await readFile(join(artifactDir(ctx, pruneId, ''), 'prune.json'), 'utf8')) as PruneRecord;
  return { dir, record, spec: await loadSpec(dir) };
}

/**
 * What a Scratch-E/B cell trains: the prune cell's architecture (and masks), or, for a cell
 * planned without one (its architecture does not depend on the weights, see cells.ts), the same
 * architecture computed here from the spec and the arm.
 */
async function scratchArchitecture(ctx: RunContext, cell: Cell, arm: Arm): Promise<{ spec: ModelSpec; macsEffective: number; artifact: PrunedArtifact | null }> {
  if (cell.dependsOn.length > 0) {
    const a = await prunedArtifact(ctx, cell);
    const masks = await loadMasks(a.dir);
    const macsEffective = countSpec(a.spec, masks ? { nonZero: masks.nonZero } : {}).macsEffective;
    disposeMaskSet(masks);
    return { spec: a.spec, macsEffective, artifact: a };
  }
  const full = specFor(ctx, cell.model);
  const shape = prunedShape(full, arm);
  refuseEmptyPrune(ctx, arm, 1 - countSpec(shape.spec).params / countSpec(full).params, full.name);
  return { spec: shape.spec, macsEffective: shape.macsEffective, artifact: null };
}

/** Fine-tune the pruned model (inherited weights) with the fine-tune phase. */
async function runFineTune(ctx: RunContext, cell: Cell, row: RunRow, a: PrunedArtifact): Promise<RunRecord> {
  const model = await loadModel(a.dir);
  const masks = await loadMasks(a.dir);
  try {
    const t0 = performance.now();
    const r = await train(ctx, cell, model, trainConfig(ctx.config.fineTune, cell.seed), { label: cell.id, masks });
    const { row: done, ...costs } = await finishRow(ctx, { ...row, ...criterionSecondsOf(a.record), epochs_configured: ctx.config.fineTune.epochs, epochs_derived: ctx.config.fineTune.epochs, top1_before_finetune: +a.record.top1.toFixed(3) }, model, masks, trainSummary(r, (performance.now() - t0) / 1000));
    return { row: done, ...costs, config: ctx.config, ...(a.record.plan ? { keepPlan: a.record.plan } : {}), architecture: architectureOf(model.spec), curve: r.curve };
  } finally {
    model.dispose();
    disposeMaskSet(masks);
  }
}

/**
 * Train a pruned architecture from scratch: random init (Scratch-E/B, uniform-scratch) or the
 * baseline's own initial weights (lottery ticket). Masks of an unstructured arm are kept.
 */
async function runFromScratch(ctx: RunContext, cell: Cell, row: RunRow, spec: ModelSpec, init: 'random' | 'original', a: PrunedArtifact | null, epochs: number): Promise<RunRecord> {
  const masks = a ? await loadMasks(a.dir) : null;
  let model: Model;
  if (init === 'random') {
    model = Model.init(spec, scratchInitSeed(cell.seed));
  } else {
    const baseId = cell.dependsOn[1]!;
    const initModel = await loadModel(artifactDir(ctx, baseId, 'init'));
    try {
      if (a?.record.plan) model = compactModel(initModel, a.record.plan);
      else if (a?.record.removedBlocks) model = removeBlocks(initModel, a.record.removedBlocks);
      else if (a?.record.masked) model = initModel.clone();
      else throw new ConfigError(`Lottery ticket needs a keep plan, removed blocks or masks from ${cell.dependsOn[0]}`, 'protocol');
    } finally {
      initModel.dispose();
    }
  }
  try {
    if (masks) model.applyMasks(masks.masks);
    const phase = ctx.config.baseline;
    const t0 = performance.now();
    const r = await train(ctx, cell, model, trainConfig(phase, cell.seed, epochs), { label: cell.id, masks });
    const { row: done, ...costs } = await finishRow(ctx, { ...row, ...(a ? criterionSecondsOf(a.record) : {}), epochs_configured: phase.epochs, epochs_derived: epochs }, model, masks, trainSummary(r, (performance.now() - t0) / 1000));
    return { row: done, ...costs, config: ctx.config, ...(a?.record.plan ? { keepPlan: a.record.plan } : {}), architecture: architectureOf(spec), curve: r.curve };
  } finally {
    model.dispose();
    disposeMaskSet(masks);
  }
}

/** A uniformly pruned spec with (about) the same parameter count as `target`, by bisection on the ratio. */
export function uniformSpecMatchingParams(full: ModelSpec, targetParams: number): { spec: ModelSpec; ratio: number } {
  const model = Model.init(full, 0);
  try {
    const specAt = (r: number): ModelSpec => compactSpec(full, predefinedPlan(model, uniformRatios(model, r, 'random'), { criterion: 'random' }).plan);
    let lo = 0;
    let hi = 0.99;
    for (let i = 0; i < 30; i++) {
      const mid = (lo + hi) / 2;
      if (countSpec(specAt(mid)).params > targetParams) lo = mid;
      else hi = mid;
    }
    // Of the two bracketing ratios, take the one whose count is closer to the target.
    const [a, b] = [specAt(lo), specAt(hi)];
    const da = Math.abs(countSpec(a).params - targetParams);
    const db = Math.abs(countSpec(b).params - targetParams);
    return da <= db ? { spec: a, ratio: lo } : { spec: b, ratio: hi };
  } finally {
    model.dispose();
  }
}

async function runIterative(ctx: RunContext, cell: Cell, arm: Arm, row: RunRow): Promise<RunRecord> {
  if (arm.profile) throw new ConfigError(`Arm ${arm.id}: iterative pruning needs a ratio, not a profile`, 'protocol');
  const { rounds, epochsPerRound } = iterativeSchedule(arm, ctx.config.fineTune.epochs);
  const baseId = cell.dependsOn[1]!;
  let model = await loadModel(artifactDir(ctx, baseId, 'trained'));
  let masks: MaskSet | null = null;
  const curve: CurvePoint[] = [];
  const t0 = performance.now();
  let last: TrainResult | null = null;
  try {
    for (let round = 1; round <= rounds; round++) {
      // Structured methods prune a fraction of what is left; weight masks target the cumulative fraction.
      const perRound = 1 - (1 - arm.pruneRatio) ** (1 / rounds);
      const cumulative = 1 - (1 - arm.pruneRatio) ** (round / rounds);
      const step = await applyMethodReadable(ctx, arm, model, arm.method === 'magnitude' || arm.method === 'vector' ? cumulative : perRound, cell.seed + round);
      model.dispose();
      disposeMaskSet(masks);
      model = step.model;
      masks = step.masks;
      const roundCell: Cell = { ...cell, id: `${cell.id}#round${round}` };
      last = await train(ctx, roundCell, model, trainConfig(ctx.config.fineTune, cell.seed, epochsPerRound), { label: `${cell.id} round ${round}/${rounds}`, masks });
      curve.push(...last.curve.map((p) => ({ ...p, epoch: curve.length + p.epoch })));
    }
    const best = curve.reduce((b, p) => (p.testAcc > b.testAcc ? p : b), curve[0]!);
    const { row: done, ...costs } = await finishRow(ctx, { ...row, epochs_configured: ctx.config.fineTune.epochs, epochs_derived: epochsPerRound * rounds }, model, masks, {
      final: last!.finalTestAcc,
      best: best.testAcc,
      bestEpoch: best.epoch,
      seconds: (performance.now() - t0) / 1000,
      imagesPerSec: last!.trainImagesPerSec,
    });
    for (let round = 1; round <= rounds; round++) await rm(cellDir(ctx.runDir, `${cell.id}#round${round}`), { recursive: true, force: true });
    return { row: done, ...costs, config: ctx.config, architecture: architectureOf(model.spec), curve };
  } finally {
    model.dispose();
    disposeMaskSet(masks);
  }
}

/** What a gradual arm prunes, from its method (see GRADUAL_METHODS): weights, fibres, or channels at the arm's uniform ratio or profile. */
export function gradualTarget(arm: Arm, model: Model, seed: number): GradualTarget {
  if (arm.method === 'magnitude') return { kind: 'weight', ratio: arm.pruneRatio };
  if (arm.method === 'vector') return { kind: 'vector', ratio: arm.pruneRatio, ...(vectorCriterionOf(arm) ? { vectorCriterion: vectorCriterionOf(arm)! } : {}) };
  if (arm.method !== 'l1' && arm.method !== 'l2' && arm.method !== 'random') throw new ConfigError(`Arm ${arm.id}: the gradual protocol cannot schedule method ${arm.method}`, 'protocols');
  const ratios = arm.profile ? resolveProfile(model.spec, findProfile(model.spec.name, arm.profile)) : uniformRatios(model, arm.pruneRatio);
  return { kind: 'channel', criterion: arm.method as Criterion, ratios, minChannels: arm.minChannels, seed };
}

/**
 * Gradual pruning (Zhu & Gupta's AGP) within the fine-tune budget: from the trained baseline,
 * the masks tighten on the cubic schedule (agpSchedule) as training goes, every pruned unit
 * staying at zero; channels are masked while training (weights, BN scale and shift zeroed) and
 * the model compacted at the end. top1_before_finetune is the baseline's accuracy (where the run
 * starts; there is no one-shot pruned model here).
 */
async function runGradual(ctx: RunContext, cell: Cell, arm: Arm, row: RunRow): Promise<RunRecord> {
  if (!canReadSync()) throw new ConfigError(`Arm ${arm.id}: gradual pruning reads weights synchronously at every mask update, which the ${tf.getBackend()} backend cannot; use cpu, wasm or onednn`, 'backend');
  const baseId = cell.dependsOn[0]!;
  const trainedDir = artifactDir(ctx, baseId, 'trained');
  await requireArtifact(trainedDir, 'The trained baseline', baseId);
  const model = await loadModel(trainedDir);
  let masks: Map<string, tf.Tensor> | null = null;
  let compacted: Model | null = null;
  try {
    const before = (await evaluate(model, ctx.data.test, ctx.data)).acc;
    const phase = ctx.config.fineTune;
    const schedule: AgpSchedule = agpSchedule({ totalSteps: phase.epochs * numBatches(ctx.data.train.count, phase.batchSize), final: arm.pruneRatio, ...arm.gradual });
    const target = gradualTarget(arm, model, cell.seed);
    const maskSchedule: MaskSchedule = {
      key: { schedule, method: arm.method, profile: arm.profile ?? null, minChannels: arm.minChannels },
      update: (step, m, current) => gradualMasksAt(m, target, schedule, step, current),
    };
    const t0 = performance.now();
    const r = await train(ctx, cell, model, trainConfig(phase, cell.seed), { label: cell.id, maskSchedule });
    masks = r.masks ?? null;
    if (!masks) {
      // No training step ran (0 epochs): prune to the target at once.
      masks = gradualMasksAt(model, target, schedule, schedule.endStep, null)!;
      model.applyMasks(masks);
    }
    const summary = trainSummary(r, (performance.now() - t0) / 1000);
    const base = { ...row, epochs_configured: phase.epochs, epochs_derived: phase.epochs, top1_before_finetune: +before.toFixed(3) };
    const config = { ...(ctx.config as object), gradualSchedule: schedule };
    if (target.kind === 'channel') {
      const plan = keepPlanFromChannelMasks(model, masks);
      compacted = compactModel(model, plan);
      // The delivered model is the compacted one: its accuracy is the result (equal to the masked model's up to float summation order).
      const final = (await evaluate(compacted, ctx.data.test, ctx.data)).acc;
      const kept = Object.values(plan.groups).reduce((n, k) => n + k.length, 0);
      const total = prunableGroups(model.graph).reduce((n, g) => n + g.channels, 0);
      const { row: done, ...costs } = await finishRow(ctx, base, compacted, null, { ...summary, final });
      return { row: done, ...costs, config, keepPlan: plan, architecture: architectureOf(compacted.spec), curve: r.curve, prune: { removedFraction: 1 - kept / total } };
    }
    const set: MaskSet = { masks, nonZero: new Map() };
    let kept = 0;
    let total = 0;
    for (const [n, m] of masks) {
      const v = (await m.data()) as Float32Array;
      const nz = v.reduce((a, b) => a + b, 0);
      set.nonZero.set(n, nz);
      // The method's units: weights, or kernel fibres of Cin weights each (axis 2 of [kh, kw, Cin, Cout]).
      const unit = target.kind === 'vector' ? m.shape[2]! : 1;
      kept += nz / unit;
      total += v.length / unit;
    }
    const { row: done, ...costs } = await finishRow(ctx, base, model, set, summary);
    return { row: done, ...costs, config, architecture: architectureOf(model.spec), curve: r.curve, prune: { removedFraction: 1 - kept / total } };
  } finally {
    model.dispose();
    compacted?.dispose();
    if (masks) tf.dispose([...masks.values()]);
  }
}

/** Runs one cell and returns its record (a failed cell throws; the runner records the failure). */
export async function runCell(ctx: RunContext, cell: Cell): Promise<RunRecord> {
  const startedAt = new Date().toISOString();
  const arm = cell.arm ? findArm(ctx, cell.arm) : undefined;
  const row = identityRow({ config: ctx.config, configHash: ctx.configHash, env: ctx.env, cell, startedAt, dataset: ctx.dataset });
  await ensureDir(cellDir(ctx.runDir, cell.id));
  let record: RunRecord;
  switch (cell.protocol) {
    case 'baseline':
    case 'sparsity-train':
      record = cell.zoo ? await runZooBaseline(ctx, cell, row) : await runBaseline(ctx, cell, row);
      break;
    case 'prune':
      record = await runPrune(ctx, cell, arm!, row);
      break;
    case 'fine-tune':
      record = await runFineTune(ctx, cell, row, await prunedArtifact(ctx, cell));
      break;
    case 'scratch-E':
    case 'scratch-B': {
      const s = await scratchArchitecture(ctx, cell, arm!);
      const E = ctx.config.baseline.epochs;
      const epochs = cell.protocol === 'scratch-E' ? E : scratchBudgetEpochs(E, countSpec(specFor(ctx, cell.model)).macs, s.macsEffective);
      record = await runFromScratch(ctx, cell, row, s.spec, 'random', s.artifact, epochs);
      break;
    }
    case 'lottery-ticket': {
      const a = await prunedArtifact(ctx, cell);
      record = await runFromScratch(ctx, cell, row, a.spec, 'original', a, ctx.config.baseline.epochs);
      break;
    }
    case 'uniform-scratch': {
      const a = await prunedArtifact(ctx, cell);
      const { spec, ratio } = uniformSpecMatchingParams(specFor(ctx, cell.model), countSpec(a.spec).params);
      // prune_ratio stays the arm's (the row is that cell's uniform counterpart); the uniform
      // ratio found is kept in the record's config.
      record = await runFromScratch(ctx, cell, { ...row, method: 'random', ratio_style: 'predefined', criterion: 'none' }, spec, 'random', null, ctx.config.baseline.epochs);
      record.config = { ...(ctx.config as object), uniformRatio: +ratio.toFixed(4) };
      break;
    }
    case 'iterative':
      record = await runIterative(ctx, cell, arm!, row);
      break;
    case 'gradual':
      record = await runGradual(ctx, cell, arm!, row);
      break;
  }
  // Checkpoints are only needed until the cell's result is safely recorded.
  await rm(cellCheckpointDir(ctx.runDir, cell.id), { recursive: true, force: true });
  return record;
}
