import { join } from 'node:path';

/**
 * Where a Slurm sweep keeps its files. Every task writes only below its own cell directory, so
 * concurrent tasks never write the same file.
 *
 *   runDir/cells.json                      SweepCell[] sorted by stage; CELL_INDEX indexes it
 *   runDir/cells/<cellId>/                 the cell's outputs (CELL_DIR)
 *   runDir/cells/<cellId>/status.json      marker written by the cell command (CellStatusMarker)
 *   runDir/cells/<cellId>/slurm-task.json  written by the batch script after the cell command ends
 *   runDir/slurm/stage<s>-part<k>.sbatch   one array job per stage chunk
 *   runDir/slurm/merge.sbatch              the merge job
 *   runDir/slurm/logs/<job>_%A_%a.out      stdout+stderr of every task
 *   runDir/slurm/submission.json           the latest SlurmSubmission
 *   runDir/slurm/submissions.json          every SlurmSubmission, oldest first (resumes append)
 */
export const slurmLayout = {
  cellsFile: (runDir: string) => join(runDir, 'cells.json'),
  cellsDir: (runDir: string) => join(runDir, 'cells'),
  cellDir: (runDir: string, cellId: string) => join(runDir, 'cells', cellId),
  statusMarker: (runDir: string, cellId: string) => join(runDir, 'cells', cellId, 'status.json'),
  taskRecord: (runDir: string, cellId: string) => join(runDir, 'cells', cellId, 'slurm-task.json'),
  slurmDir: (runDir: string) => join(runDir, 'slurm'),
  logsDir: (runDir: string) => join(runDir, 'slurm', 'logs'),
  arrayScript: (runDir: string, stage: number, part: number) => join(runDir, 'slurm', `stage${stage}-part${part}.sbatch`),
  mergeScript: (runDir: string) => join(runDir, 'slurm', 'merge.sbatch'),
  submissionFile: (runDir: string) => join(runDir, 'slurm', 'submission.json'),
  historyFile: (runDir: string) => join(runDir, 'slurm', 'submissions.json'),
} as const;

/** Written by the batch script (not by the cell command) once the cell command has exited. */
export interface SlurmTaskRecord {
  /** `<arrayJobId>_<taskId>`. */
  jobId: string;
  exitCode: number;
  host: string;
  startedAt: string;
  endedAt: string;
}
