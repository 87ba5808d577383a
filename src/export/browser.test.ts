/**
 * The TensorFlow.js export in a real browser: `prunebench export --format tfjs` output (unpruned,
 * compacted and masked models) and the tfjs bundle from node_modules are served over localhost,
 * headless Chromium loads each with tf.loadGraphModel, runs it on a fixed input and posts the
 * logits back; they must match prunebench's forward pass. Skipped (loudly) only when no Chromium
 * is installed.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveModel } from '../models/index.ts';
import { nodeModulesFile } from '../report/html.ts';
import { randomImages, useCpuBackend } from '../testing/tf.ts';
import { exportSavedModel } from './index.ts';
import { EXPORT_FAMILIES, exportVariants, relativeDifference } from './testing.ts';
import { TFJS_OUTPUT } from './tfjs.ts';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];
const BROWSER = CANDIDATES.find((p) => existsSync(p));
if (!BROWSER) {
  console.warn(
    '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' +
      `!!! SKIPPING the browser test of the TensorFlow.js export: no Chromium found at ${CANDIDATES.join(', ')}\n` +
      '!!! install one (Debian: apt-get install -y chromium) to run it.\n' +
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n',
  );
}

/** The page: load every exported model with tf.loadGraphModel, run it on /input.json, post the logits. */
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><script src="/tf.min.js"></script></head><body><script>
(async () => {
  const out = { results: {} };
  try {
    await tf.setBackend('cpu');
    const input = await (await fetch('/input.json')).json();
    const x = tf.tensor4d(input.values, input.shape);
    for (const v of input.variants) {
      const model = await tf.loadGraphModel('/models/' + v + '/model.json');
      const y = model.execute(x, input.output);
      out.results[v] = { shape: y.shape, values: Array.from(await y.data()) };
    }
    out.backend = tf.getBackend();
    out.version = tf.version.tfjs;
  } catch (e) {
    out.error = String((e && e.stack) || e);
  }
  await fetch('/result', { method: 'POST', body: JSON.stringify(out) });
  document.body.setAttribute('data-done', '1');
})();
</script></body></html>`;

interface PageResult {
  results: Record<string, { shape: number[]; values: number[] }>;
  backend?: string;
  version?: string;
  error?: string;
}

let work: string;
let server: Server | undefined;
beforeAll(async () => {
  await useCpuBackend();
  work = await mkdtemp(join(tmpdir(), 'pb-tfjs-browser-'));
});
afterAll(async () => {
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  // Chromium's helper processes may still write into the profile for a moment after it exits.
  await rm(work, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
});

/** Serves the page, the tfjs bundle, the exports under /models/ and the input; resolves with what the page posts. */
function serve(root: string, input: unknown): { started: Promise<number>; posted: Promise<PageResult> } {
  let resolvePosted!: (r: PageResult) => void;
  const posted = new Promise<PageResult>((r) => (resolvePosted = r));
  const bundle = nodeModulesFile('@tensorflow/tfjs', 'dist/tf.min.js');
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (status: number, type: string, body: string | Buffer): void => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.method === 'POST' && url.pathname === '/result') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        send(204, 'text/plain', '');
        resolvePosted(JSON.parse(body) as PageResult);
      });
      return;
    }
    if (url.pathname === '/') return send(200, 'text/html', PAGE);
    if (url.pathname === '/input.json') return send(200, 'application/json', JSON.stringify(input));
    if (url.pathname === '/favicon.ico') return send(404, 'text/plain', '');
    const file = url.pathname === '/tf.min.js' ? bundle : url.pathname.startsWith('/models/') ? normalize(join(root, url.pathname.slice('/models/'.length))) : null;
    if (file === null || (file !== bundle && !file.startsWith(root + sep))) return send(404, 'text/plain', 'not found');
    readFile(file).then(
      (data) => send(200, file.endsWith('.json') ? 'application/json' : file.endsWith('.js') ? 'text/javascript' : 'application/octet-stream', data),
      () => send(404, 'text/plain', 'not found'),
    );
  });
  const started = new Promise<number>((done) => server!.listen(0, '127.0.0.1', () => done((server!.address() as AddressInfo).port)));
  return { started, posted };
}

/** Headless Chromium on the page until it posts its result (or exits, or 90 s pass). */
async function runChromium(url: string, posted: Promise<PageResult>): Promise<PageResult> {
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${join(work, 'profile')}`, '--enable-logging=stderr', '--v=0', '--dump-dom', '--virtual-time-budget=60000', url];
  const child = spawn(BROWSER!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<'exited'>((done) => child.on('exit', () => done('exited')));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((done) => (timer = setTimeout(() => done('timeout'), 90_000)));
  try {
    const first = await Promise.race([posted, exited, timeout]);
    if (first === 'timeout') throw new Error(`Chromium posted no result within 90 s; its stderr:\n${stderr.slice(-3000)}`);
    if (first === 'exited') {
      // The post may still be on its way when the browser exits.
      const late = await Promise.race([posted, new Promise<null>((done) => setTimeout(() => done(null), 2000))]);
      if (late === null) throw new Error(`Chromium exited without posting a result; its stderr:\n${stderr.slice(-3000)}`);
      return late;
    }
    return first;
  } finally {
    clearTimeout(timer);
    // Gone before afterAll removes the profile folder, which it writes to as it exits.
    if (child.exitCode === null && child.signalCode === null) {
      child.kill();
      await Promise.race([exited, new Promise<void>((done) => setTimeout(done, 10_000))]);
    }
  }
}

describe.skipIf(!BROWSER)('the TensorFlow.js export in headless Chromium', () => {
  it('loads with tf.loadGraphModel (unpruned, compacted, masked) and gives prunebench logits (relative difference < 1e-4)', { timeout: 180_000 }, async () => {
    const spec = EXPORT_FAMILIES.find(([label]) => label === 'resnet56')![1];
    const variants = exportVariants(spec);
    const x = randomImages(3, spec.input.height, spec.input.width, spec.input.channels, 11);
    const expected = new Map<string, { shape: number[]; values: Float32Array }>();
    const root = join(work, 'models');
    try {
      for (const [variant, model] of variants) {
        const y = model.forward(x, false).logits;
        expected.set(variant, { shape: y.shape, values: (await y.data()) as Float32Array });
        y.dispose();
        // Through the export command's own path: a saved model folder to a tfjs folder.
        await saveModel(join(work, 'saved', variant), model);
        await exportSavedModel({ weights: join(work, 'saved', variant), format: 'tfjs', out: join(root, variant) });
      }
      const input = { shape: x.shape, values: Array.from(await x.data()), variants: [...expected.keys()], output: TFJS_OUTPUT };
      const { started, posted } = serve(root, input);
      const port = await started;
      const page = await runChromium(`http://127.0.0.1:${port}/`, posted);
      expect(page.error).toBeUndefined();
      expect(page.backend).toBe('cpu');
      for (const [variant, want] of expected) {
        const got = page.results[variant];
        expect(got, variant).toBeDefined();
        expect(got!.shape, variant).toEqual(want.shape);
        expect(relativeDifference(got!.values, want.values), variant).toBeLessThan(1e-4);
      }
    } finally {
      for (const [, m] of variants) m.dispose();
      x.dispose();
    }
  });
});
