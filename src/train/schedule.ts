import { ConfigError } from '../util/errors.ts';

export type LrSchedule =
  /** x decay at the given (1-based epoch index) milestones; default floor(50%) and floor(75%). */
  | { kind: 'step'; milestones?: number[]; decay?: number }
  | { kind: 'constant' };

/**
 * Integer milestones, as PyTorch's MultiStepLR uses them: the rate changes at the start of
 * epoch m (0-based), i.e. after m epochs. The reference code once used float milestones that
 * never matched an epoch, so the rate never decayed; integers here, always.
 */
export function stepMilestones(epochs: number, schedule: LrSchedule): number[] {
  if (schedule.kind !== 'step') return [];
  // A default milestone at epoch 0 (E < 2) would decay the rate before any training: drop it.
  const ms = schedule.milestones ?? [Math.floor(epochs * 0.5), Math.floor(epochs * 0.75)].filter((m) => m > 0);
  for (const m of ms) {
    if (!Number.isInteger(m) || m < 0) throw new ConfigError(`Learning-rate milestone ${m} is not a whole epoch number`, 'milestones');
  }
  return ms;
}

/** Learning rate for a 0-based epoch. */
export function learningRate(baseLr: number, epoch: number, epochs: number, schedule: LrSchedule): number {
  if (schedule.kind === 'constant') return baseLr;
  const decay = schedule.decay ?? 0.1;
  const passed = stepMilestones(epochs, schedule).filter((m) => epoch >= m).length;
  return baseLr * decay ** passed;
}
