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

/**
 * Identity of one cell's work: the config's shared settings (data, widths, phases, baseline) and
 * the one arm the cell's id names (`<protocol>:<arm id>:s<seed>`; a baseline cell names a model,
 * so none), without seeds, description or the extra latency runtimes. Two configs that differ only
 * in other arms (an arm added, replaced or dropped) give their common cells the same identity, so
 * their recorded results still count.
 */
export function cellResumeHash(config: ExperimentConfig, cellId: string): string {
  const { latencyRuntimes: _measuredOnly, description: _prose, arms, ...shared } = config;
  const parts = cellId.split(':');
  const armId = parts.length >= 3 ? parts.slice(1, -1).join(':') : undefined;
  const arm = arms.find((a) => a.id === armId) ?? null;
  return configHash({ ...shared, seeds: [], arm });
}

/** A record's config (stored as unknown JSON) that has arms to look a cell's arm up in. */
function isConfig(config: unknown): config is ExperimentConfig {
  return typeof config === 'object' && config !== null && Array.isArray((config as { arms?: unknown }).arms);
}

/**
 * Cells with an ok record of this experiment and preset in the plan's results dir whose work is
 * the plan's (the same cellResumeHash from the record's own config; a record without its config
 * counts only under the same whole-config hash).
 */
export async function recordedCellIds(plan: Pick<RunPlan, 'experiment' | 'preset' | 'config' | 'configHash' | 'resultsDir'>): Promise<Set<string>> {
  const ids = new Set<string>();
  // The plan's side of the comparison, once per cell (a cell may have several records).
  const planHashes = new Map<string, string>();
  const planHash = (cell: string): string => planHashes.get(cell) ?? planHashes.set(cell, cellResumeHash(plan.config, cell)).get(cell)!;
  for (const { row, config } of await loadRunRecords(plan.resultsDir, plan.experiment)) {
    if (row.status !== 'ok' || row.preset !== plan.preset) continue;
    const cell = String(row.cell);
    const same = row.config_hash === plan.configHash || (isConfig(config) && cellResumeHash(config, cell) === planHash(cell));
    if (same) ids.add(cell);
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
