import { cellCheckpointDir } from '../protocols/index.ts';
import { readCheckpointState, secondsLeft, typicalEpochSeconds } from '../train/index.ts';
import { ConfigError } from '../util/errors.ts';
import { localExecutor } from './local.ts';
import { readCellStatus, readPlan, runnerGone } from './plan.ts';
import { slurmExecutor } from './slurm/executor.ts';
import { EXECUTORS, type Executor } from './types.ts';

const BY_NAME: Record<(typeof EXECUTORS)[number], Executor> = { local: localExecutor, slurm: slurmExecutor };

export function executorFor(name: string): Executor {
  if (!(EXECUTORS as readonly string[]).includes(name)) {
    throw new ConfigError(`--executor expects ${EXECUTORS.join(' or ')}, got "${name}"`, 'executor');
  }
  return BY_NAME[name as (typeof EXECUTORS)[number]];
}

/** Every cell of a run: its state from the result files and, where it ran there, the executor's own view. */
export interface CellStateLine {
  id: string;
  /** completed | failed | running | interrupted (its process on this host is gone) | not run */
  state: string;
  error?: string;
  /** The executor's own view, e.g. Slurm's `failed (12_3, exit 1:0)`. */
  executor?: string;
  /** A running or interrupted cell's training so far, from its last end-of-epoch checkpoint. */
  progress?: TrainingProgress;
}

export interface TrainingProgress {
  /** Epochs completed. */
  epoch: number;
  /** Epochs planned in all (unknown for checkpoints written before it was recorded). */
  epochs?: number;
  /** Test accuracy (%) after the last completed epoch. */
  testAcc?: number;
  /** Wall seconds an epoch takes now (median of the last few), evaluation included where recorded. */
  secondsPerEpoch: number;
  /** Estimated seconds to the last epoch (only when the planned epochs are known). */
  secondsLeft?: number;
}

async function trainingProgress(runDir: string, id: string): Promise<TrainingProgress | undefined> {
  const st = await readCheckpointState(cellCheckpointDir(runDir, id));
  if (!st || st.epoch <= 0) return undefined;
  const testAcc = st.curve[st.curve.length - 1]?.testAcc;
  const secondsPerEpoch = typicalEpochSeconds(st.epoch, st.wallSeconds ?? st.trainSeconds, st.epochWallSeconds);
  return {
    epoch: st.epoch,
    ...(st.epochs !== undefined ? { epochs: st.epochs, secondsLeft: secondsLeft(st.epoch, st.epochs, secondsPerEpoch) } : {}),
    ...(testAcc !== undefined ? { testAcc } : {}),
    secondsPerEpoch,
  };
}

export async function runStatus(runDir: string): Promise<CellStateLine[]> {
  const plan = await readPlan(runDir);
  const views = (await Promise.all(EXECUTORS.map((e) => BY_NAME[e].cellStates(runDir)))).filter((v): v is Map<string, string> => v !== null);
  const out: CellStateLine[] = [];
  for (const c of plan.cells) {
    const s = await readCellStatus(runDir, c.id);
    const view = views.find((v) => v.has(c.id))?.get(c.id);
    const progress = s?.state === 'running' ? await trainingProgress(runDir, c.id) : undefined;
    out.push({
      id: c.id,
      state: runnerGone(s) ? 'interrupted' : (s?.state ?? 'not run'),
      ...(s?.error ? { error: s.error } : {}),
      ...(view ? { executor: view } : {}),
      ...(progress ? { progress } : {}),
    });
  }
  return out;
}
