/**
 * `--executor slurm`: run a sweep's cells as Slurm job arrays, one stage after another, then a
 * merge job. See layout.ts for the files a run dir holds and scripts/local-slurm.sh for a
 * single-node cluster to try it on.
 */
export type {
  BuildSlurmScriptsOptions,
  CellState,
  CellStatus,
  CellStatusMarker,
  SlurmArrayScript,
  SlurmArraySubmission,
  SlurmOptions,
  SlurmScripts,
  SlurmSubmission,
  SubmitSweepOptions,
  SweepCell,
} from './types.ts';
export { CELL_STATES } from './types.ts';
export { SlurmError } from './errors.ts';
export { detectSlurm, findOnPath, SLURM_COMMANDS } from './detect.ts';
export { buildSlurmScripts, DEFAULT_JOB_NAME, DEFAULT_MAX_ARRAY_SIZE, validateCells, validateSlurmOptions } from './scripts.ts';
export { readMaxArraySize, readSubmissionHistory, submitSweepToSlurm } from './submit.ts';
export { cellStateOfJobState, parseScontrolJobs, slurmStatus, waitForSlurmJobs } from './status.ts';
export { slurmLayout, type SlurmTaskRecord } from './layout.ts';
export { arraySpec, shellQuote } from './quote.ts';
