/**
 * `prunebench sensitivity`: load a trained model and the test set, run the per-layer scan
 * (protocols/sensitivity.ts) and write `sensitivity.csv`, `sensitivity.json` and the figure
 * (`sensitivity.vl.json`, `.svg`, `.png`, `index.html`) to a folder.
 *
 * Not exported from run/index.ts: it imports the report renderer (vega, resvg), which costs
 * seconds to load; the CLI imports this module only when the command runs.
 */
import { existsSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { balancedSubset, loadDataset, parseDatasetName } from '../data/index.ts';
import { compileGraph, loadModel, modelSpec, type ModelSpec } from '../models/index.ts';
import { criterionNeedsData, CRITERIA, prunableGroups, type Criterion } from '../pruning/index.ts';
import { robustLayers, sensitivityScan, validateSensitivityRatios, type SensitivityPoint, type SensitivityScan } from '../protocols/index.ts';
import { renderSpec, sensitivitySpec, writeIndexHtml } from '../report/index.ts';
import { canonicalJson } from '../util/hash.ts';
import { ConfigError, fsErrorReason } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import { runEnvironment } from './env.ts';
import { ensureDir } from '../util/fs.ts';

export const SENSITIVITY_CSV = 'sensitivity.csv';
export const SENSITIVITY_FIGURE = 'sensitivity';

/** Columns of sensitivity.csv: the point, then its provenance (the same on every row). */
export const SENSITIVITY_COLUMNS = [
  'layer',
  'layer_index',
  'channels',
  'ratio',
  'kept_channels',
  'top1',
  'drop',
  'top1_unpruned',
  'criterion',
  'model',
  'width',
  'weights',
  'dataset',
  'data_fingerprint',
  'test_images',
  'calibration_images',
  'backend',
  'threads',
  'git_commit',
] as const;

export interface SensitivityToFolderOptions {
  model: string;
  widthMultiplier: number;
  weights: string;
  criterion: string;
  ratios: number[];
  out: string;
  /** Overwrite a scan already in `out`. */
  force?: boolean;
  /** cifar10 or cifar100 (default: by the model's number of classes). */
  dataset?: string;
  dataDir?: string;
  /** Class-balanced test images (seed 0, as `run`'s data.testSubset); default: the whole test set. */
  testSubset?: number;
  /** Batches of calibrationBatchSize training images for a data-needing criterion (default 4 x 64). */
  calibrationBatches?: number;
  calibrationBatchSize?: number;
  seed?: number;
  /** The ratio and the drop (points) of the printed list of robust layers (defaults 0.5 and 1). */
  atRatio?: number;
  maxDrop?: number;
  /** For provenance: the backend the scan ran on, and its threads. */
  backend: string;
  threads: number;
  logger: Logger;
}

export interface SensitivityToFolderResult {
  scan: SensitivityScan;
  robust: SensitivityPoint[];
  atRatio: number;
  maxDrop: number;
  files: string[];
  /** Wall time of the whole command: loading, the scan, writing and rendering. */
  totalSeconds: number;
  /** What the command prints. */
  text: string;
}

function isCriterion(c: string): c is Criterion {
  return (CRITERIA as readonly string[]).includes(c);
}

/** The saved model must be the unpruned --model at --width: the CSV says so on every row. */
function checkWeightsMatch(spec: ModelSpec, o: SensitivityToFolderOptions): void {
  if (spec.name !== o.model) throw new ConfigError(`--weights ${o.weights} holds a ${spec.name}, not a ${o.model} (--model)`, 'weights');
  const expected = modelSpec(o.model, { widthMultiplier: o.widthMultiplier, numClasses: spec.numClasses, input: spec.input });
  if (canonicalJson({ ...spec, bnGammaInit: 0 }) !== canonicalJson({ ...expected, bnGammaInit: 0 })) {
    const widths = (s: ModelSpec): string => `[${prunableGroups(compileGraph(s)).map((g) => g.channels).join(',')}]`;
    throw new ConfigError(
      `--weights ${o.weights} holds a ${spec.name} whose prunable widths ${widths(spec)} are not those of ${o.model} at --width ${o.widthMultiplier} ${widths(expected)}: another --width, or an already pruned model?`,
      'width',
    );
  }
}

/** Checks the flags that need no file, then the folders: before any data is read. */
function checkOptions(o: SensitivityToFolderOptions): { criterion: Criterion; ratios: number[]; atRatio: number; maxDrop: number } {
  if (!isCriterion(o.criterion)) throw new ConfigError(`Unknown --criterion "${o.criterion}"; expected one of ${CRITERIA.join(', ')}`, 'criterion');
  const ratios = validateSensitivityRatios(o.ratios, '--ratios');
  const atRatio = o.atRatio ?? 0.5;
  if (!ratios.some((r) => Math.abs(r - atRatio) < 1e-9)) throw new ConfigError(`--at-ratio ${atRatio} is not one of --ratios (${ratios.join(', ')})`, 'at-ratio');
  const maxDrop = o.maxDrop ?? 1;
  if (!Number.isFinite(maxDrop)) throw new ConfigError(`--max-drop expects a number of points, got ${maxDrop}`, 'max-drop');
  if (o.testSubset !== undefined && !(Number.isInteger(o.testSubset) && o.testSubset > 0)) throw new ConfigError(`--test-subset expects a positive integer, got ${o.testSubset}`, 'test-subset');
  if (resolve(o.out) === resolve(o.weights)) throw new ConfigError(`--out ${o.out} is the --weights folder: give the scan its own folder`, 'out');
  if (existsSync(join(o.out, SENSITIVITY_CSV)) && !o.force) {
    throw new ConfigError(`--out ${o.out} already holds a scan (${SENSITIVITY_CSV}); give another folder, or --force to overwrite it`, 'out');
  }
  let isDir = false;
  try {
    isDir = statSync(o.weights).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(`--weights ${o.weights}: ${code === 'ENOENT' || code === 'ENOTDIR' ? 'no such folder' : `cannot be read (${fsErrorReason(e)})`}`, 'weights');
  }
  if (!isDir) throw new ConfigError(`--weights ${o.weights}: not a folder (expected a saved model: spec.json, weights.json, weights.bin)`, 'weights');
  return { criterion: o.criterion, ratios, atRatio, maxDrop };
}

export async function sensitivityToFolder(o: SensitivityToFolderOptions): Promise<SensitivityToFolderResult> {
  const t0 = performance.now();
  const { criterion, ratios, atRatio, maxDrop } = checkOptions(o);
  const model = await loadModel(o.weights);
  try {
    checkWeightsMatch(model.spec, o);
    const datasetName = parseDatasetName(o.dataset ?? (model.spec.numClasses === 100 ? 'cifar100' : 'cifar10'));
    const ds = await loadDataset({ name: datasetName, logger: o.logger, ...(o.dataDir ? { dataDir: o.dataDir } : {}) });
    if (ds.numClasses !== model.spec.numClasses) {
      throw new ConfigError(`--weights ${o.weights} classifies ${model.spec.numClasses} classes, the data set ${ds.name} has ${ds.numClasses}`, 'dataset');
    }
    if (o.testSubset !== undefined && o.testSubset > ds.test.count) {
      throw new ConfigError(`--test-subset ${o.testSubset} is more than the ${ds.test.count} test images of ${ds.name}`, 'test-subset');
    }
    const test = o.testSubset !== undefined && o.testSubset < ds.test.count ? balancedSubset(ds.test, { total: o.testSubset, seed: 0, key: 'test-subset' }) : ds.test;
    const batchSize = o.calibrationBatchSize ?? 64;
    const calibrationCount = Math.min(ds.train.count, (o.calibrationBatches ?? 4) * batchSize);
    const calibration = criterionNeedsData(criterion) ? { split: balancedSubset(ds.train, { total: calibrationCount, seed: 0, key: 'calibration-batches' }), batchSize } : undefined;
    await makeOut(o.out);
    const data = { shape: { h: ds.height, w: ds.width, c: ds.channels }, mean: ds.mean, std: ds.std };
    o.logger.info(`sensitivity: ${model.spec.name} (${prunableGroups(model.graph).length} layers x ${ratios.length} ratios), criterion ${criterion}, ${test.count} test images`);
    const scan = await sensitivityScan({
      model,
      test,
      data,
      criterion,
      ratios,
      seed: o.seed ?? 0,
      ...(calibration ? { calibration } : {}),
      onPoint: (p, done, total) => o.logger.info(`sensitivity ${done}/${total}: ${p.layer} ratio ${p.ratio}: top-1 ${p.top1.toFixed(2)}% (drop ${p.drop.toFixed(2)})`),
    });
    const robust = robustLayers(scan, atRatio, maxDrop);
    const provenance = {
      criterion,
      model: o.model,
      width: o.widthMultiplier,
      weights: resolve(o.weights),
      dataset: ds.name,
      data_fingerprint: ds.fingerprint,
      test_images: scan.testImages,
      calibration_images: scan.calibrationImages,
      backend: o.backend,
      threads: o.threads,
      git_commit: runEnvironment(o.backend).gitCommit,
    };
    const files = await writeScan(o.out, scan, provenance, { atRatio, maxDrop, robust });
    const totalSeconds = (performance.now() - t0) / 1000;
    return { scan, robust, atRatio, maxDrop, files, totalSeconds, text: formatScan(scan, robust, { atRatio, maxDrop, out: o.out, totalSeconds }) };
  } finally {
    model.dispose();
  }
}

async function makeOut(out: string): Promise<void> {
  try {
    await ensureDir(out);
  } catch (e) {
    throw new ConfigError(`--out ${out}: cannot create the folder (${fsErrorReason(e)})`, 'out');
  }
}

/** sensitivity.csv: one row per (layer, ratio), layer-major. */
export function sensitivityCsv(scan: SensitivityScan, provenance: Record<string, string | number>): string {
  const rows = scan.points.map((p) => {
    const row: Record<string, string | number> = {
      layer: p.layer,
      layer_index: p.layerIndex,
      channels: p.channels,
      ratio: p.ratio,
      kept_channels: p.keptChannels,
      top1: +p.top1.toFixed(4),
      drop: +p.drop.toFixed(4),
      top1_unpruned: +scan.unprunedTop1.toFixed(4),
      ...provenance,
    };
    return SENSITIVITY_COLUMNS.map((c) => row[c] ?? '');
  });
  return stringify(rows, { header: true, columns: [...SENSITIVITY_COLUMNS] });
}

async function writeScan(
  out: string,
  scan: SensitivityScan,
  provenance: Record<string, string | number>,
  pick: { atRatio: number; maxDrop: number; robust: SensitivityPoint[] },
): Promise<string[]> {
  const files: string[] = [];
  const write = async (name: string, content: string | Uint8Array): Promise<void> => {
    const file = join(out, name);
    await writeFile(file, content);
    files.push(file);
  };
  await write(SENSITIVITY_CSV, sensitivityCsv(scan, provenance));
  await write(
    'sensitivity.json',
    `${JSON.stringify({ ...provenance, unprunedTop1: scan.unprunedTop1, seconds: scan.seconds, atRatio: pick.atRatio, maxDrop: pick.maxDrop, robustLayers: pick.robust.map((p) => p.layer), points: scan.points }, null, 1)}\n`,
  );
  const title = `Per-layer sensitivity: ${provenance.model} at width ${provenance.width}, ${scan.criterion} criterion`;
  const subtitle = `each layer pruned alone, no retraining; ${scan.testImages} test images; unpruned top-1 ${scan.unprunedTop1.toFixed(2)}%`;
  const spec = sensitivitySpec(scan, { title, subtitle });
  const { svg, png } = await renderSpec(spec);
  await write(`${SENSITIVITY_FIGURE}.vl.json`, `${JSON.stringify(spec, null, 2)}\n`);
  await write(`${SENSITIVITY_FIGURE}.svg`, svg);
  await write(`${SENSITIVITY_FIGURE}.png`, png);
  files.push(
    ...writeIndexHtml(
      out,
      `sensitivity ${provenance.model} x${provenance.width} (${scan.criterion})`,
      [{ name: SENSITIVITY_FIGURE, title, spec }],
      `Each prunable layer pruned alone at each ratio and evaluated without retraining (Li et al. 2017, Fig. 2(b)). Data: ${SENSITIVITY_CSV}. Works offline.`,
    ),
  );
  return files;
}

/** What the command prints: the layers that stay within the drop, and where the files are. */
export function formatScan(scan: SensitivityScan, robust: SensitivityPoint[], o: { atRatio: number; maxDrop: number; out: string; totalSeconds: number }): string {
  const layers = [...new Map(scan.points.map((p) => [p.layer, p])).values()];
  const at = scan.points.filter((p) => Math.abs(p.ratio - o.atRatio) < 1e-9);
  const lines = [
    `unpruned top-1 ${scan.unprunedTop1.toFixed(2)}% on ${scan.testImages} test images; ${layers.length} layers x ${scan.points.length / Math.max(1, layers.length)} ratios`,
    `drop at ratio ${o.atRatio} (points): ${at.map((p) => `${p.layerIndex}:${p.drop.toFixed(2)}`).join('  ')}`,
    `layers whose drop at ratio ${o.atRatio} stays under ${o.maxDrop} points: ${robust.length ? robust.map((p) => `${p.layerIndex} (${p.layer})`).join(', ') : 'none'}`,
    `run time ${o.totalSeconds.toFixed(1)} s, of which the scan ${scan.seconds.toFixed(1)} s (scoring, ${scan.points.filter((p) => p.keptChannels < p.channels).length} pruned evaluations + 1 unpruned of ${scan.testImages} images each)`,
    `wrote ${resolve(o.out)} (${SENSITIVITY_CSV}, sensitivity.json, ${SENSITIVITY_FIGURE}.png/.svg/.vl.json, index.html)`,
  ];
  return lines.join('\n');
}
