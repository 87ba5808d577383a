/**
 * Shared plumbing of the file readers: the result shape, the fingerprint hasher and small
 * file helpers that turn fs errors into DatasetErrors naming the path.
 */
import { createHash, type Hash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { DatasetError } from '../util/errors.ts';
import type { ImageSplit } from './types.ts';

/** One data file as read: where, how big, how many records. */
export interface DataFileInfo {
  path: string;
  /** Name used in the fingerprint (for .gz files: the name without .gz). */
  name: string;
  /** Bytes on disk. */
  bytes: number;
  records: number;
  split: 'train' | 'test';
}

/** What a folder reader returns: both splits plus everything a check report needs. */
export interface LoadedFiles {
  dir: string;
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  train: ImageSplit;
  test: ImageSplit;
  classNames: string[];
  classNamesFrom: 'file' | 'built-in';
  coarseClassNames?: string[];
  files: DataFileInfo[];
  fingerprint: string;
  /** True when every file holds the official number of records. */
  officialCounts: boolean;
  warnings: string[];
  seconds: { read: number; hash: number; decode: number };
}

/**
 * sha256 over (name, bytes) of each data file, fed in a fixed order. The first 16 hex digits
 * are the data set's fingerprint, recorded in every result row.
 */
export class Fingerprinter {
  private readonly hash: Hash = createHash('sha256');
  seconds = 0;

  add(name: string, bytes: Uint8Array): void {
    const t0 = performance.now();
    this.hash.update(`${name}\n${bytes.length}\n`);
    this.hash.update(bytes);
    this.seconds += (performance.now() - t0) / 1000;
  }

  digest(): string {
    return this.hash.digest('hex').slice(0, 16);
  }
}

export async function fileSize(path: string): Promise<number | null> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : null;
  } catch {
    return null;
  }
}

export async function readDataFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DatasetError(`Missing data file ${path}.`, path);
    throw new DatasetError(`Cannot read data file ${path}: ${(e as Error).message}`, path);
  }
}

/** Class names from a text file, one per line; null when the file does not exist. */
export async function readClassNames(path: string, expected: number): Promise<string[] | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new DatasetError(`Cannot read class-name file ${path}: ${(e as Error).message}`, path);
  }
  const names = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (names.length !== expected) {
    throw new DatasetError(
      `Class-name file ${path} has ${names.length} non-empty lines; expected ${expected} class names, one per line.`,
      path,
    );
  }
  return names;
}

export function secondsSince(t0: number): number {
  return (performance.now() - t0) / 1000;
}
