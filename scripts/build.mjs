// `npm run build`, and `npm install`'s prepare script: compiles src/ and experiments/ to dist/
// (tsconfig.build.json), so bin/prunebench.js starts without compiling TypeScript. The stamp
// it writes last records when tsc started: bin/build-check.js runs dist/ only while no source is
// newer, and the TypeScript sources through tsx otherwise.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILD_STAMP } from '../bin/build-check.js';

const root = fileURLToPath(new URL('..', import.meta.url));
let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  // An install without devDependencies: prunebench still runs, from the sources through tsx.
  console.warn('prunebench build: typescript is not installed; skipped (prunebench will compile its sources at every start)');
  process.exit(0);
}
const startedAt = Date.now();
rmSync(join(root, 'dist'), { recursive: true, force: true });
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error('prunebench build: tsc failed; dist/ is left without its stamp, so prunebench runs the sources through tsx');
  process.exit(r.status ?? 1);
}
mkdirSync(join(root, 'dist'), { recursive: true });
writeFileSync(join(root, BUILD_STAMP), `${JSON.stringify({ startedAt })}\n`);

// The pruned shapes that `prunebench list` needs (Scratch-B's epochs follow from them): computed
// here once, by pruning initialised models (~30 s), into dist/shape-table.json, so that listing
// answers without loading TensorFlow.js. Best effort: without the table, the first list computes it.
const warm = spawnSync(process.execPath, [join(root, 'bin', 'prunebench.js'), 'list', '--no-estimate'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
if (warm.status !== 0) {
  console.warn(`prunebench build: could not precompute the pruned shapes for \`prunebench list\` (its first run computes them): ${(warm.stderr ?? '').trim().split('\n').pop() ?? ''}`);
}
