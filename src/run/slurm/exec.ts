import { execFile } from 'node:child_process';
import { shellJoin } from './quote.ts';

export interface CommandResult {
  /** Exit code; 127 when the command could not be started, 124 when it timed out. */
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a Slurm client command without a shell (arguments need no quoting). Never throws. */
export function runCommand(cmd: string, args: readonly string[], timeoutMs = 60_000): Promise<CommandResult> {
  return new Promise((done) => {
    execFile(cmd, [...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return done({ code: 0, stdout, stderr });
      const e = err as NodeJS.ErrnoException & { code?: unknown; killed?: boolean };
      const line = shellJoin([cmd, ...args]);
      if (typeof e.code === 'string') return done({ code: 127, stdout: '', stderr: `${line}: ${e.message}` });
      if (e.killed) return done({ code: 124, stdout, stderr: `${stderr}${line}: timed out after ${timeoutMs} ms` });
      done({ code: typeof e.code === 'number' ? e.code : 1, stdout, stderr: stderr || e.message });
    });
  });
}
