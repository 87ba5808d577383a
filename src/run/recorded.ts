/**
 * What the results already record, for skipping it (`run --skip-recorded`, `list --skip-recorded`).
 * Plain data and files only: `prunebench list` loads this without TensorFlow.js.
 */
import type { Cell, ExperimentConfig } from '../protocols/index.ts';
import { loadRunRecords } from '../results/write.ts';
import { configHash } from '../util/hash.ts';
import type { RunPlan } from './plan.ts';

/**
 * Identity of a config for resuming: seeds are per cell, so they are left out, and so are the
 * extra latency runtimes (latencyRuntimes), which add measurements to the cells after the
 * baselines but change nothing they train or count: a run started before they were listed
 * resumes, and its later cells measure them.
 */
export function resumeHash(config: ExperimentConfig): string {
  const { latencyRuntimes: _measuredOnly, ...identity } = config;
  return configHash({ ...identity, seeds: [] });
}

/** Cells with an ok record of this experiment, preset and config in the plan's results dir. */
export async function recordedCellIds(plan: Pick<RunPlan, 'experiment' | 'preset' | 'configHash' | 'resultsDir'>): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const { row } of await loadRunRecords(plan.resultsDir, plan.experiment)) {
    if (row.status === 'ok' && row.preset === plan.preset && row.config_hash === plan.configHash) ids.add(String(row.cell));
  }
  return ids;
}

/**
 * The cells of `todo` that need not run because their result is already recorded (in `ids`), and
 * that no other cell left to run needs: a run dir that was lost or is new must not train them
 * again, but a cell whose outputs (weights, keep plan) a remaining cell reads from the run dir
 * still runs. Dependents always sit in a later stage, so one pass from the last stage down decides.
 */
export function recordedCells(todo: Cell[], ids: ReadonlySet<string>): Cell[] {
  const needed = new Set<string>();
  const recorded: Cell[] = [];
  for (const c of [...todo].sort((a, b) => b.stage - a.stage)) {
    if (ids.has(c.id) && !needed.has(c.id)) {
      recorded.push(c);
      continue;
    }
    for (const d of c.dependsOn) needed.add(d);
  }
  return recorded.reverse();
}
