/**
 * `prunebench retime`: time every pruned model of an experiment's results again, on this machine,
 * now, and write `results/<experiment>/latency-retimed.csv` (see results/retimed.ts for why).
 *
 * Weights are not kept after a sweep, and latency does not depend on their values (the cells
 * already time their models against a freshly initialised unpruned model): each pruned
 * architecture is rebuilt from its run record, at random init. Channel-pruned models from the
 * record's keep plan, block-pruned ones from its removed blocks (both checked against the row's
 * parameter and MAC counts), and masked (weight, vector) models by pruning an initialised model with
 * the arm's own method and budget, which gives the same number of zeros in the same dense tensors.
 *
 * Resumable: a pruned model already timed on every requested runtime is skipped (--force re-times
 * it), and the file is rewritten atomically after each model.
 */
import { loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend/index.ts';
import { countSpec } from '../metrics/count.ts';
import { Model, type ModelSpec } from '../models/index.ts';
import { compactSpec, pruneModel, removeBlocks, type KeepPlan } from '../pruning/index.ts';
import type { Arm, ExperimentConfig } from '../protocols/config.ts';
import { estimateSpec } from '../protocols/estimate.ts';
import { measureRuntimeLatency } from '../protocols/runtime-latency.ts';
import { shapeQuery } from '../protocols/shape.ts';
import {
  LATENCY_RUNTIMES,
  prunedModelKey,
  readRetimed,
  RETIMED_PROTOCOLS,
  readRunRecords,
  retimedLatencyPath,
  retimedToCsv,
  runRecordsDir,
  type LatencyRuntime,
  type RetimedLatency,
  type RetimedStructure,
  type RunRecord,
} from '../results/index.ts';
import { ConfigError, DatasetError } from '../util/errors.ts';
import { writeFileAtomicSync } from '../util/fs.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import { formatDuration } from '../util/progress.ts';
import { REPO_ROOT } from '../util/repo.ts';
import { runEnvironment } from './env.ts';


export const RETIME_DEFAULT_REPEATS = 20;
export const RETIME_WARMUP = 3;
/** A 1-minute load average above this, before a model, means something besides the re-timing runs. */
const BUSY_LOAD = 1.5;

export interface RetimeOptions {
  experiment: string;
  resultsDir: string;
  /** Needed when the records hold runs of more than one preset. */
  preset?: string;
  runtimes?: readonly LatencyRuntime[];
  /** Timed batch-1 calls per model and runtime (batch 64 gets a third, at least 3). */
  repeats?: number;
  /** Re-time models the file already holds. */
  force?: boolean;
  logger: Logger;
}

export interface RetimeSummary {
  path: string;
  /** Pruned models in the records. */
  models: number;
  timed: number;
  skipped: number;
  rows: number;
}

/** One pruned model to time: the record that describes it best (the prune cell's, which has the removed blocks). */
export interface RetimeTarget {
  key: string;
  record: RunRecord;
  /** The model's fine-tune record, when there is one (it carries the keep plan too). */
  fineTune?: RunRecord;
}

/** The pruned models of these records (latest record per cell), one target each, in key order. */
export function retimeTargets(records: RunRecord[]): RetimeTarget[] {
  const latest = new Map<string, RunRecord>();
  for (const r of records) {
    const cell = String(r.row.cell);
    const prev = latest.get(cell);
    if (!prev || String(r.row.started_at) >= String(prev.row.started_at)) latest.set(cell, r);
  }
  const byKey = new Map<string, { prune?: RunRecord; fineTune?: RunRecord }>();
  for (const r of latest.values()) {
    if (String(r.row.status) !== 'ok' || !RETIMED_PROTOCOLS.has(String(r.row.protocol))) continue;
    const key = prunedModelKey(String(r.row.cell));
    if (key === null) continue;
    const e = byKey.get(key) ?? {};
    if (String(r.row.protocol) === 'prune') e.prune = r;
    else e.fineTune = r;
    byKey.set(key, e);
  }
  // The prune record, unless a later prune rerun gave another architecture than the one that was
  // fine-tuned: then the fine-tuned model (whose accuracy the report shows) is the one to time.
  const sameModel = (a: RunRecord, b: RunRecord): boolean => Number(a.row.params) === Number(b.row.params) && Number(a.row.macs) === Number(b.row.macs);
  return [...byKey.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, { prune, fineTune }]) => ({ key, record: prune && (!fineTune || sameModel(prune, fineTune)) ? prune : (fineTune ?? prune)!, ...(fineTune ? { fineTune } : {}) }));
}

