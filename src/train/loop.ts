import * as tf from '@tensorflow/tfjs-core';
// Training needs the gradient functions; tfjs-core alone does not register them.
import '../backend/gradients.ts';
import { batches, numBatches, type ImageShape, type ImageSplit } from '../data/index.ts';
import type { Model } from '../models/index.ts';
import type { CurvePoint } from '../results/columns.ts';
import { ConfigError } from '../util/errors.ts';
import { configHash } from '../util/hash.ts';
import { stderrLogger, type Logger } from '../util/log.ts';
import { createProgress, formatDuration } from '../util/progress.ts';
import { Rng } from '../util/rng.ts';
import { loadCheckpoint, saveCheckpoint, secondsLeft, typicalEpochSeconds } from './checkpoint.ts';
import { learningRate, type LrSchedule } from './schedule.ts';
import { Sgd } from './sgd.ts';

/** Batches between two yields to the event loop during training (see the loop). */
const YIELD_EVERY_STEPS = 8;

export interface TrainConfig {
  epochs: number;
  batchSize: number;
  lr: number;
  schedule: LrSchedule;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  /** Seeds shuffling and augmentation (model init is seeded by whoever builds the model). */
  seed: number;
  augment: boolean;
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  epochs: 160,
  batchSize: 64,
  lr: 0.1,
  schedule: { kind: 'step' },
  momentum: 0.9,
  nesterov: false,
  weightDecay: 1e-4,
  seed: 0,
  augment: true,
};

export interface TrainData {
  train: ImageSplit;
  test: ImageSplit;
  shape: ImageShape;
  mean: number[];
  std: number[];
}

export interface TrainHooks {
  /** Network Slimming: adds lambda*sign(p) to the gradient of each named parameter (BN gammas). */
  l1Penalty?: { lambda: number; params: string[] };
  /** Fixed 0/1 masks by weight name, re-applied after every step (unstructured pruning). */
  masks?: Map<string, tf.Tensor>;
  /** Masks that change during training (gradual pruning); not with `masks`. */
  maskSchedule?: MaskSchedule;
  /** End-of-epoch checkpoints in this folder; an existing one is resumed. */
  checkpointDir?: string;
  onEpoch?: (point: CurvePoint) => void | Promise<void>;
  logger?: Logger;
  /** Label of the progress bar (default 'train'). */
  label?: string;
  /** Progress output stream (default stderr); null for none. */
  progressStream?: (NodeJS.WritableStream & { isTTY?: boolean }) | null;
}

/**
 * Masks that change as training goes (gradual pruning). `update` is called before every step
 * with the step's 0-based index over the whole run (epoch x steps per epoch + batch) and the
 * masks in force (null before the first); masks it returns replace them from that step on and
 * are applied at once. The loop owns the masks `update` returns, keeps them in its checkpoints (a
 * resumed run goes on with them) and hands the last ones to the caller in TrainResult.masks.
 */
export interface MaskSchedule {
  /** Enters the checkpoint's config hash: resuming under another schedule is refused. */
  key: unknown;
  update(step: number, model: Model, current: Map<string, tf.Tensor> | null): Map<string, tf.Tensor> | null;
}

export interface TrainResult {
  curve: CurvePoint[];
  finalTestAcc: number;
  bestTestAcc: number;
  bestEpoch: number;
  trainImagesPerSec: number;
  trainSeconds: number;
  resumedFromEpoch: number;
  /** Wall seconds of the epochs trained before this call resumed them, from the checkpoint (0 when it started fresh). */
  resumedWallSeconds: number;
  /** With a mask schedule: the masks in force at the end (the caller disposes them); absent if no update ran. */
  masks?: Map<string, tf.Tensor>;
}

export function validateTrainConfig(cfg: TrainConfig): void {
  const positiveInt = (v: number, key: string, allowZero = false): void => {
    if (!Number.isInteger(v) || v < (allowZero ? 0 : 1)) throw new ConfigError(`Expected ${key} to be a ${allowZero ? 'non-negative' : 'positive'} integer, but got ${v}`, key);
  };
  positiveInt(cfg.epochs, 'epochs', true);
  positiveInt(cfg.batchSize, 'batchSize');
  for (const [k, v] of [['lr', cfg.lr], ['momentum', cfg.momentum], ['weightDecay', cfg.weightDecay]] as const) {
    if (!(Number.isFinite(v) && v >= 0)) throw new ConfigError(`Expected ${k} to be a non-negative number, but got ${v}`, k);
  }
}

/** Mean softmax cross-entropy of logits against integer labels. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const oneHot = tf.oneHot(labels, logits.shape[1]);
    return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
  });
}

function correctCountTensor(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32')));
}

/** Reads a scalar and disposes it. Asynchronous: a GPU backend (webgpu) has no synchronous read. */
async function readScalar(t: tf.Tensor): Promise<number> {
  const v = (await t.data())[0]!;
  t.dispose();
  return v;
}

/**
 * Test loss and accuracy (%) in inference mode. Reads asynchronously: a GPU backend (webgpu) has
 * no synchronous read in Node; on wasm and onednn the await costs a resolved promise.
 */
