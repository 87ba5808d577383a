import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { SlurmError } from './errors.ts';

/** The client commands the Slurm executor calls. */
export const SLURM_COMMANDS = ['sbatch', 'squeue', 'scontrol', 'scancel'] as const;

/** The path of an executable `name` on PATH, or undefined. */
export function findOnPath(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      if (statSync(file).isFile()) {
        accessSync(file, constants.X_OK);
        return file;
      }
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Throw a SlurmError unless Slurm's client commands are on PATH. Also rejects a SLURM_CONF that
 * names a missing file: the client commands would otherwise retry for 60 s before failing.
 */
export function detectSlurm(env: NodeJS.ProcessEnv = process.env): void {
  for (const cmd of SLURM_COMMANDS) {
    if (!findOnPath(cmd, env.PATH ?? '')) {
      throw new SlurmError(
        `--executor slurm needs a Slurm cluster: ${cmd} not found on PATH (${env.PATH ?? ''}). ` +
          'Run on a Slurm login node, or start a local single-node cluster with `scripts/local-slurm.sh start` (root, Debian/Ubuntu).',
        cmd,
      );
    }
  }
  const conf = env.SLURM_CONF;
  if (conf !== undefined && conf !== '' && !existsSync(conf)) {
    throw new SlurmError(
      `--executor slurm: SLURM_CONF=${conf} does not exist (is the local cluster started? scripts/local-slurm.sh start)`,
      'SLURM_CONF',
    );
  }
}
