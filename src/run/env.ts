import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { RunEnvironment } from '../protocols/index.ts';
import { REPO_ROOT } from '../util/repo.ts';

export { REPO_ROOT };
export const BIN = join(REPO_ROOT, 'bin', 'prunebench.js');

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** Commit, dirty flag, versions: carried by every result row. */
export function runEnvironment(backend: string): RunEnvironment {
  const commit = git(['rev-parse', 'HEAD']) ?? 'unknown';
  // Result files written by the run itself do not make the code dirty.
  const status = git(['status', '--porcelain', '--untracked-files=no', '--', 'src', 'experiments', 'package.json', 'package-lock.json']);
  return { backend, tfjsVersion: tf.version_core, nodeVersion: process.version, gitCommit: commit, gitDirty: status === null ? true : status.length > 0 };
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}