export async function evaluate(model: Model, split: ImageSplit, data: Pick<TrainData, 'shape' | 'mean' | 'std'>, batchSize = 250): Promise<{ loss: number; acc: number }> {
  let loss = 0;
  let correct = 0;
  for (const b of batches(split, data.shape, { batchSize, shuffle: false, augment: false, mean: data.mean, std: data.std })) {
    const logits = model.forward(b.x, false).logits;
    loss += (await readScalar(crossEntropy(logits, b.y))) * b.size;
    correct += await readScalar(correctCountTensor(logits, b.y));
    logits.dispose();
    b.x.dispose();
    b.y.dispose();
  }
  return { loss: loss / Math.max(1, split.count), acc: (100 * correct) / Math.max(1, split.count) };
}

/** Map from tf.Variable names to the model's parameter names. */
export function variableNames(model: Model): Map<string, string> {
  const m = new Map<string, string>();
  for (const [name, v] of model.params) m.set(v.name, name);
  return m;
}

/**
 * One SGD step on a batch: forward in training mode, gradients, the optional L1 term on the
 * named parameters, the update, and BN running statistics. Returns the loss and correct count,
 * read asynchronously: WebGPU has no synchronous read in Node; on wasm and onednn the await
 * costs a resolved promise.
 */
export async function trainStep(
  model: Model,
  sgd: Sgd,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  lr: number,
  hooks: Pick<TrainHooks, 'l1Penalty'>,
  varToParam = variableNames(model),
): Promise<{ loss: number; correct: number }> {
  let logits: tf.Tensor2D | null = null;
  let stats: ReturnType<Model['forward']>['bnStats'] = [];
  const { value, grads } = tf.variableGrads(() => {
    const out = model.forward(x, true);
    logits = tf.keep(out.logits);
    stats = out.bnStats;
    return crossEntropy(out.logits, y);
  }, model.trainableVariables);
  const named = new Map<string, tf.Tensor>();
  for (const [vName, g] of Object.entries(grads)) named.set(varToParam.get(vName)!, g);
  const penalty = hooks.l1Penalty;
  if (penalty && penalty.lambda !== 0) {
    for (const n of penalty.params) {
      const g = named.get(n)!;
      named.set(n, tf.tidy(() => tf.add(g, tf.mul(tf.sign(model.param(n)), penalty.lambda))));
      g.dispose();
    }
  }
  sgd.step(model.params, named, lr);
  model.updateRunningStats(stats);
  const correct = correctCountTensor(logits!, y);
  for (const t of [logits!, ...named.values()]) t.dispose();
  return { loss: await readScalar(value), correct: await readScalar(correct) };
}

/**
 * The one training loop every protocol uses. Returns the curve; the final test accuracy is the
 * result, the best epoch's is reported separately (it is a selection on the test set).
 */
