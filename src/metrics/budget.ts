import { ConfigError } from '../util/errors.ts';

/**
 * Scratch-B's epochs (Rethinking): the pruned model gets the unpruned model's compute budget,
 * epochs = floor(E * FLOPs_full / FLOPs_pruned). The reference code hard-codes E = 160; here E is
 * the configured epoch count. Recorded in its own column, never overwriting the configured one.
 */
export function scratchBudgetEpochs(epochs: number, flopsFull: number, flopsPruned: number): number {
  if (!(flopsPruned > 0) || !(flopsFull > 0)) {
    throw new ConfigError(`Scratch-B needs positive FLOPs (full ${flopsFull}, pruned ${flopsPruned})`, 'flops');
  }
  return Math.floor((epochs * flopsFull) / flopsPruned);
}
