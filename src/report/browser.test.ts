/**
 * End-to-end: the generated index.html renders in a real headless Chromium, offline, with no
 * console output and every figure drawn. Skipped (loudly) only when no Chromium is installed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../util/log.ts';
import { buildReport } from './index.ts';
import { rasterize } from './render.ts';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];
const BROWSER = CANDIDATES.find((p) => existsSync(p));
if (!BROWSER) {
  console.warn(
    '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' +
      `!!! SKIPPING the browser test of index.html: no Chromium found at ${CANDIDATES.join(', ')}\n` +
      '!!! install one (Debian: apt-get install -y chromium) to run it.\n' +
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n',
  );
}

const FIXTURES = fileURLToPath(new URL('./fixtures/results/', import.meta.url));

/** Run chromium, capturing stderr too (console messages are logged there). */
function chromiumWithLog(args: string[], profile: string): { stdout: string; stderr: string } {
  const logFile = join(profile, '..', 'chromium-stderr.log');
  const shell = `${JSON.stringify(BROWSER)} ${[
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--enable-logging=stderr', '--v=0',
    '--virtual-time-budget=20000', '--run-all-compositor-stages-before-draw', '--hide-scrollbars', ...args,
  ].map((a) => JSON.stringify(a)).join(' ')} 2>${JSON.stringify(logFile)}`;
  const stdout = execFileSync('/bin/sh', ['-c', shell], { encoding: 'utf8', timeout: 90_000, maxBuffer: 64 << 20 });
  return { stdout, stderr: readFileSync(logFile, 'utf8') };
}

describe.skipIf(!BROWSER)('index.html in headless Chromium', () => {
  it('renders every figure with no console messages, and a screenshot shows charts', async () => {
    const work = mkdtempSync(join(tmpdir(), 'pb-browser-'));
    const r = await buildReport({ experiment: 'rethinking-slimming', resultsDir: FIXTURES, outDir: join(work, 'reports'), logger: silentLogger });
    const url = pathToFileURL(join(r.dir, 'index.html')).href;

    const { stdout: dom, stderr } = chromiumWithLog(['--dump-dom', url], join(work, 'profile-dom'));
    const rendered = Number(/data-rendered="(\d+)"/.exec(dom)?.[1] ?? -1);
    const figures = Number(/data-figures="(\d+)"/.exec(dom)?.[1] ?? -2);
    // Every figure the report wrote (one .vl.json each) is on the page: 8 for this fixture since
    // the effect-size figure joined the seven before it.
    const written = r.files.filter((f) => f.endsWith('.vl.json')).length;
    expect(written).toBe(8);
    expect(figures).toBe(written);
    expect(rendered).toBe(figures);
    // vega-embed drew one SVG chart per figure (its class names the marks group)
    const charts = (dom.match(/<svg[^>]*class="marks"/g) ?? []).length;
    expect(charts).toBe(figures);
    expect(dom).not.toMatch(/<p class="error">Could not render/);
    const consoleLines = stderr.split('\n').filter((l) => l.includes(':CONSOLE'));
    expect(consoleLines).toEqual([]);

    const shot = join(work, 'screenshot.png');
    chromiumWithLog([`--screenshot=${shot}`, '--window-size=1400,1800', url], join(work, 'profile-shot'));
    const png = readFileSync(shot);
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    // decode through resvg (an <image> of the screenshot) and check it is not a blank page
    const width = png.readUInt32BE(16);
    const height = png.readUInt32BE(20);
    const raster = rasterize(
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><image width="${width}" height="${height}" href="data:image/png;base64,${png.toString('base64')}"/></svg>`,
      1,
    );
    let coloured = 0;
    for (let i = 0; i < raster.pixels.length; i += 4) {
      const [R, G, B] = [raster.pixels[i]!, raster.pixels[i + 1]!, raster.pixels[i + 2]!];
      if (Math.max(R, G, B) - Math.min(R, G, B) > 60) coloured++; // chart colours, not greys
    }
    expect(coloured).toBeGreaterThan(2000);
    if (process.env.PRUNEBENCH_KEEP_SCREENSHOT) execFileSync('cp', [shot, process.env.PRUNEBENCH_KEEP_SCREENSHOT]);
    rmSync(work, { recursive: true, force: true });
  });
});
