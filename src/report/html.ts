/**
 * index.html: every figure interactive through vega-embed, working offline. The vega, vega-lite
 * and vega-embed browser builds are copied from node_modules into `lib/` next to the page and the
 * specs are inlined (no fetch, so file:// works).
 */
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TopLevelSpec } from 'vega-lite';
import { ensureDirSync } from '../util/fs.ts';

/** The browser builds the page loads, in order (vega-lite and vega-embed are UMD builds over vega). */
export const BROWSER_LIBS = [
  { pkg: 'vega', file: 'build/vega.min.js' },
  { pkg: 'vega-lite', file: 'build/vega-lite.min.js' },
  { pkg: 'vega-embed', file: 'build/vega-embed.min.js' },
] as const;

/** Find `node_modules/<pkg>/<file>` walking up from this module. */
export function nodeModulesFile(pkg: string, file: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'node_modules', pkg, file);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`${pkg}/${file}: not found in any node_modules above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

export interface HtmlFigure {
  name: string;
  title: string;
  spec: TopLevelSpec;
}

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** JSON safe inside a <script> element. */
const scriptJson = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');

/** The line under the heading; a page other than a report (a sensitivity scan) gives its own text. */
const REPORT_INTRO = 'Statistics, verdicts and the comparison with published values: <a href="summary.md">summary.md</a>. Works offline: vega, vega-lite and vega-embed are in <code>lib/</code>.';

export function indexHtml(experiment: string, figures: HtmlFigure[], intro?: string): string {
  const sections = figures
    .map(
      (f) => `  <section class="figure" id="section-${escapeHtml(f.name)}">
    <h2>${escapeHtml(f.title)}</h2>
    <div class="chart" id="fig-${escapeHtml(f.name)}"></div>
    <p class="files"><a href="${escapeHtml(f.name)}.png">PNG</a> · <a href="${escapeHtml(f.name)}.svg">SVG</a> · <a href="${escapeHtml(f.name)}.vl.json">Vega-Lite spec</a></p>
    <script type="application/json" id="spec-${escapeHtml(f.name)}">${scriptJson(f.spec)}</script>
  </section>`,
    )
    .join('\n');
  const names = scriptJson(figures.map((f) => f.name));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>prunebench report: ${escapeHtml(experiment)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font-family: "DejaVu Sans", system-ui, sans-serif; margin: 1.5rem auto; max-width: 1400px; color: #222; padding: 0 1rem; }
  h1 { font-size: 1.5rem; } h2 { font-size: 1.1rem; margin-bottom: 0.3rem; }
  .figure { border-top: 1px solid #ddd; padding: 0.8rem 0; overflow-x: auto; }
  .files { font-size: 0.8rem; color: #666; }
  .error { color: #b00; white-space: pre-wrap; }
</style>
${BROWSER_LIBS.map((l) => `<script src="lib/${l.file.split('/').pop()}"></script>`).join('\n')}
</head>
<body>
<h1>prunebench report: ${escapeHtml(experiment)}</h1>
<p>${intro === undefined ? REPORT_INTRO : escapeHtml(intro)}</p>
${sections}
<script>
(async () => {
  const names = ${names};
  let rendered = 0;
  for (const name of names) {
    const el = document.getElementById('fig-' + name);
    try {
      const spec = JSON.parse(document.getElementById('spec-' + name).textContent);
      await vegaEmbed(el, spec, { renderer: 'svg', actions: { export: true, source: true, compiled: true, editor: false } });
      rendered++;
    } catch (e) {
      el.innerHTML = '<p class="error"></p>';
      el.firstChild.textContent = 'Could not render ' + name + ': ' + (e && e.message ? e.message : e);
      console.error('figure ' + name + ' failed:', e);
    }
  }
  document.body.setAttribute('data-rendered', String(rendered));
  document.body.setAttribute('data-figures', String(names.length));
})();
</script>
</body>
</html>
`;
}

/** Write `index.html` and `lib/` into `dir`; returns the paths written. `intro`: plain text under the heading. */
export function writeIndexHtml(dir: string, experiment: string, figures: HtmlFigure[], intro?: string): string[] {
  const lib = join(dir, 'lib');
  ensureDirSync(lib);
  const written: string[] = [];
  for (const l of BROWSER_LIBS) {
    const target = join(lib, l.file.split('/').pop()!);
    copyFileSync(nodeModulesFile(l.pkg, l.file), target);
    written.push(target);
  }
  const page = join(dir, 'index.html');
  writeFileSync(page, indexHtml(experiment, figures, intro));
  written.push(page);
  return written;
}
