/**
 * loadDataset: find the files (see locate.ts), download them if allowed and absent, read and
 * validate them, and return the data set with its fingerprint and normalisation.
 */
import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { DatasetError } from '../util/errors.ts';
import { stderrLogger, type Logger } from '../util/log.ts';
import { readCifarDir } from './cifar.ts';
import { downloadFile, extractTarGz, md5File, type ProgressSink } from './download.ts';
import { fileSize, type LoadedFiles } from './files.ts';
import { readIdxDir } from './idx.ts';
import { candidateDirs, locateDataset, requiredFilesText, DEFAULT_DATASETS_DIR, type Candidate } from './locate.ts';
import { fileDatasetSpec, parseDatasetName, type DatasetName, type FileDatasetSpec } from './names.ts';
import { syntheticDataset, type SyntheticDatasetOptions } from './synthetic.ts';
import type { ImageDataset } from './types.ts';

export interface LoadDatasetOptions {
  name: DatasetName | string;
  /** --data-dir: the folder holding the files, or a root holding the official extracted folder. */
  dataDir?: string;
  /** Download the official files when they are not found (default true). */
  download?: boolean;
  /** Base URL of the download (default: the official site; env PRUNEBENCH_DATA_URL). */
  downloadUrl?: string;
  /** md5 to expect per downloaded file name, overriding the published one (mirrors with re-packed archives, tests). */
  expectedMd5?: Record<string, string>;
  /** The datasets/ folder: searched as datasets/<name>/, and where downloads are stored and extracted. */
  cacheDir?: string;
  /** Also look in OS-package folders such as /usr/share/datasets/fashion-mnist (default true). */
  searchSystemDirs?: boolean;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
  /** Where the download progress goes (default stderr). */
  progress?: ProgressSink;
  /** Fail (instead of warning) when the files do not hold the official record counts. */
  requireOfficialCounts?: boolean;
  /** For name 'synthetic': the generator's options (defaults: 10 classes, 2000 train, 500 test, seed 0). */
  synthetic?: Partial<SyntheticDatasetOptions>;
}

export const DEFAULT_SYNTHETIC: SyntheticDatasetOptions = { numClasses: 10, trainCount: 2000, testCount: 500, seed: 0 };

export interface LoadedDataset extends ImageDataset {
  /** How the source was found. */
  origin: Candidate['origin'] | 'download' | 'memory';
}

/** Reads an already located folder. */
export async function readDatasetDir(
  spec: FileDatasetSpec,
  dir: string,
  opts: { logger: Logger; requireOfficialCounts?: boolean },
): Promise<LoadedFiles> {
  return spec.format === 'cifar-binary' ? readCifarDir(spec, dir, opts) : readIdxDir(spec, dir, opts);
}

export function toDataset(spec: FileDatasetSpec, files: LoadedFiles, origin: LoadedDataset['origin']): LoadedDataset {
  return {
    name: spec.name,
    classNames: files.classNames,
    classNamesFrom: files.classNamesFrom,
    numClasses: files.numClasses,
    height: files.height,
    width: files.width,
    channels: files.channels,
    train: files.train,
    test: files.test,
    fingerprint: files.fingerprint,
    source: files.dir,
    mean: spec.mean,
    std: spec.std,
    origin,
    ...(files.coarseClassNames ? { coarseClassNames: files.coarseClassNames } : {}),
  };
}

export async function loadDataset(opts: LoadDatasetOptions): Promise<LoadedDataset> {
  const name = parseDatasetName(opts.name);
  const logger = opts.logger ?? stderrLogger;
  if (name === 'synthetic') {
    return { ...syntheticDataset({ ...DEFAULT_SYNTHETIC, ...opts.synthetic }), origin: 'memory' };
  }
  const spec = fileDatasetSpec(name);
  const { dir, origin } = await findOrDownload(spec, opts, logger);
  const files = await readDatasetDir(spec, dir, { logger, requireOfficialCounts: opts.requireOfficialCounts });
  logger.info(
    `${spec.title}: ${files.train.count} train + ${files.test.count} test images from ${dir} (fingerprint ${files.fingerprint})`,
  );
  return toDataset(spec, files, origin);
}

