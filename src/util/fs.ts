import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** mkdir's error for a path through a file, naming the path asked for and the file in the way (the CLI prints both). */
function notAFolder(path: string, file: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOTDIR: ${file === path ? 'not a directory' : `${file} is not a directory`}, mkdir '${path}'`), { code: 'ENOTDIR', syscall: 'mkdir', path });
}

const codeOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

/** stat's answer for the walk: a folder, not one, or missing (ENOTDIR: a file further up, which the walk reaches and names). */
function folderState(stat: () => { isDirectory(): boolean }): boolean | null {
  try {
    return stat().isDirectory();
  } catch (e) {
    if (codeOf(e) === 'ENOENT' || codeOf(e) === 'ENOTDIR') return null;
    throw e;
  }
}

/**
 * The walk of ensureDir and ensureDirSync, free of their I/O: yields each path from `path` up to
 * the nearest existing folder, is sent whether it is a folder (null: missing), and returns the
 * folders to create, outermost first.
 */
function* missingFolders(path: string): Generator<string, string[], boolean | null> {
  const target = resolve(path);
  const missing: string[] = [];
  for (let p = target; ; p = dirname(p)) {
    const isDir = yield p;
    if (isDir === false) throw notAFolder(target, p);
    if (isDir) break;
    missing.push(p);
    if (dirname(p) === p) break;
  }
  return missing.reverse();
}

/**
 * `mkdir -p` that cannot hang. Node's recursive mkdir loops forever where mkdir answers ENOENT
 * under a folder that exists (`/proc/x`, for root): these create the missing folders one at a
 * time from the nearest existing one, so such a failure surfaces as mkdir's own error.
 */
export function ensureDirSync(path: string): void {
  const walk = missingFolders(path);
  let step = walk.next();
  while (!step.done) step = walk.next(folderState(() => statSync(step.value as string)));
  for (const d of step.value) {
    try {
      mkdirSync(d);
    } catch (e) {
      // EEXIST: made meanwhile by another process, fine if it is a folder
      if (codeOf(e) !== 'EEXIST' || !statSync(d).isDirectory()) throw e;
    }
  }
}

/** ensureDirSync, asynchronously. */
export async function ensureDir(path: string): Promise<void> {
  const walk = missingFolders(path);
  let step = walk.next();
  while (!step.done) {
    const at = step.value;
    const st = await stat(at).catch((e: unknown) => e as Error);
    step = walk.next(folderState(() => {
      if (st instanceof Error) throw st;
      return st;
    }));
  }
  for (const d of step.value) {
    try {
      await mkdir(d);
    } catch (e) {
      if (codeOf(e) !== 'EEXIST' || !(await stat(d)).isDirectory()) throw e;
    }
  }
}

/** A temporary name beside `path`, unique to this process and call. */
function tmpBeside(path: string): string {
  return `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
}

/**
 * Writes a file atomically (its folder created if missing): a crash or a concurrent reader sees
 * the old file or the new one, never half of one; a failed write leaves no temporary file behind.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode?: number): Promise<void> {
  await ensureDir(dirname(path));
  const tmp = tmpBeside(path);
  try {
    await writeFile(tmp, data, mode === undefined ? {} : { mode });
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** writeFileAtomic, synchronously. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, mode?: number): void {
  ensureDirSync(dirname(path));
  const tmp = tmpBeside(path);
  try {
    writeFileSync(tmp, data, mode === undefined ? {} : { mode });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
