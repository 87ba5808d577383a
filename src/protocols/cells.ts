import type { Protocol } from '../results/index.ts';
import { ConfigError } from '../util/errors.ts';
import type { ZooBaseline } from './baseline-key.ts';
import type { Arm, ExperimentConfig } from './config.ts';
import { architectureKnownBeforeTraining } from './shape.ts';

/**
 * A cell is one protocol run for one seed. Work is shared: one trained baseline per
 * (model, sparsity, seed) serves every arm on that model, and one prune cell per (arm, seed)
 * computes the pruned architecture that fine-tune, Scratch-E/B and the others reuse.
 * Stages: 0 = cells that need nothing (baselines; see below), 1 = prune and gradual (which need
 * only the baseline), 2 = everything trained after pruning. Scratch-E/B of an arm whose architecture does not depend on the trained weights
 * (filter-norm methods at predefined ratios) need nothing either: they train a fresh network of
 * that architecture, so they are stage 0 and run beside the baseline instead of after it.
 */
export interface Cell {
  id: string;
  stage: number;
  protocol: Protocol;
  dependsOn: string[];
  seed: number;
  model: string;
  /** The arm (pruned variant) this cell belongs to; none for baselines. */
  arm?: string;
  /** Baseline cells: trained with Network Slimming's sparsity penalty. */
  sparsity: boolean;
  /** Baseline cells: taken from a model zoo instead of trained (set by `run --baselines`). */
  zoo?: ZooBaseline;
}

export function baselineCellId(model: string, sparsity: boolean, seed: number): string {
  return `${sparsity ? 'sparsity-train' : 'baseline'}:${model}:s${seed}`;
}

export function armCellId(protocol: Protocol, arm: Arm, seed: number): string {
  return `${protocol}:${arm.id}:s${seed}`;
}

export function expandCells(config: ExperimentConfig): Cell[] {
  const cells = new Map<string, Cell>();
  const ids = new Set<string>();
  for (const arm of config.arms) {
    if (ids.has(arm.id)) throw new ConfigError(`Two arms of ${config.experiment} share the id ${arm.id}`, 'arms');
    ids.add(arm.id);
  }
  for (const seed of config.seeds) {
    // Unpruned reference for every model, even when all its arms use sparsity training.
    for (const model of new Set(config.arms.map((a) => a.model))) {
      const id = baselineCellId(model, false, seed);
      cells.set(id, { id, stage: 0, protocol: 'baseline', dependsOn: [], seed, model, sparsity: false });
    }
    for (const arm of config.arms) {
      const base = baselineCellId(arm.model, arm.sparsity, seed);
      if (!cells.has(base)) cells.set(base, { id: base, stage: 0, protocol: 'sparsity-train', dependsOn: [], seed, model: arm.model, sparsity: true });
      const prune = armCellId('prune', arm, seed);
      cells.set(prune, { id: prune, stage: 1, protocol: 'prune', dependsOn: [base], seed, model: arm.model, arm: arm.id, sparsity: arm.sparsity });
      for (const protocol of arm.protocols) {
        if (protocol === 'baseline' || protocol === 'sparsity-train' || protocol === 'prune') {
          throw new ConfigError(`Arm ${arm.id} lists ${protocol}, which runs anyway; list only what follows pruning`, 'arms');
        }
        const id = armCellId(protocol, arm, seed);
        // Gradual pruning starts from the trained baseline, not from the one-shot pruned model.
        if (protocol === 'gradual') {
          cells.set(id, { id, stage: 1, protocol, dependsOn: [base], seed, model: arm.model, arm: arm.id, sparsity: arm.sparsity });
          continue;
        }
        if ((protocol === 'scratch-E' || protocol === 'scratch-B') && architectureKnownBeforeTraining(arm)) {
          cells.set(id, { id, stage: 0, protocol, dependsOn: [], seed, model: arm.model, arm: arm.id, sparsity: arm.sparsity });
          continue;
        }
        // Lottery tickets need the baseline's initial weights, kept by its baseline cell.
        cells.set(id, { id, stage: 2, protocol, dependsOn: [prune, base], seed, model: arm.model, arm: arm.id, sparsity: arm.sparsity });
      }
    }
  }
  return [...cells.values()].sort((a, b) => a.stage - b.stage || a.id.localeCompare(b.id));
}

/**
 * Which of the ready cells starts first (local runner, and the estimate of `list`): the lowest
 * seed, then the cell furthest down its chain (a prune or fine-tune before another baseline), then
 * plan order (sort is stable). A sweep thus completes its seeds one at a time, so a machine lost
 * half-way (with the checkpoints on it) leaves whole seeds, not every seed's baseline without the
 * cells that needed it.
 */
export function runOrder(a: Cell, b: Cell): number {
  return a.seed - b.seed || b.stage - a.stage;
}

/** Glob match for `--only` ('*' matches any run of characters). */
export function matchesGlob(id: string, glob: string): boolean {
  const re = new RegExp(`^${glob.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(id);
}

/** Cells selected by `--only`, plus every cell they depend on. */
export function selectCells(cells: Cell[], only: string[] | undefined): Cell[] {
  if (!only || only.length === 0) return cells;
  const byId = new Map(cells.map((c) => [c.id, c]));
  const chosen = new Set<string>();
  const add = (id: string): void => {
    if (chosen.has(id)) return;
    chosen.add(id);
    for (const d of byId.get(id)?.dependsOn ?? []) add(d);
  };
  for (const c of cells) if (only.some((g) => matchesGlob(c.id, g))) add(c.id);
  if (chosen.size === 0) throw new ConfigError(`--only ${only.join(',')} matches no cell`, 'only');
  return cells.filter((c) => chosen.has(c.id));
}