/** The arm a cell ran, from its record's frozen config (`<protocol>:<arm id>:s<seed>`). */
function armOf(rec: RunRecord, config: ExperimentConfig, key: string): Arm {
  const armId = key.replace(/:s\d+$/, '');
  const arm = config.arms?.find((a) => a.id === armId);
  if (!arm) throw new DatasetError(`run record ${String(rec.row.run_id)}: its config has no arm "${armId}"`, String(rec.row.run_id));
  return arm;
}

/**
 * The pruned model of a record at random init (seeded by the cell's seed), and how it runs.
 * Checked against the row's counts: a rebuilt architecture that differs from the one trained
 * would time the wrong model.
 */
export function rebuildPrunedModel(target: RetimeTarget): { model: Model; full: ModelSpec; structure: RetimedStructure } {
  const rec = target.record;
  const row = rec.row;
  const id = String(row.run_id);
  const config = rec.config as ExperimentConfig;
  if (!config || typeof config !== 'object' || !Array.isArray(config.arms)) throw new DatasetError(`run record ${id}: no frozen config to rebuild its model from`, id);
  const full = estimateSpec(config, String(row.model));
  const fullCount = countSpec(full);
  if (fullCount.params !== Number(row.params_base)) {
    throw new DatasetError(`run record ${id}: the unpruned ${String(row.model)} rebuilt from its config has ${fullCount.params} parameters, the row says ${String(row.params_base)}`, id);
  }
  const seed = Number(row.seed) || 0;
  const plan = (rec.keepPlan ?? target.fineTune?.keepPlan) as KeepPlan | undefined;
  let model: Model;
  let structure: RetimedStructure;
  if (plan) {
    model = Model.init(compactSpec(full, plan), seed);
    structure = 'compacted';
  } else if (rec.prune?.removedBlocks) {
    const init = Model.init(full, seed);
    try {
      model = removeBlocks(init, rec.prune.removedBlocks);
    } finally {
      init.dispose();
    }
    structure = 'blocks removed';
  } else if (['weight', 'vector'].includes(String(row.granularity))) {
    const arm = armOf(rec, config, target.key);
    const init = Model.init(full, seed);
    try {
      const r = pruneModel(init, shapeQuery(full, arm).options);
      if (r.kind !== 'masks') {
        r.model.dispose();
        throw new DatasetError(`run record ${id}: arm ${arm.id} did not give masks when rebuilt (got ${r.kind})`, id);
      }
      for (const m of r.masks.values()) m.dispose();
      model = r.model;
      const effective = countSpec(full, { nonZero: r.nonZero }).paramsEffective;
      const want = Number(row.params_effective);
      if (!(Math.abs(effective - want) <= 0.01 * want)) {
        model.dispose();
        throw new DatasetError(`run record ${id}: the rebuilt masks keep ${effective} parameters, the row ${want} (more than 1% apart)`, id);
      }
    } finally {
      init.dispose();
    }
    structure = 'masked (dense)';
  } else {
    throw new DatasetError(`run record ${id}: no keep plan, removed blocks or mask granularity to rebuild its ${String(row.granularity)}-pruned model from`, id);
  }
  if (structure !== 'masked (dense)') {
    const c = countSpec(model.spec);
    if (c.params !== Number(row.params) || c.macs !== Number(row.macs)) {
      model.dispose();
      throw new DatasetError(`run record ${id}: the rebuilt model has ${c.params} parameters and ${c.macs} MACs, the row ${String(row.params)} and ${String(row.macs)}`, id);
    }
  }
  return { model, full, structure };
}

