import { resolve } from 'node:path';
import { baselineHash, baselineKey, keyDifferences, type BaselineKey, type Cell, type ExperimentConfig, type ZooBaseline } from '../protocols/index.ts';
import { ConfigError } from '../util/errors.ts';
import { entryDir, fileProblem, readZooIndex, type ZooEntry, type ZooIndex } from './store.ts';

export interface ZooMatches {
  zooDir: string;
  /** Baseline cell id -> the zoo entry that serves it. */
  served: Map<string, ZooBaseline>;
  /** Zoo entries for a planned baseline's model and seed that are not used, and why. */
  notes: string[];
}

const isBaselineCell = (c: Cell): boolean => c.protocol === 'baseline' || c.protocol === 'sparsity-train';

/** An index entry's baseline key. */
export function entryKey(e: ZooEntry): BaselineKey {
  return { model: e.model, width: e.width, dataset: e.dataset as BaselineKey['dataset'], trainSubset: e.trainSubset, preset: e.preset as BaselineKey['preset'], seed: e.seed, sparsity: e.sparsity, sparsityLambda: e.sparsityLambda };
}

export function zooBaselineOf(zooDir: string, e: ZooEntry): ZooBaseline {
  return { zooDir: resolve(zooDir), entry: e.id, dir: entryDir(zooDir, e), files: e.files.map((f) => ({ path: f.path, sha256: f.sha256 })), baselineHash: e.baselineHash, ...(e.initSha256 ? { initSha256: e.initSha256 } : {}) };
}

/**
 * Which baseline cells of a config a zoo serves: an entry serves a cell when its key (model,
 * width, data, preset, seed, sparsity and lambda) is the cell's and its baseline hash is the
 * cell's. An entry for the same model, seed and sparsity that differs is reported, never used.
 */
export function matchZooBaselines(config: ExperimentConfig, cells: Cell[], zooDir: string, index: ZooIndex): ZooMatches {
  const served = new Map<string, ZooBaseline>();
  const notes: string[] = [];
  for (const cell of cells.filter(isBaselineCell)) {
    const want = baselineKey(config, cell.model, cell.sparsity, cell.seed);
    const hash = baselineHash(config, cell.model, cell.sparsity, cell.seed);
    const candidates = index.entries.filter((e) => e.model === cell.model && e.seed === cell.seed && e.sparsity === cell.sparsity);
    const exact = candidates.find((e) => keyDifferences(entryKey(e), want).length === 0 && e.baselineHash === hash);
    if (exact) {
      served.set(cell.id, zooBaselineOf(zooDir, exact));
      continue;
    }
    for (const e of candidates) {
      const diff = keyDifferences(entryKey(e), want);
      const why = diff.length ? diff.join(', ') : `baseline hash ${e.baselineHash} vs ${hash} (same key, another baseline config: epochs, lr, data or spec)`;
      notes.push(`${cell.id}: zoo entry ${e.id} not used: ${why}`);
    }
  }
  return { zooDir: resolve(zooDir), served, notes };
}

/**
 * Reads the zoo of `--baselines DIR`, matches it against the cells and (`verify`) checks the
 * files of every entry that will be used.
 */
export async function zooBaselinesFor(config: ExperimentConfig, cells: Cell[], zooDir: string, opts: { flag?: string; verify: boolean }): Promise<ZooMatches> {
  const flag = opts.flag ?? 'baselines';
  const index = await readZooIndex(zooDir, { flag });
  const m = matchZooBaselines(config, cells, zooDir, index);
  if (opts.verify) await verifyServedBaselines(zooDir, index, [...m.served.values()].map((z) => z.entry), flag);
  return m;
}

/**
 * Every file of the entries that will be used, against its sha256: one ConfigError naming the
 * first bad file, before any cell trains.
 */
export async function verifyServedBaselines(zooDir: string, index: ZooIndex, entries: Iterable<string>, flag = 'baselines'): Promise<void> {
  for (const id of new Set(entries)) {
    const e = index.entries.find((x) => x.id === id)!;
    for (const f of e.files) {
      const problem = await fileProblem(zooDir, e, f);
      if (problem) throw new ConfigError(`--${flag} ${zooDir}: zoo entry ${e.id}: ${problem}; nothing was trained (\`prunebench zoo verify --zoo ${zooDir}\` checks every entry)`, flag);
    }
  }
}
