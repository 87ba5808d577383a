// Whether dist/ (the JavaScript that `npm install` compiles, see scripts/build.mjs) holds the
// current sources. Plain JavaScript: it runs before anything is compiled.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Written by scripts/build.mjs after a successful build: {"startedAt": ms}, the time tsc started. */
export const BUILD_STAMP = join('dist', 'build-stamp.json');
/** What the build compiles, besides the .ts files under these folders. */
export const SOURCE_DIRS = ['src', 'experiments'];
export const BUILD_CONFIGS = ['tsconfig.json', 'tsconfig.build.json'];

/**
 * The newest modification time of a file the build reads (tests excluded: they are not built).
 * Editors and git set a file's mtime when they change it, so a source newer than the build's start
 * means the build may be stale. About 400 stats: a few milliseconds.
 */
export function newestSourceMtime(root) {
  let newest = 0;
  for (const f of BUILD_CONFIGS) newest = Math.max(newest, statSync(join(root, f)).mtimeMs);
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of SOURCE_DIRS) walk(join(root, d));
  return newest;
}

/** True when dist/ was built, completely, after the last change to any source it compiles. */
export function buildIsFresh(root) {
  let startedAt;
  try {
    startedAt = JSON.parse(readFileSync(join(root, BUILD_STAMP), 'utf8')).startedAt;
  } catch {
    return false; // never built, or the build failed (the stamp is written last)
  }
  if (typeof startedAt !== 'number') return false;
  try {
    return newestSourceMtime(root) < startedAt;
  } catch {
    return false;
  }
}
