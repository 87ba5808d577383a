import { createHash } from 'node:crypto';
import { readFile, readdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError } from '../util/errors.ts';
import { silentLogger } from '../util/log.ts';
import { loadDataset, writeSyntheticCifar, writeSyntheticFashionMnist } from './index.ts';

let root: string;
let server: Server;
let baseUrl: string;
const served = new Map<string, Buffer>();
let requests: string[] = [];
let archiveMd5: string;
let writtenTrainLabels: number[];

/** A stream that collects what is written to it (a non-TTY progress sink). */
function collector(): { stream: NodeJS.WritableStream; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pb-dl-'));
  // A synthetic CIFAR-10 in the official archive layout: cifar-10-batches-bin/ at the top.
  const src = join(root, 'src');
  const w = await writeSyntheticCifar(join(src, 'cifar-10-batches-bin'), { kind: 'cifar10', trainPerFile: 40, testCount: 20, seed: 4 });
  writtenTrainLabels = Array.from(w.train.labels);
  const archive = join(root, 'cifar-10-binary.tar.gz');
  await tar.c({ gzip: true, file: archive, cwd: src, portable: true }, ['cifar-10-batches-bin']);
  const bytes = await readFile(archive);
  archiveMd5 = createHash('md5').update(bytes).digest('hex');
  served.set('/mirror/cifar-10-binary.tar.gz', bytes);
  const fm = join(root, 'fm');
  await writeSyntheticFashionMnist(fm, { trainCount: 20, testCount: 10, seed: 2 });
  for (const f of await readdir(fm)) served.set(`/mirror/${f}`, await readFile(join(fm, f)));

  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = served.get(req.url ?? '');
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' });
    // Several chunks, so progress sees intermediate values.
    const step = Math.ceil(body.length / 8);
    for (let o = 0; o < body.length; o += step) res.write(body.subarray(o, o + step));
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mirror`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(root, { recursive: true, force: true });
});

describe('download (loopback server)', () => {
  it('md5 mismatch: DatasetError, no archive and no .part left, nothing extracted', async () => {
    const cache = await mkdtemp(join(root, 'cache-'));
    requests = [];
    // The published md5 of the real archive cannot match the synthetic one.
    const err = await loadDataset({
      name: 'cifar10',
      env: {},
      cacheDir: cache,
      downloadUrl: baseUrl,
      logger: silentLogger,
      progress: { stream: collector().stream },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    const msg = (err as Error).message;
    expect(msg).toContain('md5 mismatch');
    expect(msg).toContain(`expected c32a1d4ab5d03f1284b67883e8d87530, got ${archiveMd5}`);
    expect(msg).toContain('data_batch_1.bin'); // still says which files to put where
    expect((err as DatasetError).file).toBe(join(cache, 'cifar-10-batches-bin'));
    expect(requests).toEqual(['/mirror/cifar-10-binary.tar.gz']);
    expect(await readdir(cache)).toEqual([]);
  });

  it('success via PRUNEBENCH_DATA_URL: progress shown, archive verified, extracted and loadable', async () => {
    const cache = await mkdtemp(join(root, 'cache-'));
    const progress = collector();
    const ds = await loadDataset({
      name: 'cifar10',
      env: { PRUNEBENCH_DATA_URL: `${baseUrl}/` },
      cacheDir: cache,
      expectedMd5: { 'cifar-10-binary.tar.gz': archiveMd5 },
      logger: silentLogger,
      progress: { stream: progress.stream, isTTY: false },
    });
    expect(ds.origin).toBe('download');
    expect(ds.source).toBe(join(cache, 'cifar-10-batches-bin'));
    expect(Array.from(ds.train.labels)).toEqual(writtenTrainLabels);
    expect((await readdir(cache)).sort()).toEqual(['cifar-10-batches-bin', 'cifar-10-binary.tar.gz']);
    const size = served.get('/mirror/cifar-10-binary.tar.gz')!.length;
    const text = progress.text();
    expect(text).toContain('cifar-10-binary.tar.gz:');
    expect(text).toContain('(done)');
    expect(text).toContain('100.0%');
    expect(text.split('\n').filter((l) => l.includes('%')).length).toBeGreaterThan(2);
    expect(text).toContain(`${(size / 1000).toFixed(1)} kB`);

    // A second load finds the extracted folder and downloads nothing.
    requests = [];
    const again = await loadDataset({ name: 'cifar10', env: {}, cacheDir: cache, downloadUrl: baseUrl, logger: silentLogger });
    expect(again.origin).toBe('datasets');
    expect(again.fingerprint).toBe(ds.fingerprint);
    expect(requests).toEqual([]);

    // With the folder removed, the verified archive is re-extracted without downloading.
    await rm(join(cache, 'cifar-10-batches-bin'), { recursive: true });
    const third = await loadDataset({
      name: 'cifar10',
      env: {},
      cacheDir: cache,
      downloadUrl: baseUrl,
      expectedMd5: { 'cifar-10-binary.tar.gz': archiveMd5 },
      logger: silentLogger,
      progress: { stream: collector().stream },
    });
    expect(third.fingerprint).toBe(ds.fingerprint);
    expect(requests).toEqual([]);
  });

  it('HTTP 404 and an unreachable server give a DatasetError with the URL', async () => {
    const cache = await mkdtemp(join(root, 'cache-'));
    const e404 = await loadDataset({
      name: 'cifar100',
      env: {},
      cacheDir: cache,
      downloadUrl: baseUrl,
      logger: silentLogger,
      progress: { stream: collector().stream },
    }).catch((e: unknown) => e);
    expect(e404).toBeInstanceOf(DatasetError);
    expect((e404 as Error).message).toContain(`${baseUrl}/cifar-100-binary.tar.gz failed: HTTP 404`);
    expect((e404 as Error).message).toContain('train.bin, test.bin');
    // A port nobody listens on (the test server's, after closing a second server there).
    const tmp = createServer();
    await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
    const port = (tmp.address() as AddressInfo).port;
    await new Promise<void>((r) => tmp.close(() => r()));
    const eConn = await loadDataset({
      name: 'cifar10',
      env: {},
      cacheDir: cache,
      downloadUrl: `http://127.0.0.1:${port}`,
      logger: silentLogger,
    }).catch((e: unknown) => e);
    expect(eConn).toBeInstanceOf(DatasetError);
    expect((eConn as Error).message).toMatch(/download failed: Download of http:\/\/127\.0\.0\.1:\d+\/cifar-10-binary\.tar\.gz failed/);
    expect(await readdir(cache)).toEqual([]);
  });

  it('Fashion-MNIST: four verified files, folder renamed into place when complete', async () => {
    const cache = await mkdtemp(join(root, 'cache-'));
    const md5 = Object.fromEntries(
      [...served].filter(([k]) => k.includes('idx')).map(([k, v]) => [k.replace('/mirror/', ''), createHash('md5').update(v).digest('hex')]),
    );
    const ds = await loadDataset({
      name: 'fashion-mnist',
      env: {},
      cacheDir: cache,
      downloadUrl: baseUrl,
      expectedMd5: md5,
      searchSystemDirs: false, // a Debian copy in /usr/share would be found before any download
      logger: silentLogger,
      progress: { stream: collector().stream },
    });
    expect([ds.origin, ds.source, ds.train.count]).toEqual(['download', join(cache, 'fashion-mnist'), 20]);
    expect((await readdir(join(cache, 'fashion-mnist'))).sort()).toEqual([
      't10k-images-idx3-ubyte.gz',
      't10k-labels-idx1-ubyte.gz',
      'train-images-idx3-ubyte.gz',
      'train-labels-idx1-ubyte.gz',
    ]);
  });
});