export async function trainModel(model: Model, data: TrainData, cfg: TrainConfig, hooks: TrainHooks = {}): Promise<TrainResult> {
  validateTrainConfig(cfg);
  const logger = hooks.logger ?? stderrLogger;
  const sgd = new Sgd({ momentum: cfg.momentum, nesterov: cfg.nesterov, weightDecay: cfg.weightDecay });
  const varToParam = variableNames(model);
  const penalty = hooks.l1Penalty;
  for (const n of penalty?.params ?? []) model.param(n);
  for (const n of hooks.masks?.keys() ?? []) model.param(n);
  if (hooks.masks && hooks.maskSchedule) throw new ConfigError('Training takes fixed masks or a mask schedule, not both', 'masks');
  // The schedule's key enters only when there is one, so the hashes of existing checkpoints stay.
  const hash = configHash({ cfg, spec: model.spec, penalty: penalty ?? null, masks: [...(hooks.masks?.keys() ?? [])], ...(hooks.maskSchedule ? { maskSchedule: hooks.maskSchedule.key } : {}) });
  let scheduled: Map<string, tf.Tensor> | null = null;

  let runRng = new Rng(cfg.seed ^ 0x5eed);
  let curve: CurvePoint[] = [];
  let startEpoch = 0;
  let imagesSeen = 0;
  let trainSeconds = 0;
  let wallSeconds = 0;
  let epochWallSeconds: number[] = [];
  if (hooks.checkpointDir) {
    const state = await loadCheckpoint(hooks.checkpointDir, model, sgd);
    if (state) {
      if (state.configHash !== hash) {
        throw new ConfigError(`Checkpoint in ${hooks.checkpointDir} was made with another training config or model; delete it to start over`, 'checkpointDir');
      }
      startEpoch = state.epoch;
      curve = state.curve;
      imagesSeen = state.imagesSeen;
      trainSeconds = state.trainSeconds;
      wallSeconds = state.wallSeconds ?? state.trainSeconds;
      epochWallSeconds = state.epochWallSeconds ?? [];
      runRng = new Rng(state.rngState);
      if (state.masks && hooks.maskSchedule) scheduled = state.masks;
      else if (state.masks) tf.dispose([...state.masks.values()]);
      logger.info(`resuming from the checkpoint after epoch ${startEpoch} in ${hooks.checkpointDir}`);
    }
  }
  const applyMasks = (): void => {
    const masks = hooks.masks ?? scheduled;
    if (masks) model.applyMasks(masks);
  };
  applyMasks();

  const resumedWallSeconds = wallSeconds;
  const steps = numBatches(data.train.count, cfg.batchSize);
  try {
    for (let epoch = startEpoch; epoch < cfg.epochs; epoch++) {
      const lr = learningRate(cfg.lr, epoch, cfg.epochs, cfg.schedule);
      const epochRng = runRng.fork(epoch);
      const progress =
        hooks.progressStream === null
          ? null
          : createProgress({ label: `${hooks.label ?? 'train'} epoch ${epoch + 1}/${cfg.epochs}`, total: steps, unit: 'steps', ...(hooks.progressStream ? { stream: hooks.progressStream } : {}) });
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let step = 0;
      const t0 = performance.now();
      for (const b of batches(data.train, data.shape, { batchSize: cfg.batchSize, shuffle: true, augment: cfg.augment, rng: epochRng, mean: data.mean, std: data.std })) {
        const next = hooks.maskSchedule?.update(epoch * steps + step, model, scheduled) ?? null;
        if (next) {
          if (scheduled) tf.dispose([...scheduled.values()]);
          scheduled = next;
          applyMasks();
        }
        const { loss, correct: batchCorrect } = await trainStep(model, sgd, b.x, b.y, lr, { ...(penalty ? { l1Penalty: penalty } : {}) }, varToParam);
        applyMasks();
        // trainStep's awaits resolve as microtasks: yield to the event loop now and then, so that
        // a signal handler (Ctrl-C on a cell run in this process) or a timer runs within a few
        // batches rather than after the epoch.
        if (step % YIELD_EVERY_STEPS === 0) await new Promise<void>((resolve) => setImmediate(resolve));
        if (!Number.isFinite(loss)) throw new ConfigError(`Training diverged at epoch ${epoch + 1}, step ${step + 1} (loss ${loss}); try a lower lr`, 'lr');
        lossSum += loss * b.size;
        correct += batchCorrect;
        seen += b.size;
        step++;
        b.x.dispose();
        b.y.dispose();
        const secs = (performance.now() - t0) / 1000;
        progress?.update(step, { loss: (lossSum / seen).toFixed(3), acc: `${((100 * correct) / seen).toFixed(1)}%`, 'img/s': (seen / secs).toFixed(0) });
      }
      const secs = (performance.now() - t0) / 1000;
      trainSeconds += secs;
      imagesSeen += seen;
      const test = await evaluate(model, data.test, data);
      const epochSeconds = (performance.now() - t0) / 1000;
      wallSeconds += epochSeconds;
      epochWallSeconds.push(epochSeconds);
      const point: CurvePoint = { epoch: epoch + 1, lr, trainLoss: lossSum / Math.max(1, seen), trainAcc: (100 * correct) / Math.max(1, seen), testLoss: test.loss, testAcc: test.acc };
      curve.push(point);
      if (!progress) {
        // Without a progress bar (parallel cells, Slurm logs) one line per epoch still shows life.
        const eta = epoch + 1 < cfg.epochs ? `, ~${formatDuration(secondsLeft(epoch + 1, cfg.epochs, typicalEpochSeconds(epoch + 1, wallSeconds, epochWallSeconds)))} left` : '';
        logger.info(`${hooks.label ?? 'train'} epoch ${epoch + 1}/${cfg.epochs}: loss ${point.trainLoss.toFixed(3)}, train ${point.trainAcc.toFixed(1)}%, test ${test.acc.toFixed(2)}%, ${(seen / secs).toFixed(0)} img/s, lr ${+lr.toPrecision(4)}${eta}`);
      }
      progress?.finish({ loss: point.trainLoss.toFixed(3), acc: `${point.trainAcc.toFixed(1)}%`, test: `${test.acc.toFixed(2)}%`, 'img/s': (seen / secs).toFixed(0) });
      if (hooks.checkpointDir) {
        await saveCheckpoint(hooks.checkpointDir, model, sgd, { epoch: epoch + 1, rngState: runRng.getState(), curve, configHash: hash, imagesSeen, trainSeconds, epochs: cfg.epochs, wallSeconds, epochWallSeconds }, scheduled);
      }
      await hooks.onEpoch?.(point);
    }
  } catch (e) {
    if (scheduled) tf.dispose([...scheduled.values()]);
    throw e;
  } finally {
    sgd.dispose();
  }
  const last = curve[curve.length - 1];
  let best = last;
  for (const p of curve) if (best && p.testAcc > best.testAcc) best = p;
  return {
    curve,
    finalTestAcc: last?.testAcc ?? Number.NaN,
    bestTestAcc: best?.testAcc ?? Number.NaN,
    bestEpoch: best?.epoch ?? 0,
    trainImagesPerSec: trainSeconds > 0 ? imagesSeen / trainSeconds : 0,
    trainSeconds,
    resumedFromEpoch: startEpoch,
    resumedWallSeconds,
    ...(scheduled ? { masks: scheduled } : {}),
  };
}
