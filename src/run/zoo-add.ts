import { statSync } from 'node:fs';
import { copyFile, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { findExperiment } from '../../experiments/index.ts';
import { baselineHash, baselineKey, cellDirName, keyDifferences, type BaselineKey } from '../protocols/index.ts';
import { runFileName, runRecordsDir, type RunRecord } from '../results/index.ts';
import { ConfigError, fsErrorReason } from '../util/errors.ts';
import { sha256File } from '../util/hash.ts';
import { entryKey } from '../zoo/match.ts';
import { entryDir, readZooIndex, REPO_ZOO_DIR, writeZooIndex, ZOO_MAX_FILE_BYTES, type ZooEntry, type ZooFile } from '../zoo/store.ts';
import { readCellStatus, readPlan } from './plan.ts';
import { ensureDir } from '../util/fs.ts';

export interface AddToZooOptions {
  /** The run folder that trained the baseline (its plan.json, cells/ and artifacts/). */
  runDir: string;
  /** The baseline cell, e.g. baseline:vgg16:s1 or sparsity-train:vgg19:s1. */
  cell: string;
  zooDir: string;
  /** Replace an entry with the same key and hash. */
  force?: boolean;
  /** Where the run wrote its result records, when not where its plan says (a moved run). */
  resultsDir?: string;
}

/** The trained model's files, as saveModel writes them, then the result record. */
const MODEL_FILES = ['spec.json', 'weights.json', 'weights.bin'];

export function zooEntryId(key: BaselineKey, hash: string): string {
  return `${key.model}-x${key.width}-${key.dataset}${key.trainSubset ? `-n${key.trainSubset}` : ''}-${key.preset}-${key.sparsity ? 'sparsity-' : ''}s${key.seed}-${hash}`;
}

function sizeOf(file: string, what: string): number {
  try {
    return statSync(file).size;
  } catch (e) {
    throw new ConfigError(`${what}: ${file} cannot be read (${fsErrorReason(e)})`, 'run-dir');
  }
}

/**
 * `prunebench zoo add`: copies a completed baseline cell's trained model and result record from
 * a run folder into a zoo, with every file's sha256, and appends its entry to the index.
 */
export async function addToZoo(opts: AddToZooOptions): Promise<{ entry: ZooEntry; replaced: boolean }> {
  const plan = await readPlan(opts.runDir);
  const cell = plan.cells.find((c) => c.id === opts.cell);
  const baselines = plan.cells.filter((c) => c.protocol === 'baseline' || c.protocol === 'sparsity-train').map((c) => c.id);
  if (!cell) throw new ConfigError(`--cell ${opts.cell}: no such cell in the run in ${opts.runDir}; its baselines: ${baselines.join(', ') || 'none'}`, 'cell');
  if (cell.protocol !== 'baseline' && cell.protocol !== 'sparsity-train') throw new ConfigError(`--cell ${opts.cell} is a ${cell.protocol} cell; the zoo takes trained baselines (${baselines.join(', ') || 'none in this run'})`, 'cell');
  if (cell.zoo) throw new ConfigError(`--cell ${opts.cell}: this run took it from zoo entry ${cell.zoo.entry}; it trained nothing to add`, 'cell');
  const status = await readCellStatus(opts.runDir, cell.id);
  if (status?.state !== 'completed' || status.configHash !== plan.configHash || !status.runId) {
    throw new ConfigError(`--cell ${opts.cell} has not completed in ${opts.runDir} (${status?.state ?? 'not run'}${status?.state === 'completed' ? ', under another config' : ''}); only a completed baseline goes into the zoo`, 'cell');
  }
  const zooDir = resolve(opts.zooDir);
  if (zooDir === resolve(REPO_ZOO_DIR) && plan.preset !== 'cpu') {
    throw new ConfigError(`--zoo ${opts.zooDir}: the repository's zoo takes only cpu-preset baselines, and this run is preset ${plan.preset}; give another folder with --zoo DIR`, 'zoo');
  }
  const key = baselineKey(plan.config, cell.model, cell.sparsity, cell.seed);
  const hash = baselineHash(plan.config, cell.model, cell.sparsity, cell.seed);
  // The entry is found by its preset's name: a baseline trained under --set overrides would be misnamed.
  const declared = findExperiment(plan.experiment).presets[plan.preset];
  if (baselineHash(declared, cell.model, cell.sparsity, cell.seed) !== hash) {
    throw new ConfigError(`--cell ${opts.cell}: trained with a baseline config other than preset ${plan.preset} of ${plan.experiment} as declared now (a --set override, or the preset changed since), so the zoo would file it under the wrong preset`, 'cell');
  }
  const trainedDir = join(opts.runDir, 'artifacts', cellDirName(cell.id), 'trained');
  const recordFile = join(runRecordsDir(opts.resultsDir ?? plan.resultsDir, plan.experiment), runFileName(status.runId));
  const sources: { from: string; path: string }[] = [...MODEL_FILES.map((f) => ({ from: join(trainedDir, f), path: `trained/${f}` })), { from: recordFile, path: 'record.json' }];
  for (const s of sources) {
    const bytes = sizeOf(s.from, `--cell ${opts.cell}`);
    if (bytes > ZOO_MAX_FILE_BYTES) throw new ConfigError(`--cell ${opts.cell}: ${s.from} has ${bytes} bytes, over the zoo's limit of ${ZOO_MAX_FILE_BYTES} per file (the zoo is committed to git: small models only)`, 'cell');
  }
  let record: RunRecord;
  try {
    record = JSON.parse(await readFile(recordFile, 'utf8')) as RunRecord;
  } catch (e) {
    throw new ConfigError(`--cell ${opts.cell}: its result record ${recordFile} is not readable JSON (${e instanceof SyntaxError ? e.message : fsErrorReason(e)})`, 'cell');
  }
  if (record.row?.status !== 'ok' || record.row.cell !== cell.id) throw new ConfigError(`--cell ${opts.cell}: ${recordFile} is not the completed result of this cell`, 'cell');
  let initSha256 = '';
  try {
    initSha256 = await sha256File(join(opts.runDir, 'artifacts', cellDirName(cell.id), 'init', 'weights.bin'));
  } catch {
    // Runs keep the init; one without it gives an entry whose init is unchecked when reused.
  }

  const index = await readZooIndex(zooDir, { flag: 'zoo', create: true });
  const same = index.entries.find((e) => e.baselineHash === hash && keyDifferences(entryKey(e), key).length === 0);
  if (same && !opts.force) throw new ConfigError(`--zoo ${opts.zooDir} already holds this baseline (entry ${same.id}, from ${same.source.experiment} ${same.source.cell}); --force replaces it`, 'zoo');
  const id = zooEntryId(key, hash);
  const entries = index.entries.filter((e) => e !== same && e.id !== id);
  if (same) await rm(entryDir(zooDir, same), { recursive: true, force: true });
  const dir = entryDir(zooDir, { id });
  await rm(dir, { recursive: true, force: true });
  await ensureDir(join(dir, 'trained'));
  const files: ZooFile[] = [];
  for (const s of sources) {
    const to = join(dir, s.path);
    await copyFile(s.from, to);
    files.push({ path: s.path, sha256: await sha256File(to), bytes: statSync(to).size });
  }
  const row = record.row;
  const entry: ZooEntry = {
    id,
    files,
    ...key,
    baselineHash: hash,
    configHash: String(row.config_hash),
    top1Final: Number(row.top1_final),
    gitCommit: String(row.git_commit),
    gitDirty: row.git_dirty === true || row.git_dirty === 'true',
    backend: String(row.backend),
    backendDetail: record.backendDetail ?? '',
    wallTimeS: Number(row.wall_time_s),
    initSha256,
    source: { experiment: String(row.experiment), cell: cell.id, runId: String(row.run_id), startedAt: String(row.started_at), finishedAt: String(row.finished_at) },
    addedAt: new Date().toISOString(),
  };
  entries.push(entry);
  entries.sort((a, b) => a.id.localeCompare(b.id));
  await writeZooIndex(zooDir, { format: 1, entries });
  return { entry, replaced: Boolean(same) };
}
