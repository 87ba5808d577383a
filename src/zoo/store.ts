/**
 * The model zoo on disk: a folder of trained baselines, one sub-folder per entry (`trained/`, a
 * saved model, and `record.json`, its result record), and `index.json`, which gives every file's
 * sha256 and where the weights came from. This file reads, writes, checks and lists it with
 * node's fs and crypto only, so `prunebench zoo list` answers without loading TensorFlow.
 */
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { ConfigError, fsErrorReason } from '../util/errors.ts';
import { sha256File } from '../util/hash.ts';
import { REPO_ROOT } from '../util/repo.ts';

/** The repository's own zoo (committed): `cpu`-preset baselines only. */
export const REPO_ZOO_DIR = join(REPO_ROOT, 'zoo');
export const ZOO_INDEX = 'index.json';
/**
 * No file in a zoo may exceed this (it is committed to git): 5 MB = 5,000,000 bytes, the limit the
 * project's rules and its before-stop check use. VGG-16 at 1/4 width (~3.8 MB) and ResNet-56 at 1/2
 * (~0.9 MB) fit; VGG-19 at 1/4 (weights.bin ~5.03e6 bytes) does not.
 */
export const ZOO_MAX_FILE_BYTES = 5_000_000;
/** Files of the zoo folder that are no entry's. */
const ZOO_OWN_FILES = new Set([ZOO_INDEX, 'README.md']);

export interface ZooFile {
  /** Relative to the entry's folder: trained/spec.json, trained/weights.json, trained/weights.bin, record.json. */
  path: string;
  sha256: string;
  bytes: number;
}

export interface ZooEntry {
  /** Also the entry's folder name: <model>-x<width>-<dataset>-<preset>-[sparsity-]s<seed>-<baselineHash>. */
  id: string;
  files: ZooFile[];
  model: string;
  width: number;
  dataset: string;
  trainSubset: number;
  preset: string;
  seed: number;
  sparsity: boolean;
  sparsityLambda: number | null;
  /** See baselineHash in src/protocols/baseline-key.ts: checked before an entry is used. */
  baselineHash: string;
  /** The source result row's config_hash (its run's resume hash). */
  configHash: string;
  top1Final: number;
  gitCommit: string;
  gitDirty: boolean;
  backend: string;
  /** The native library, version, ISA and threads behind the backend (the record's backendDetail), '' when none. */
  backendDetail: string;
  /** The training's wall time (the row's wall_time_s). */
  wallTimeS: number;
  /** sha256 of the initial weights (weights.bin) it was trained from; regenerated from the seed when used. */
  initSha256: string;
  source: { experiment: string; cell: string; runId: string; startedAt: string; finishedAt: string };
  addedAt: string;
}

export interface ZooIndex {
  format: 1;
  entries: ZooEntry[];
}

export function zooIndexPath(dir: string): string {
  return join(dir, ZOO_INDEX);
}

export function entryDir(zooDir: string, entry: Pick<ZooEntry, 'id'>): string {
  return join(resolve(zooDir), entry.id);
}

/** Field checks of an index entry: the first problem, or null. */
function entryProblem(e: unknown): string | null {
  if (e === null || typeof e !== 'object' || Array.isArray(e)) return 'not an object';
  const o = e as Record<string, unknown>;
  const strings = ['id', 'model', 'dataset', 'preset', 'baselineHash', 'configHash', 'gitCommit', 'backend', 'initSha256'];
  for (const k of strings) if (typeof o[k] !== 'string' || (k === 'id' && !/^[A-Za-z0-9._-]+$/.test(o[k] as string))) return `"${k}" is not ${k === 'id' ? 'a folder name' : 'a string'}`;
  for (const k of ['width', 'trainSubset', 'seed', 'top1Final', 'wallTimeS']) if (typeof o[k] !== 'number') return `"${k}" is not a number`;
  if (typeof o.sparsity !== 'boolean') return '"sparsity" is not true or false';
  if (o.sparsityLambda !== null && typeof o.sparsityLambda !== 'number') return '"sparsityLambda" is not a number or null';
  if (!Array.isArray(o.files) || o.files.length === 0) return '"files" is not a list of files';
  for (const f of o.files as unknown[]) {
    const file = f as Partial<ZooFile> | null;
    if (!file || typeof file.path !== 'string' || typeof file.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(file.sha256) || typeof file.bytes !== 'number') return `a file (${JSON.stringify(f).slice(0, 80)}) is not {path, sha256 (64 hex digits), bytes}`;
    if (file.path.startsWith('/') || file.path.split('/').includes('..')) return `file path ${file.path} leaves the entry's folder`;
  }
  return null;
}

/**
 * Reads `<dir>/index.json`. A folder without one is an error naming `flag`, unless `create`
 * (then the index is empty: `zoo add` into a new folder).
 */
