/**
 * Where a data set's files are looked for, in order:
 *  1. `dataDir` (the CLI's --data-dir): authoritative; if the files are not there, that is an error.
 *  2. env PRUNEBENCH_DATA_DIR: authoritative in the same way (an explicit folder never falls back).
 *  3. the project's datasets/ folder (`cacheDir`), under the official extracted folder name
 *     (datasets/cifar-10-batches-bin, datasets/cifar-100-binary) or the short name
 *     (datasets/cifar10, datasets/cifar-10, ...).
 *  4. system folders where an OS package installs the files (Fashion-MNIST: Debian's
 *     dataset-fashion-mnist puts them in /usr/share/datasets/fashion-mnist).
 * Each folder in 1-2 may be the data folder itself or a root holding it under one of the names in 3.
 * A folder that holds some but not all files is chosen anyway, so the reader names the missing file.
 */
import { join, resolve, sep } from 'node:path';
import { REPO_ROOT } from '../util/repo.ts';
import { fileSize } from './files.ts';
import { findIdxFile, idxFileNames } from './idx.ts';
import type { FileDatasetSpec } from './names.ts';

/** The project's datasets/ folder (next to src/), independent of the working directory. */
export const DEFAULT_DATASETS_DIR = join(REPO_ROOT, 'datasets') + sep;

export type SourceOrigin = 'data-dir' | 'env' | 'datasets' | 'system';

export interface Candidate {
  dir: string;
  origin: SourceOrigin;
}

export interface LocateOptions {
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  cacheDir?: string;
  /** Also look in OS-package folders (default true). */
  searchSystemDirs?: boolean;
}

export function candidateDirs(spec: FileDatasetSpec, opts: LocateOptions): Candidate[] {
  const out: Candidate[] = [];
  const withSubfolders = (root: string, origin: SourceOrigin) => {
    out.push({ dir: resolve(root), origin });
    for (const f of spec.folderNames) out.push({ dir: resolve(root, f), origin });
  };
  if (opts.dataDir) {
    withSubfolders(opts.dataDir, 'data-dir');
    return out;
  }
  const envDir = (opts.env ?? process.env).PRUNEBENCH_DATA_DIR;
  if (envDir) {
    withSubfolders(envDir, 'env');
    return out;
  }
  const root = opts.cacheDir ?? DEFAULT_DATASETS_DIR;
  for (const f of spec.folderNames) out.push({ dir: resolve(root, f), origin: 'datasets' });
  if (spec.format === 'idx' && opts.searchSystemDirs !== false) for (const d of spec.systemDirs) out.push({ dir: d, origin: 'system' });
  return out;
}

/** How many of the data set's required data files `dir` holds (0 = not this data set's folder). */
export async function countPresent(spec: FileDatasetSpec, dir: string): Promise<number> {
  let n = 0;
  if (spec.format === 'cifar-binary') {
    for (const f of [...spec.trainFiles, ...spec.testFiles]) if ((await fileSize(join(dir, f))) !== null) n++;
  } else {
    for (const f of idxFileNames(spec)) if (await findIdxFile(dir, f)) n++;
  }
  return n;
}

/** The first candidate folder holding any of the data files, or null. */
export async function locateDataset(spec: FileDatasetSpec, opts: LocateOptions): Promise<Candidate | null> {
  for (const c of candidateDirs(spec, opts)) {
    if ((await countPresent(spec, c.dir)) > 0) return c;
  }
  return null;
}

/** The file list a user must provide, for error messages. */
export function requiredFilesText(spec: FileDatasetSpec): string {
  if (spec.format === 'cifar-binary') {
    const meta = [spec.metaFile, spec.coarseMetaFile].filter(Boolean).join(', ');
    return `${[...spec.trainFiles, ...spec.testFiles].join(', ')} (and optionally ${meta})`;
  }
  return idxFileNames(spec)
    .map((f) => `${f}.gz`)
    .join(', ');
}
