/**
 * Downloads of the official data files: stream to `<dest>.part` while hashing, verify the md5,
 * then rename. A file without `.part` is therefore always complete and verified. Archives are
 * extracted into a temporary folder next to the destination and renamed into place at the end,
 * so a half-extracted folder never looks like a data set.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { DatasetError } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import { createProgress, formatBytes } from '../util/progress.ts';
import { ensureDir } from '../util/fs.ts';

export interface ProgressSink {
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  isTTY?: boolean;
}

export interface DownloadFileOptions {
  url: string;
  /** Final path; the data is written to `${dest}.part` first. */
  dest: string;
  md5: string;
  /** Size to show progress against when the server sends no Content-Length. */
  expectedBytes?: number;
  logger: Logger;
  progress?: ProgressSink;
  /** Abort when no byte arrives for this long (default 60 s). */
  idleTimeoutMs?: number;
}

export async function md5File(path: string): Promise<string> {
  const h = createHash('md5');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

/** Downloads `url` to `dest`, verifying the md5. Throws DatasetError (naming url and dest) on failure. */
export async function downloadFile(opts: DownloadFileOptions): Promise<{ bytes: number; seconds: number }> {
  const part = `${opts.dest}.part`;
  await ensureDir(dirname(opts.dest));
  const idleMs = opts.idleTimeoutMs ?? 60_000;
  const controller = new AbortController();
  let idleTimer: NodeJS.Timeout | undefined;
  const armIdle = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => controller.abort(new Error(`no data for ${idleMs / 1000} s`)), idleMs);
  };
  const t0 = performance.now();
  let received = 0;
  const hash = createHash('md5');
  try {
    armIdle();
    let res: Response;
    try {
      res = await fetch(opts.url, { signal: controller.signal, redirect: 'follow' });
    } catch (e) {
      throw new DatasetError(`Download of ${opts.url} failed: ${describeFetchError(e)}.`, opts.dest);
    }
    if (!res.ok || !res.body) {
      throw new DatasetError(`Download of ${opts.url} failed: HTTP ${res.status} ${res.statusText}.`, opts.dest);
    }
    const lengthHeader = Number(res.headers.get('content-length'));
    const total = Number.isFinite(lengthHeader) && lengthHeader > 0 ? lengthHeader : (opts.expectedBytes ?? 0);
    opts.logger.info(`Downloading ${opts.url} (${total > 0 ? formatBytes(total) : 'size unknown'}) to ${opts.dest}`);
    const progress = createProgress({
      label: basename(opts.dest),
      total,
      unit: 'B',
      stream: opts.progress?.stream,
      isTTY: opts.progress?.isTTY,
    });
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('data', (chunk: Buffer) => {
      armIdle();
      received += chunk.length;
      hash.update(chunk);
      progress.update(received);
    });
    try {
      await pipeline(body, createWriteStream(part));
    } catch (e) {
      progress.fail(describeFetchError(e));
      throw new DatasetError(
        `Download of ${opts.url} failed after ${formatBytes(received)}: ${describeFetchError(e)}.`,
        opts.dest,
      );
    }
    progress.finish();
    if (total > 0 && lengthHeader > 0 && received !== lengthHeader) {
      throw new DatasetError(
        `Download of ${opts.url} stopped at ${received} of ${lengthHeader} bytes.`,
        opts.dest,
      );
    }
    const got = hash.digest('hex');
    if (got !== opts.md5.toLowerCase()) {
      throw new DatasetError(
        `md5 mismatch for ${opts.url}: expected ${opts.md5}, got ${got} (${received} bytes). ` +
          `The download was discarded; try again, or fetch the file by hand and check it with md5sum.`,
        opts.dest,
      );
    }
    await rename(part, opts.dest);
    return { bytes: received, seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    await rm(part, { force: true });
    throw e;
  } finally {
    clearTimeout(idleTimer);
  }
}

function describeFetchError(e: unknown): string {
  const err = e as Error & { cause?: Error & { code?: string } };
  const cause = err.cause ? `${err.cause.code ?? ''} ${err.cause.message ?? ''}`.trim() : '';
  return cause ? `${err.message} (${cause})` : err.message;
}

/**
 * Extracts `archive` (.tar.gz) and moves its top folder `folder` to `destRoot/folder`.
 * The extraction happens in a temporary folder under destRoot so a failure leaves nothing behind.
 */
export async function extractTarGz(opts: { archive: string; destRoot: string; folder: string; logger: Logger }): Promise<string> {
  const final = join(opts.destRoot, opts.folder);
  if (await exists(final)) {
    throw new DatasetError(`Cannot extract ${opts.archive}: ${final} already exists; remove it and try again.`, final);
  }
  await ensureDir(opts.destRoot);
  const tmp = await mkdtemp(join(opts.destRoot, '.extract-'));
  try {
    opts.logger.info(`Extracting ${opts.archive}`);
    try {
      // tar refuses absolute paths and '..' entries unless preservePaths is set.
      await tar.x({ file: opts.archive, cwd: tmp, strict: true });
    } catch (e) {
      throw new DatasetError(`Cannot extract ${opts.archive}: ${(e as Error).message}`, opts.archive);
    }
    const inner = join(tmp, opts.folder);
    if (!(await exists(inner))) {
      throw new DatasetError(`${opts.archive} does not contain the folder ${opts.folder}/ expected at its top.`, opts.archive);
    }
    await rename(inner, final);
    return final;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
