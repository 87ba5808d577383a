import type { RunExperimentOptions } from './plan.ts';
import type { SlurmOptions, SlurmSubmission } from './slurm/types.ts';

/**
 * The executors' one interface: a planned run (an experiment x preset x seeds, resolved and
 * frozen into <run-dir>/plan.json) is carried out cell by cell, each cell by `run-cell`, either in
 * processes on this machine (`local`) or as Slurm job arrays (`slurm`).
 */
export const EXECUTORS = ['local', 'slurm'] as const;
export type ExecutorName = (typeof EXECUTORS)[number];

export interface ExecuteOptions extends Omit<RunExperimentOptions, 'resultsDir'> {
  /** Default `results`; a Slurm resume takes it from the run dir's plan when left out. */
  resultsDir?: string;
  /** Slurm: resubmit the cells of an earlier submission that did not complete. */
  resume?: boolean;
  /** Slurm: sbatch options. */
  slurm?: SlurmOptions;
}

export interface RunSummary {
  runDir: string;
  csv: string;
  /** `zoo`: the zoo entry that served a baseline cell (`--baselines`), which then trained nothing. */
  cells: { id: string; state: 'completed' | 'failed' | 'skipped' | 'planned' | 'recorded'; seconds?: number; top1?: number; error?: string; zoo?: string }[];
  seconds: number;
}

/** A local run ends when every cell has ended. */
export interface LocalResult {
  executor: 'local';
  summary: RunSummary;
}

/** A Slurm run ends at submission; `submission` is null when every cell had completed already. */
export interface SlurmResult {
  executor: 'slurm';
  runDir: string;
  submission: SlurmSubmission | null;
  dryRun: boolean;
}

export type ExecuteResult = LocalResult | SlurmResult;

export interface Executor {
  readonly name: ExecutorName;
  run(opts: ExecuteOptions): Promise<ExecuteResult>;
  /** The executor's own view of each cell (e.g. Slurm's job state), one line per cell; null when the run never used it. */
  cellStates(runDir: string): Promise<Map<string, string> | null>;
}