function ortVersion(): string {
  try {
    const req = createRequire(join(REPO_ROOT, 'package.json'));
    return (JSON.parse(readFileSync(req.resolve('onnxruntime-node/package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown version';
  }
}

/**
 * Re-timed rows of `preset` whose pruned model no run record describes any more (an arm that was
 * replaced, its records moved out of runs/): stale, since no report row can take them. Rows of
 * other presets are left alone.
 */
export function staleRetimedRows(rows: RetimedLatency[], preset: string, keys: ReadonlySet<string>): RetimedLatency[] {
  return rows.filter((r) => r.preset === preset && !keys.has(r.pruned_model));
}

/**
 * The runtimes a pruned model still lacks in `existing` (all of them with `force`). A row timed in
 * a fixed order (pair_order 'fixed') is biased and counts as missing.
 */
export function runtimesToTime(existing: RetimedLatency[], preset: string, runtimes: readonly LatencyRuntime[], force: boolean): (key: string) => LatencyRuntime[] {
  const have = new Set(existing.filter((r) => r.preset === preset && r.pair_order === 'swapped').map((r) => `${r.pruned_model}\u0000${r.runtime}`));
  // `runtimes` is read at each call: retimeExperiment drops onednn from it where that cannot run.
  return (key) => (force ? [...runtimes] : runtimes.filter((rt) => !have.has(`${key}\u0000${rt}`)));
}

export async function retimeExperiment(o: RetimeOptions): Promise<RetimeSummary> {
  const runtimes = [...(o.runtimes ?? LATENCY_RUNTIMES)];
  const repeats = o.repeats ?? RETIME_DEFAULT_REPEATS;
  if (!(Number.isInteger(repeats) && repeats >= 3)) throw new ConfigError(`--repeats expects an integer >= 3 (timed calls per model and runtime), got ${repeats}`, 'repeats');
  const runsDir = runRecordsDir(o.resultsDir, o.experiment);
  const all = readRunRecords(runsDir);
  if (all.length === 0) throw new ConfigError(`${runsDir}: no run records of experiment ${o.experiment} to re-time`, 'experiment');
  const presets = [...new Set(all.map((r) => String(r.row.preset)))];
  const preset = o.preset ?? (presets.length === 1 ? presets[0]! : undefined);
  if (preset === undefined) throw new ConfigError(`${runsDir} holds runs of the presets ${presets.join(', ')}; choose one with --preset`, 'preset');
  if (!presets.includes(preset)) throw new ConfigError(`${runsDir} has no runs of preset ${preset} (it has ${presets.join(', ')})`, 'preset');
  const records = all.filter((r) => String(r.row.preset) === preset);
  const targets = retimeTargets(records);
  const path = retimedLatencyPath(o.resultsDir, o.experiment);
  let existing = readRetimed(o.resultsDir, o.experiment);
  const stale = new Set(staleRetimedRows(existing, preset, new Set(targets.map((t) => t.key))));
  if (stale.size > 0) {
    existing = existing.filter((r) => !stale.has(r));
    writeFileAtomicSync(path, retimedToCsv(existing));
    const models = [...new Set([...stale].map((r) => r.pruned_model))];
    o.logger.info(`dropped ${stale.size} re-timed rows of ${models.length} pruned models no run record describes any more (${models.slice(0, 3).join(', ')}${models.length > 3 ? ', ...' : ''})`);
  }
  const fixedOrder = new Set(existing.filter((r) => r.preset === preset && r.pair_order === 'fixed').map((r) => r.pruned_model));
  if (fixedOrder.size > 0 && !o.force) o.logger.info(`${fixedOrder.size} pruned models were timed with the pruned model always first (biased on onednn at batch 1): timing them again`);
  const missingFor = runtimesToTime(existing, preset, runtimes, o.force === true);
  let todo = targets.filter((t) => missingFor(t.key).length > 0);
  let rows = existing;
  const summary: RetimeSummary = { path, models: targets.length, timed: 0, skipped: targets.length - todo.length, rows: rows.length };
  if (todo.length === 0) return summary;

  // onednn is a native addon that may not be built here: without it the other runtimes still run.
  let onednnDetail = '';
  if (runtimes.includes('onednn')) {
    try {
      onednnDetail = (await initBackend({ backend: 'onednn', threads: 1, logger: silentLogger })).detail ?? 'onednn';
    } catch (e) {
      o.logger.warn(`onednn left out: ${String((e as Error)?.message ?? e).split('\n')[0]}`);
      runtimes.splice(runtimes.indexOf('onednn'), 1);
      if (runtimes.length === 0) throw new ConfigError('no runtime left to time on: onednn cannot run here (see the warning); add wasm or ort to --runtimes', 'runtimes');
      todo = todo.filter((t) => missingFor(t.key).length > 0);
      summary.skipped = targets.length - todo.length;
    }
  }
  // The models are built on wasm; each runtime's timing switches to it and back (runtime-latency.ts).
  const info = await initBackend({ backend: 'wasm', threads: 1, logger: silentLogger });
  const detail: Record<LatencyRuntime, string> = {
    onednn: onednnDetail,
    wasm: `tfjs-backend-wasm ${tf.version_core}, 1 thread`,
    ort: `onnxruntime-node ${ortVersion()} (CPU), 1 intra-op thread`,
  };
  // The re-timing itself brings the 1-minute load average to about 1; more means other processes.
  let warnedBusy = false;
  const checkLoad = (load: number): void => {
    if (load <= BUSY_LOAD || warnedBusy) return;
    warnedBusy = true;
    o.logger.warn(`the 1-minute load average is ${load.toFixed(2)}: other processes are running, and their load moves latencies (pause them for clean figures; each row records the load)`);
  };
  const commit = runEnvironment(info.name).gitCommit;
  // The first model a process times comes out wrong on onednn (both of the pair 1.5-3x slow, their
  // ratio 20-35% off: 2026-12-07, after the machine had idled), and the RETIME_WARMUP calls do
  // not cure it: time the first model once and discard that, then start.
  const spinUp = rebuildPrunedModel(todo[0]!);
  try {
    await measureRuntimeLatency(spinUp.model, spinUp.full, missingFor(todo[0]!.key), null, silentLogger, { repeats, warmup: RETIME_WARMUP });
  } finally {
    spinUp.model.dispose();
  }
  const t0 = performance.now();
  for (const [i, t] of todo.entries()) {
    const { model, full, structure } = rebuildPrunedModel(t);
    const before = loadavg()[0]!;
    checkLoad(before);
    let costs;
    try {
      costs = await measureRuntimeLatency(model, full, missingFor(t.key), null, o.logger, { repeats, warmup: RETIME_WARMUP });
    } finally {
      model.dispose();
    }
    const now = new Date().toISOString();
    const fresh: RetimedLatency[] = [];
    for (const rt of missingFor(t.key)) {
      const c = costs[rt];
      if (!c || 'missing' in c) continue;
      fresh.push({
        experiment: o.experiment, preset, pruned_model: t.key, model: String(t.record.row.model), seed: Number(t.record.row.seed), structure, runtime: rt,
        latency_ms_b1: c.latencyMsBatch1, base_latency_ms_b1: c.baseLatencyMsBatch1, infer_images_per_sec_b64: c.imagesPerSecBatch64, base_infer_images_per_sec_b64: c.baseImagesPerSecBatch64,
        repeats, runtime_detail: detail[rt], loadavg_1m: +before.toFixed(2), source_run_id: String(t.record.row.run_id), git_commit: commit, measured_at: now, pair_order: 'swapped',
      });
    }
    const replaced = new Set(fresh.map((r) => `${r.pruned_model}\u0000${r.runtime}`));
    rows = [...rows.filter((r) => !(r.preset === preset && replaced.has(`${r.pruned_model}\u0000${r.runtime}`))), ...fresh];
    writeFileAtomicSync(path, retimedToCsv(rows));
    summary.timed++;
    const elapsed = (performance.now() - t0) / 1000;
    const left = (elapsed / (i + 1)) * (todo.length - i - 1);
    const said = fresh.map((r) => `${r.runtime} ${(r.base_latency_ms_b1 / r.latency_ms_b1).toFixed(2)}x`).join(', ');
    o.logger.info(`[${i + 1}/${todo.length}] ${t.key} (${structure}): ${said || 'no runtime measured'}; ~${formatDuration(left)} left`);
  }
  summary.rows = rows.length;
  return summary;
}
