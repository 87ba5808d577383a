/**
 * The backend sits at the bottom of the module chain: models use its kernels, it knows nothing of
 * models, training or anything above (test support that builds models lives in src/testing/).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const BACKEND = dirname(fileURLToPath(import.meta.url));
const SRC = resolve(BACKEND, '..');
/** Folders above the backend in `util, backend, data -> models -> train -> ... -> cli`. */
const ABOVE = ['models', 'train', 'pruning', 'metrics', 'protocols', 'results', 'report', 'run', 'cli', 'testing'];

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** `file -> import` for every relative import of a backend file that lands in a folder above it. */
function upwardImports(keep: (file: string, folder: string) => boolean): string[] {
  const upward: string[] = [];
  for (const file of tsFiles(BACKEND)) {
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
      const folder = relative(SRC, resolve(dirname(file), m[1]!)).split(/[\\/]/)[0]!;
      if (ABOVE.includes(folder) && keep(file, folder)) upward.push(`${relative(SRC, file)} -> ${m[1]}`);
    }
  }
  return upward;
}

it('no file under src/backend, tests included, imports src/models', () => {
  expect(upwardImports((_file, folder) => folder === 'models')).toEqual([]);
});

it('no library file under src/backend imports a module above the backend', () => {
  expect(upwardImports((file) => !file.endsWith('.test.ts'))).toEqual([]);
});
