/**
 * checkDataset: load a data set the way a run would and report what it holds (files, sizes,
 * record counts, label ranges, per-class counts, per-channel mean/std, fingerprint, timings).
 * Problems that stop loading become `errors` (ok: false) instead of exceptions.
 */
import { PrunebenchError } from '../util/errors.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import type { DataFileInfo } from './files.ts';
import { findOrDownload, readDatasetDir, DEFAULT_SYNTHETIC, type LoadDatasetOptions } from './load.ts';
import { fileDatasetSpec, parseDatasetName, type DatasetName } from './names.ts';
import { channelStats, classCounts } from './stats.ts';
import { syntheticDataset } from './synthetic.ts';
import type { ImageSplit } from './types.ts';

export interface SplitCheck {
  count: number;
  perClass: number[];
  labelMin: number;
  labelMax: number;
  /** Pixel mean and std per channel, 0..1 scale. */
  mean: number[];
  std: number[];
}

export interface DatasetCheckReport {
  name: DatasetName | string;
  ok: boolean;
  errors: string[];
  warnings: string[];
  source?: string;
  origin?: string;
  files: DataFileInfo[];
  officialCounts?: boolean;
  height?: number;
  width?: number;
  channels?: number;
  numClasses?: number;
  classNames?: string[];
  classNamesFrom?: 'file' | 'built-in';
  train?: SplitCheck;
  test?: SplitCheck;
  /** The normalisation a run uses. */
  normalisation?: { mean: number[]; std: number[] };
  fingerprint?: string;
  seconds: { read: number; hash: number; decode: number; stats: number; total: number };
}

export type CheckDatasetOptions = Omit<LoadDatasetOptions, 'logger'> & {
  /** Progress and info messages (default: silent; warnings are collected in the report). */
  logger?: Logger;
};

function splitCheck(split: ImageSplit, numClasses: number, channels: number): SplitCheck {
  let lo = Infinity;
  let hi = -Infinity;
  for (const l of split.labels) {
    if (l < lo) lo = l;
    if (l > hi) hi = l;
  }
  return { count: split.count, perClass: classCounts(split.labels, numClasses), labelMin: lo, labelMax: hi, ...channelStats(split, channels) };
}

export async function checkDataset(opts: CheckDatasetOptions): Promise<DatasetCheckReport> {
  const t0 = performance.now();
  const seconds = { read: 0, hash: 0, decode: 0, stats: 0, total: 0 };
  const report: DatasetCheckReport = { name: opts.name, ok: false, errors: [], warnings: [], files: [], seconds };
  const warnings: string[] = [];
  const logger: Logger = {
    info: (m) => (opts.logger ?? silentLogger).info(m),
    warn: (m) => warnings.push(m),
  };
  try {
    const name = parseDatasetName(opts.name);
    report.name = name;
    if (name === 'synthetic') {
      const ds = syntheticDataset({ ...DEFAULT_SYNTHETIC, ...opts.synthetic });
      const ts = performance.now();
      Object.assign(report, {
        source: ds.source,
        origin: 'memory',
        height: ds.height,
        width: ds.width,
        channels: ds.channels,
        numClasses: ds.numClasses,
        classNames: ds.classNames,
        classNamesFrom: ds.classNamesFrom,
        train: splitCheck(ds.train, ds.numClasses, ds.channels),
        test: splitCheck(ds.test, ds.numClasses, ds.channels),
        normalisation: { mean: ds.mean, std: ds.std },
        fingerprint: ds.fingerprint,
      });
      seconds.stats = (performance.now() - ts) / 1000;
    } else {
      const spec = fileDatasetSpec(name);
      const { dir, origin } = await findOrDownload(spec, { ...opts, download: opts.download ?? false }, logger);
      report.source = dir;
      report.origin = origin;
      const f = await readDatasetDir(spec, dir, { logger, requireOfficialCounts: opts.requireOfficialCounts });
      Object.assign(seconds, f.seconds);
      const ts = performance.now();
      Object.assign(report, {
        files: f.files,
        officialCounts: f.officialCounts,
        height: f.height,
        width: f.width,
        channels: f.channels,
        numClasses: f.numClasses,
        classNames: f.classNames,
        classNamesFrom: f.classNamesFrom,
        train: splitCheck(f.train, f.numClasses, f.channels),
        test: splitCheck(f.test, f.numClasses, f.channels),
        normalisation: { mean: spec.mean, std: spec.std },
        fingerprint: f.fingerprint,
      });
      seconds.stats = (performance.now() - ts) / 1000;
    }
    report.ok = true;
  } catch (e) {
    if (!(e instanceof PrunebenchError)) throw e;
    report.errors.push(e.message);
  }
  report.warnings = warnings;
  seconds.total = (performance.now() - t0) / 1000;
  return report;
}

const f4 = (xs: number[]) => xs.map((x) => x.toFixed(4)).join(', ');
const f1 = (xs: number[]) => xs.map((x) => (x * 255).toFixed(2)).join(', ');

export function formatDatasetCheck(r: DatasetCheckReport): string {
  const lines: string[] = [];
  lines.push(`dataset ${r.name}: ${r.ok ? 'OK' : 'FAILED'}`);
  if (r.source) lines.push(`  source: ${r.source} (${r.origin})`);
  for (const e of r.errors) lines.push(`  error: ${e}`);
  if (r.files.length > 0) {
    lines.push('  files:');
    const w = Math.max(...r.files.map((f) => f.path.length));
    for (const f of r.files) {
      lines.push(`    ${f.path.padEnd(w)}  ${String(f.bytes).padStart(10)} bytes  ${String(f.records).padStart(6)} records  (${f.split})`);
    }
  }
  if (r.ok) {
    lines.push(`  images: ${r.height}x${r.width}x${r.channels}, ${r.numClasses} classes (names from ${r.classNamesFrom === 'file' ? 'the meta file' : 'the built-in list'})`);
    if (r.officialCounts !== undefined) lines.push(`  official record counts: ${r.officialCounts ? 'yes' : 'NO'}`);
    for (const [label, s] of [['train', r.train], ['test', r.test]] as const) {
      if (!s) continue;
      lines.push(`  ${label}: ${s.count} images, labels ${s.labelMin}..${s.labelMax}`);
      const names = r.classNames ?? [];
      const perClass = s.perClass.map((c, k) => `${names[k] ?? k}=${c}`);
      // Wrap long per-class lists (CIFAR-100) at about 100 characters.
      let line = '    per class:';
      for (const p of perClass) {
        if (line.length + p.length + 1 > 100) {
          lines.push(line);
          line = '     ';
        }
        line += ` ${p}`;
      }
      lines.push(line);
      lines.push(`    pixel mean ${f4(s.mean)} (0-255: ${f1(s.mean)}); std ${f4(s.std)} (0-255: ${f1(s.std)})`);
    }
    if (r.normalisation) lines.push(`  normalisation used: mean ${f4(r.normalisation.mean)}, std ${f4(r.normalisation.std)}`);
    lines.push(`  fingerprint: ${r.fingerprint}`);
  }
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  const s = r.seconds;
  lines.push(
    `  time: ${s.total.toFixed(2)} s (read ${s.read.toFixed(2)}, decode ${s.decode.toFixed(2)}, sha256 ${s.hash.toFixed(2)}, stats ${s.stats.toFixed(2)})`,
  );
  return lines.join('\n');
}
