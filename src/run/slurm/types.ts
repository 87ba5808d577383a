import type { Logger } from '../../util/log.ts';

/**
 * Plain data at the seam between the sweep runner and Slurm. Everything here is JSON-serialisable:
 * `cells.json` is a `SweepCell[]`, `slurm/submission.json` a `SlurmSubmission`.
 */

/**
 * One unit of work of a sweep: a (config x seed) cell. Cells of stage s depend on cells of lower
 * stages (stage 0 = cells that need nothing: baselines, and Scratch-E/B of arms whose pruned
 * architecture is known before training; 1 = prune; 2 = training after the prune).
 */
export interface SweepCell {
  id: string;
  stage: number;
}

export interface SlurmOptions {
  /** `--partition`. */
  partition?: string;
  /** `--gres`, e.g. `gpu:1`. */
  gres?: string;
  /** `--time`, e.g. `HH:MM:SS` or `D-HH:MM:SS`. */
  time?: string;
  /** `--mem`, e.g. `16G`. Not enforced on clusters without cgroups. */
  mem?: string;
  /** At most this many tasks of one array run at once (`--array=...%K`). */
  maxParallel?: number;
  /** Extra `sbatch` options, one per element (e.g. `['--account=abc', '--qos=short']`). */
  sbatchArgs?: string[];
  /** Largest array (task ids 0..maxArraySize-1). Default: `MaxArraySize` from `scontrol show config`, else 1001. */
  maxArraySize?: number;
  /** Base job name (default `prunebench`); arrays are `<jobName>-s<stage>`, the merge `<jobName>-merge`. */
  jobName?: string;
}

export interface SlurmArraySubmission {
  jobId: string;
  cellIds: string[];
  /** Global index (into cells.json) of task id 0 of this array: CELL_INDEX = offset + SLURM_ARRAY_TASK_ID. */
  offset: number;
  /** The batch script that was submitted (lets status reject a reused job id of another job). */
  script?: string;
}

export interface SlurmSubmission {
  runDir: string;
  stages: { stage: number; arrays: SlurmArraySubmission[] }[];
  mergeJobId: string;
  submittedAt: string;
  /** The sbatch command lines, shell-quoted, in submission order (dry runs: with placeholder job ids). */
  commands?: string[];
  /** True for a dry run: nothing was written or submitted and job ids are placeholders. */
  dryRun?: boolean;
}

/** One array job of a stage: a chunk of at most maxArraySize consecutive cells of cells.json. */
export interface SlurmArrayScript {
  /** The batch script (a bash script with `#SBATCH` directives). */
  script: string;
  cellIds: string[];
  offset: number;
  size: number;
}

export interface SlurmScripts {
  stages: { stage: number; arrays: SlurmArrayScript[] }[];
  mergeScript: string;
}

export interface BuildSlurmScriptsOptions {
  /** Directory of the sweep run (absolute after resolution): cells.json, cells/<id>/, slurm/. */
  runDir: string;
  cells: SweepCell[];
  /** Shell command run by every task; the script exports CELL_INDEX (global index into cells.json) first. */
  cellCommand: string;
  /** Shell command run once after every array ended (whatever their outcome). */
  mergeCommand: string;
  /** Working directory of every job (usually the repository root). */
  workDir: string;
  options: SlurmOptions;
}

export interface SubmitSweepOptions extends BuildSlurmScriptsOptions {
  /** Write the files and return the planned submission with placeholder job ids; call no sbatch. */
  dryRun?: boolean;
  logger?: Logger;
  /** For --resume: submit only these cells (same cells.json as before; other cells are left alone). */
  onlyCellIds?: string[];
}

export const CELL_STATES = ['pending', 'running', 'completed', 'failed', 'missing', 'unknown'] as const;
export type CellState = (typeof CELL_STATES)[number];

export interface CellStatus {
  cellId: string;
  state: CellState;
  /** The Slurm task, `<arrayJobId>_<taskId>`, from the latest submission that included the cell. */
  jobId?: string;
  /** Slurm's `exit:signal` (e.g. `3:0`), or the marker file's exitCode. */
  exitCode?: string;
  /** Whether the cell's result file exists (see CellStatusMarker.resultFile). */
  resultFile?: boolean;
}

/**
 * What the cell command writes to `runDir/cells/<cellId>/status.json` (at start: state running;
 * at the end: completed or failed with its exit code). Slurm's own view wins while it still
 * knows the job; the marker is what remains once the job has aged out of slurmctld (MinJobAge).
 */
export interface CellStatusMarker {
  state: 'running' | 'completed' | 'failed';
  exitCode?: number;
  /** Result file, relative to the cell directory (default `result.json`). */
  resultFile?: string;
  [extra: string]: unknown;
}
