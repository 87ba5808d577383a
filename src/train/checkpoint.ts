import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { median } from 'mathjs';
import * as tf from '@tensorflow/tfjs-core';
import { decodeNamedWeights, encodeNamedWeights, type Model } from '../models/index.ts';
import { ensureDir, writeFileAtomic } from '../util/fs.ts';
import type { CurvePoint } from '../results/columns.ts';
import { CheckpointError } from '../util/errors.ts';
import type { RngState } from '../util/rng.ts';
import type { Sgd } from './sgd.ts';

/**
 * End-of-epoch checkpoints: weights, momentum buffers, epoch, RNG state and the curve so far.
 * Each is written into a fresh folder that is renamed into place, then `latest.json` is replaced
 * atomically, so a crash at any moment leaves the previous checkpoint usable.
 */
export interface CheckpointState {
  /** Epochs completed. */
  epoch: number;
  rngState: RngState;
  curve: CurvePoint[];
  /** Hash of the training config: resuming under another config is refused. */
  configHash: string;
  imagesSeen: number;
  trainSeconds: number;
  /** Epochs the run will train in all; absent in checkpoints written before it was recorded. */
  epochs?: number;
  /** Wall seconds of the epochs so far, evaluation included (absent in older checkpoints). */
  wallSeconds?: number;
  /** Wall seconds of each epoch trained, in order (absent in older checkpoints; after resuming from one, only the epochs since). */
  epochWallSeconds?: number[];
}

/**
 * `masks`: masks that change during training (gradual pruning), kept beside the weights so a
 * resumed run continues with the masks in force at the checkpoint.
 */
export async function saveCheckpoint(dir: string, model: Model, sgd: Sgd, state: CheckpointState, masks?: Map<string, tf.Tensor> | null): Promise<void> {
  await ensureDir(dir);
  const name = `epoch-${state.epoch}`;
  const tmp = join(dir, `${name}.tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  const weights = await encodeNamedWeights(model.namedWeights());
  const momentum = await encodeNamedWeights(new Map<string, tf.Tensor>(sgd.buffers));
  await writeFile(join(tmp, 'weights.bin'), weights.data);
  await writeFile(join(tmp, 'weights.json'), weights.manifest);
  await writeFile(join(tmp, 'momentum.bin'), momentum.data);
  await writeFile(join(tmp, 'momentum.json'), momentum.manifest);
  if (masks) {
    const m = await encodeNamedWeights(masks);
    await writeFile(join(tmp, 'masks.bin'), m.data);
    await writeFile(join(tmp, 'masks.json'), m.manifest);
  }
  await writeFile(join(tmp, 'state.json'), JSON.stringify(state));
  await rm(join(dir, name), { recursive: true, force: true });
  await rename(tmp, join(dir, name));
  const previous = await readLatestName(dir);
  await writeFileAtomic(join(dir, 'latest.json'), JSON.stringify({ name }));
  if (previous && previous !== name) await rm(join(dir, previous), { recursive: true, force: true });
}

async function readLatestName(dir: string): Promise<string | null> {
  try {
    return (JSON.parse(await readFile(join(dir, 'latest.json'), 'utf8')) as { name: string }).name;
  } catch {
    return null;
  }
}

/** Epochs whose median time predicts the next: few enough to follow a change of load, enough to outvote one stalled epoch. */
const ETA_EPOCHS = 5;

/**
 * Wall seconds an epoch takes now: the median of the last few epochs' times where they were
 * recorded, so that one stalled epoch (a paused process, a machine shared for a while) does not
 * inflate every later estimate as a mean over the whole run would; otherwise that mean.
 */
export function typicalEpochSeconds(epochsDone: number, wallSeconds: number, epochWallSeconds: readonly number[] = []): number {
  if (epochWallSeconds.length > 0) return median<number>(epochWallSeconds.slice(-ETA_EPOCHS));
  return epochsDone > 0 ? wallSeconds / epochsDone : Number.NaN;
}

/** Seconds the remaining epochs should take at `secondsPerEpoch` (from typicalEpochSeconds). */
export function secondsLeft(epochsDone: number, epochsPlanned: number, secondsPerEpoch: number): number {
  return Math.max(0, epochsPlanned - epochsDone) * secondsPerEpoch;
}

/** The state of the latest checkpoint without loading its weights (for progress reports), or null if none is readable. */
export async function readCheckpointState(dir: string): Promise<CheckpointState | null> {
  const name = await readLatestName(dir);
  if (!name) return null;
  try {
    return JSON.parse(await readFile(join(dir, name, 'state.json'), 'utf8')) as CheckpointState;
  } catch {
    return null;
  }
}

/**
 * Restores model weights and momentum in place; returns the state, or null if none exists, with
 * the masks saved beside the weights where there are some (the caller disposes them).
 */
export async function loadCheckpoint(dir: string, model: Model, sgd: Sgd): Promise<(CheckpointState & { masks?: Map<string, tf.Tensor> }) | null> {
  const name = await readLatestName(dir);
  if (!name) return null;
  const folder = join(dir, name);
  const read = async (file: string): Promise<Buffer> => {
    try {
      return await readFile(join(folder, file));
    } catch {
      throw new CheckpointError(`Checkpoint ${folder} is incomplete: ${file} is missing`, join(folder, file));
    }
  };
  const state = JSON.parse((await read('state.json')).toString('utf8')) as CheckpointState;
  const weights = decodeNamedWeights((await read('weights.json')).toString('utf8'), await read('weights.bin'), join(folder, 'weights.json'));
  const momentum = decodeNamedWeights((await read('momentum.json')).toString('utf8'), await read('momentum.bin'), join(folder, 'momentum.json'));
  try {
    for (const [n, t] of weights) {
      const v = model.param(n);
      if (v.shape.join() !== t.shape.join()) {
        throw new CheckpointError(`Checkpoint ${folder}: ${n} has shape [${t.shape}], the model needs [${v.shape}]`, folder);
      }
      v.assign(t);
    }
    sgd.dispose();
    for (const [n, t] of momentum) sgd.buffers.set(n, tf.variable(t, false));
  } finally {
    for (const t of weights.values()) t.dispose();
  }
  if (!existsSync(join(folder, 'masks.json'))) return state;
  const masks = decodeNamedWeights((await read('masks.json')).toString('utf8'), await read('masks.bin'), join(folder, 'masks.json'));
  return { ...state, masks };
}