export async function readZooIndex(dir: string, opts: { flag: string; create?: boolean }): Promise<ZooIndex> {
  const file = zooIndexPath(dir);
  if (!existsSync(dir) && !opts.create) throw new ConfigError(`--${opts.flag} ${dir}: no such folder`, opts.flag);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new ConfigError(`--${opts.flag} ${dir}: not a folder`, opts.flag);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if ((code === 'ENOENT' || code === 'ENOTDIR') && opts.create) return { format: 1, entries: [] };
    if (code === 'ENOENT') throw new ConfigError(`--${opts.flag} ${dir}: no ${ZOO_INDEX}, so not a prunebench model zoo (\`prunebench zoo add\` makes one)`, opts.flag);
    throw new ConfigError(`--${opts.flag} ${dir}: ${file} cannot be read (${fsErrorReason(e)})`, opts.flag);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file} is not valid JSON (${(e as Error).message})`, opts.flag);
  }
  const index = parsed as Partial<ZooIndex> | null;
  if (!index || index.format !== 1 || !Array.isArray(index.entries)) throw new ConfigError(`${file} is not a zoo index (expected {"format": 1, "entries": [...]})`, opts.flag);
  index.entries.forEach((e, i) => {
    const problem = entryProblem(e);
    if (problem) throw new ConfigError(`${file}: entry ${i}${(e as { id?: unknown })?.id ? ` (${String((e as { id?: unknown }).id)})` : ''}: ${problem}`, opts.flag);
  });
  const ids = new Set<string>();
  for (const e of index.entries) {
    if (ids.has(e.id)) throw new ConfigError(`${file}: two entries have the id ${e.id}`, opts.flag);
    ids.add(e.id);
  }
  return index as ZooIndex;
}

export async function writeZooIndex(dir: string, index: ZooIndex): Promise<void> {
  const file = zooIndexPath(dir);
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(index, null, 1)}\n`);
  await rename(tmp, file);
}

/** Every file under `dir`, relative to it, '/'-separated. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (at: string): Promise<void> => {
    for (const d of await readdir(at, { withFileTypes: true })) {
      const p = join(at, d.name);
      if (d.isDirectory()) await walk(p);
      else out.push(relative(dir, p).split('\\').join('/'));
    }
  };
  await walk(dir);
  return out.sort();
}

/** One file of an entry against the index: null when its size and sha256 agree, else what is wrong. */
export async function fileProblem(zooDir: string, entry: ZooEntry, f: ZooFile): Promise<string | null> {
  const file = join(entryDir(zooDir, entry), f.path);
  let bytes: number;
  try {
    bytes = statSync(file).size;
  } catch {
    return `${file} is missing`;
  }
  if (bytes > ZOO_MAX_FILE_BYTES) return `${file} has ${bytes} bytes, over the zoo's limit of ${ZOO_MAX_FILE_BYTES}`;
  const sha = await sha256File(file);
  if (sha !== f.sha256) return `${file} has sha256 ${sha}, the index says ${f.sha256}`;
  if (bytes !== f.bytes) return `${file} has ${bytes} bytes, the index says ${f.bytes}`;
  return null;
}

export interface ZooCheck {
  /** Per entry: its problems (empty = every file is there with its checksum). */
  entries: { id: string; files: number; problems: string[] }[];
  /** Files and folders of the zoo that no entry lists (weights must not enter the zoo unindexed). */
  strays: string[];
  ok: boolean;
}

/** `prunebench zoo verify`: every indexed file present, within the size limit, with its sha256; nothing else. */
export async function verifyZoo(dir: string, flag = 'zoo'): Promise<ZooCheck> {
  const index = await readZooIndex(dir, { flag });
  const entries: ZooCheck['entries'] = [];
  const strays: string[] = [];
  const listed = new Set(index.entries.map((e) => e.id));
  for (const d of await readdir(dir, { withFileTypes: true })) {
    if (ZOO_OWN_FILES.has(d.name) || listed.has(d.name)) continue;
    strays.push(join(dir, d.name));
  }
  for (const e of index.entries) {
    const problems: string[] = [];
    for (const f of e.files) {
      const p = await fileProblem(dir, e, f);
      if (p) problems.push(p);
    }
    const folder = entryDir(dir, e);
    const indexed = new Set(e.files.map((f) => f.path));
    if (existsSync(folder)) for (const f of await filesUnder(folder)) if (!indexed.has(f)) strays.push(join(folder, f));
    entries.push({ id: e.id, files: e.files.length, problems });
  }
  return { entries, strays, ok: strays.length === 0 && entries.every((e) => e.problems.length === 0) };
}

export function formatZooCheck(dir: string, c: ZooCheck): string {
  const lines = c.entries.map((e) => (e.problems.length ? `FAIL ${e.id}\n${e.problems.map((p) => `     ${p}`).join('\n')}` : `ok   ${e.id} (${e.files} files)`));
  for (const s of c.strays) lines.push(`FAIL ${s}: in no entry of ${zooIndexPath(dir)}`);
  lines.push(c.ok ? `${dir}: ${c.entries.length} entries, every checksum matches` : `${dir}: checksum or file problems (above)`);
  return lines.join('\n');
}

/** `prunebench zoo list`: one line per baseline. */
export function formatZooList(dir: string, index: ZooIndex): string {
  if (index.entries.length === 0) return `${dir}: no baselines yet (add one with prunebench zoo add --run-dir R --cell baseline:MODEL:sSEED)`;
  const header = ['model', 'width', 'data', 'preset', 'seed', 'top-1 %', 'commit', 'backend', 'hash', 'id'];
  const rows = index.entries.map((e) => [
    `${e.model}${e.sparsity ? ' (sparsity)' : ''}`,
    String(e.width),
    `${e.dataset}${e.trainSubset ? `/${e.trainSubset}` : ''}`,
    e.preset,
    String(e.seed),
    e.top1Final.toFixed(2),
    `${e.gitCommit.slice(0, 7)}${e.gitDirty ? '+dirty' : ''}`,
    `${e.backend}${e.backendDetail ? ` (${e.backendDetail})` : ''}`,
    e.baselineHash.slice(0, 8),
    e.id,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 5 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line), `${index.entries.length} baselines in ${dir}`].join('\n');
}
