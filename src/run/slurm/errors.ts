import { BackendError } from '../../util/errors.ts';

/**
 * Slurm is missing, unreachable or refused a command. A BackendError, so callers that handle
 * "this executor cannot run here" handle it too. Carries the command and its stderr.
 */
export class SlurmError extends BackendError {
  constructor(
    message: string,
    readonly command?: string,
    readonly stderr?: string,
  ) {
    super(message);
  }
}
