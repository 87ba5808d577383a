import { ConfigError } from '../util/errors.ts';
import { localExecutor } from './local.ts';
import { readCellStatus, readPlan } from './plan.ts';
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
  /** completed | failed | running | not run */
  state: string;
  error?: string;
  /** The executor's own view, e.g. Slurm's `failed (12_3, exit 1:0)`. */
  executor?: string;
}

export async function runStatus(runDir: string): Promise<CellStateLine[]> {
  const plan = await readPlan(runDir);
  const views = (await Promise.all(EXECUTORS.map((e) => BY_NAME[e].cellStates(runDir)))).filter((v): v is Map<string, string> => v !== null);
  const out: CellStateLine[] = [];
  for (const c of plan.cells) {
    const s = await readCellStatus(runDir, c.id);
    const view = views.find((v) => v.has(c.id))?.get(c.id);
    out.push({ id: c.id, state: s?.state ?? 'not run', ...(s?.error ? { error: s.error } : {}), ...(view ? { executor: view } : {}) });
  }
  return out;
}
