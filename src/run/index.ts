/**
 * Execution, below the CLI: the plan and per-cell state of a run on disk (plan.ts), one cell in
 * this process (cell.ts), two executors behind one interface (types.ts): `local`, a process pool
 * on this machine, and `slurm`, job arrays on a cluster; and `prunebench prune`'s one model
 * pruned into a folder (prune.ts).
 */
export * from './types.ts';
export { executorFor, runStatus, type CellStateLine } from './executor.ts';
export { defaultRunDir, formatPlan, mergeRun, prepareRun, readCellStatus, readPlan, resolveConfig, resumeHash, type CellStatus, type RunExperimentOptions, type RunPlan } from './plan.ts';
export { runPlannedCell } from './cell.ts';
export { localExecutor, runExperiment } from './local.ts';
export { runOnSlurm, slurmCellStates, slurmExecutor } from './slurm/executor.ts';
export { BIN, REPO_ROOT, runEnvironment, packageVersion } from './env.ts';
export { loadExperimentData } from './experiment-data.ts';
export { SlurmError, type SlurmOptions, type SlurmSubmission } from './slurm/index.ts';
export { pruneToFolder, resolveMethod, resolveTarget, CALIBRATION_BATCH_SIZE, type PruneToFolderOptions, type BudgetMeta } from './prune.ts';
export { addToZoo, zooEntryId, type AddToZooOptions } from './zoo-add.ts';