/** The folder to read: located, or downloaded when allowed; else a DatasetError saying what to put where. */
export async function findOrDownload(
  spec: FileDatasetSpec,
  opts: Omit<LoadDatasetOptions, 'name'>,
  logger: Logger,
): Promise<{ dir: string; origin: LoadedDataset['origin'] }> {
  const env = opts.env ?? process.env;
  const where = { dataDir: opts.dataDir, env, cacheDir: opts.cacheDir, searchSystemDirs: opts.searchSystemDirs };
  const found = await locateDataset(spec, where);
  if (found) return found;
  const cacheDir = opts.cacheDir ?? DEFAULT_DATASETS_DIR;
  const looked = candidateDirs(spec, { ...where, cacheDir }).map((c) => `  ${c.dir} (${c.origin})`);
  const target = join(cacheDir, spec.format === 'cifar-binary' ? spec.archiveFolder : spec.folderNames[0]!);
  const baseUrl = (opts.downloadUrl ?? env.PRUNEBENCH_DATA_URL ?? spec.officialBaseUrl).replace(/\/+$/, '');
  const remote = spec.format === 'cifar-binary' ? [spec.archive] : spec.remoteFiles;
  const how =
    `Put ${requiredFilesText(spec)} into ${target}/, or pass --data-dir DIR (or set PRUNEBENCH_DATA_DIR) ` +
    `to the folder holding them. Official files: ` +
    remote.map((r) => `${spec.officialBaseUrl}/${r.file} (md5 ${r.md5})`).join(', ') +
    (spec.format === 'cifar-binary' ? `; extract the archive in ${cacheDir}.` : `.`) +
    (spec.name === 'fashion-mnist' ? ' On Debian: apt-get install dataset-fashion-mnist.' : '');

  if (opts.dataDir) {
    throw new DatasetError(`${spec.title} files not found in --data-dir ${opts.dataDir}. Looked in:\n${looked.join('\n')}\n${how}`, opts.dataDir);
  }
  if (env.PRUNEBENCH_DATA_DIR) {
    const dir = env.PRUNEBENCH_DATA_DIR;
    const missing = existsSync(dir) ? '' : ' (no such folder)';
    throw new DatasetError(`${spec.title} files not found in PRUNEBENCH_DATA_DIR=${dir}${missing}; unset it to use datasets/. Looked in:\n${looked.join('\n')}\n${how}`, dir);
  }
  if (opts.download === false) {
    throw new DatasetError(`${spec.title} files not found and downloading is off. Looked in:\n${looked.join('\n')}\n${how}`, target);
  }
  try {
    await downloadInto(spec, { ...opts, cacheDir, baseUrl, target }, logger);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new DatasetError(
      `${spec.title} files not found, and the download failed: ${reason}\nLooked in:\n${looked.join('\n')}\n${how}`,
      target,
    );
  }
  return { dir: target, origin: 'download' };
}

async function downloadInto(
  spec: FileDatasetSpec,
  opts: Omit<LoadDatasetOptions, 'name'> & { cacheDir: string; baseUrl: string; target: string },
  logger: Logger,
): Promise<void> {
  const md5Of = (file: string, published: string) => opts.expectedMd5?.[file] ?? published;
  if (spec.format === 'cifar-binary') {
    const archivePath = join(opts.cacheDir, spec.archive.file);
    const md5 = md5Of(spec.archive.file, spec.archive.md5);
    // A complete archive from an earlier run (it is only ever renamed into place after its md5
    // matched) is re-checked and reused.
    if ((await fileSize(archivePath)) !== null && (await md5File(archivePath)) === md5) {
      logger.info(`Using the verified archive ${archivePath}`);
    } else {
      await downloadFile({
        url: `${opts.baseUrl}/${spec.archive.file}`,
        dest: archivePath,
        md5,
        expectedBytes: spec.archive.bytes,
        logger,
        progress: opts.progress,
      });
    }
    await extractTarGz({ archive: archivePath, destRoot: opts.cacheDir, folder: spec.archiveFolder, logger });
    return;
  }
  // Plain files go to <target>.part/ (each renamed there only once verified; kept across failed
  // runs) and the folder is renamed to <target> once all of them are in.
  const partDir = `${opts.target}.part`;
  for (const r of spec.remoteFiles) {
    const dest = join(partDir, r.file);
    if ((await fileSize(dest)) !== null) continue;
    await downloadFile({ url: `${opts.baseUrl}/${r.file}`, dest, md5: md5Of(r.file, r.md5), logger, progress: opts.progress });
  }
  await rename(partDir, opts.target);
}
