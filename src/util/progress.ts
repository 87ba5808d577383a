/**
 * A small progress reporter for downloads and training loops.
 *
 * On a terminal it draws one redrawn bar (cli-progress): label, done/total, percent, rate, ETA and
 * extra fields such as loss and accuracy. Elsewhere (CI logs, files, pipes) it writes a plain line
 * whenever another `logEveryPercent` percent is done or `logEverySeconds` have passed, and one
 * final line. It writes to the given stream (default stderr), never to stdout.
 */
import { createRequire } from 'node:module';
import type cliProgressModule from 'cli-progress';

export type ProgressFields = Record<string, string | number>;

export interface ProgressOptions {
  label: string;
  /** Total units; 0 or undefined when unknown (then no percent or ETA is shown). */
  total?: number;
  /** 'B' formats values as bytes (kB, MB, ...); any other string is printed after the counts. */
  unit?: string;
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Overrides the stream's own isTTY (a bar needs a stream that handles cursor control). */
  isTTY?: boolean;
  /** Plain mode: log a line each time this many more percent are done (default 10). */
  logEveryPercent?: number;
  /** Plain mode: log a line at least this often while updates arrive (default 10 s). */
  logEverySeconds?: number;
  /** Clock in milliseconds, for tests. */
  now?: () => number;
}

export interface Progress {
  update(done: number, fields?: ProgressFields): void;
  increment(delta?: number, fields?: ProgressFields): void;
  /** Draws or logs the final state; further calls do nothing. */
  finish(fields?: ProgressFields): void;
  /** Ends the bar after an error (logs `failed: reason`); further calls do nothing. */
  fail(reason?: string): void;
}

export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Seconds as m:ss or h:mm:ss. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function formatField(v: string | number): string {
  if (typeof v === 'string') return v;
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1000 ? v.toFixed(0) : v.toPrecision(4);
}

export function formatFields(fields: ProgressFields | undefined): string {
  if (!fields) return '';
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${formatField(v)}`)
    .join(' ');
}

/** The pieces of one progress line, shared by the bar and the plain log. */
export function progressText(opts: {
  done: number;
  total: number;
  unit: string;
  elapsedS: number;
  fields?: ProgressFields;
}): { counts: string; percent: string; rate: string; eta: string; fields: string } {
  const { done, total, unit, elapsedS } = opts;
  const fmt = (n: number) => (unit === 'B' ? formatBytes(n) : String(n));
  const unitSuffix = unit && unit !== 'B' ? ` ${unit}` : '';
  const counts = total > 0 ? `${fmt(done)}/${fmt(total)}${unitSuffix}` : `${fmt(done)}${unitSuffix}`;
  const percent = total > 0 ? `${((100 * done) / total).toFixed(1)}%` : '';
  const perS = elapsedS > 0 ? done / elapsedS : 0;
  const rate =
    elapsedS > 0
      ? unit === 'B'
        ? `${formatBytes(perS)}/s`
        : `${perS >= 100 ? perS.toFixed(0) : perS.toPrecision(3)} ${unit || 'it'}/s`
      : '';
  const eta = total > 0 && perS > 0 ? `ETA ${formatDuration((total - done) / perS)}` : '';
  return { counts, percent, rate, eta, fields: formatFields(opts.fields) };
}

export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  const isTTY = opts.isTTY ?? (stream as { isTTY?: boolean }).isTTY === true;
  return isTTY ? barProgress(opts, stream) : plainProgress(opts, stream);
}

function plainProgress(opts: ProgressOptions, stream: NodeJS.WritableStream): Progress {
  const now = opts.now ?? (() => performance.now());
  const total = opts.total ?? 0;
  const unit = opts.unit ?? '';
  const stepPct = opts.logEveryPercent ?? 10;
  const everyMs = (opts.logEverySeconds ?? 10) * 1000;
  const t0 = now();
  let lastLogAt = t0;
  let nextPct = stepPct;
  let done = 0;
  let lastFields: ProgressFields | undefined;
  let finished = false;

  const log = (final: boolean) => {
    const t = progressText({ done, total, unit, elapsedS: (now() - t0) / 1000, fields: lastFields });
    const parts = [t.percent, t.counts, t.rate, final ? `in ${formatDuration((now() - t0) / 1000)}` : t.eta, t.fields];
    stream.write(`${opts.label}: ${parts.filter((p) => p).join(' ')}${final ? ' (done)' : ''}\n`);
    lastLogAt = now();
  };

  const update = (value: number, fields?: ProgressFields) => {
    if (finished) return;
    done = value;
    if (fields) lastFields = fields;
    const pct = total > 0 ? (100 * done) / total : 0;
    let due = false;
    if (total > 0 && pct >= nextPct && pct < 100) {
      due = true;
      while (nextPct <= pct) nextPct += stepPct;
    }
    if (now() - lastLogAt >= everyMs) due = true;
    if (due) log(false);
  };

  return {
    update,
    increment: (delta = 1, fields) => update(done + delta, fields),
    finish: (fields) => {
      if (finished) return;
      if (fields) lastFields = fields;
      log(true);
      finished = true;
    },
    fail: (reason) => {
      if (finished) return;
      stream.write(`${opts.label}: failed after ${formatDuration((now() - t0) / 1000)}${reason ? `: ${reason}` : ''}\n`);
      finished = true;
    },
  };
}

function barProgress(opts: ProgressOptions, stream: NodeJS.WritableStream): Progress {
  const now = opts.now ?? (() => performance.now());
  const total = opts.total ?? 0;
  const unit = opts.unit ?? '';
  const t0 = now();
  let done = 0;
  let lastFields: ProgressFields | undefined;
  let finished = false;
  // Loaded when a bar is drawn, not at import: the CLI imports formatDuration for every start.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof cliProgressModule;
  const bar = new cliProgress.SingleBar(
    {
      format: `${opts.label} ${total > 0 ? '|{bar}| {pct} ' : ''}{counts} {rate} {etaText} {fields}`,
      stream: stream as NodeJS.WritableStream,
      hideCursor: false,
      clearOnComplete: false,
      stopOnComplete: false,
      barsize: 24,
      fps: 10,
      // Our own stream choice decides TTY mode; make the library draw even on a stream object
      // that only claims isTTY (its own check reads stream.isTTY).
      noTTYOutput: true,
      notTTYSchedule: 100,
    },
    cliProgress.Presets.shades_classic,
  );
  const payload = () => {
    const t = progressText({ done, total, unit, elapsedS: (now() - t0) / 1000, fields: lastFields });
    return { pct: t.percent, counts: t.counts, rate: t.rate, etaText: t.eta, fields: t.fields };
  };
  bar.start(Math.max(total, 1), 0, payload());
  const update = (value: number, fields?: ProgressFields) => {
    if (finished) return;
    done = value;
    if (fields) lastFields = fields;
    bar.update(Math.min(done, Math.max(total, 1)), payload());
  };
  return {
    update,
    increment: (delta = 1, fields) => update(done + delta, fields),
    finish: (fields) => {
      if (finished) return;
      if (fields) lastFields = fields;
      bar.update(Math.min(done, Math.max(total, 1)), { ...payload(), etaText: `in ${formatDuration((now() - t0) / 1000)}` });
      bar.stop();
      finished = true;
    },
    fail: (reason) => {
      if (finished) return;
      bar.update(Math.min(done, Math.max(total, 1)), { ...payload(), etaText: 'failed', fields: reason ?? '' });
      bar.stop();
      finished = true;
    },
  };
}
