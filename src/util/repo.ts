import { existsSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository (package) root: the nearest folder above this module with a package.json. Found,
 * not counted in `..`s, because this module runs both from src/util/ (tsx, vitest) and from
 * dist/src/util/ (the build that `npm install` makes), one level deeper.
 */
function findRepoRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${here}`);
  }
}

export const REPO_ROOT = findRepoRoot();

/** True when this process runs the compiled build (dist/), not the TypeScript sources. */
export const RUNNING_FROM_BUILD = fileURLToPath(import.meta.url).startsWith(join(REPO_ROOT, 'dist') + sep);
