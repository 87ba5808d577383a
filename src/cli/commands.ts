import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, fsErrorReason, PrunebenchError } from '../util/errors.ts';

/** A CLI command: its usage text, its options (node:util parseArgs) and what it does. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** How many positional arguments it takes (default none; Infinity for a list), and what they are. */
  positionals?: { max: number; what: string };
  run(args: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] }, io: CliIo): Promise<number>;
}

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseCommand(cmd: Command, argv: string[]): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  const options: NonNullable<ParseArgsConfig['options']> = { ...COMMON_OPTIONS, ...cmd.options };
  let parsed: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[]; tokens: { kind: string; name?: string }[] };
  try {
    const r = parseArgs({ args: negativeValuesJoined(argv, options), options, allowPositionals: true, strict: true, tokens: true });
    parsed = { values: r.values as Record<string, string | boolean | string[] | undefined>, positionals: r.positionals, tokens: r.tokens };
  } catch (e) {
    // node's own message for an unknown flag advises '-- "--flag"' (for positionals that start
    // with '-'), which misleads here: say the command has no such option, and name the closest.
    const code = (e as NodeJS.ErrnoException).code;
    const unknown = code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /'(-{1,2}[^']+)'/.exec((e as Error).message)?.[1] : undefined;
    if (unknown !== undefined) {
      const near = closestOption(unknown.replace(/^-+/, '').split('=')[0]!, Object.keys(options));
      throw new ConfigError(`prunebench ${cmd.name} has no option ${unknown}${near ? ` (did you mean --${near}?)` : ''}; see prunebench ${cmd.name} --help`, cmd.name);
    }
    // One line, as every other error: node's message can span lines; the usage is one flag away.
    const message = (e as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, '').replace(/\s*\n\s*/g, ' ');
    throw new ConfigError(`${message}; see prunebench ${cmd.name} --help`, cmd.name);
  }
  // What parseArgs lets pass silently: a flag given twice (the last would win) and extra words.
  const seen = new Set<string>();
  for (const t of parsed.tokens) {
    if (t.kind !== 'option' || t.name === undefined || options[t.name]?.multiple) continue;
    if (seen.has(t.name)) throw new ConfigError(`--${t.name} is given more than once; give it once (see prunebench ${cmd.name} --help)`, t.name);
    seen.add(t.name);
  }
  const allowed = cmd.positionals ?? { max: 0, what: '' };
  if (parsed.positionals.length > allowed.max) {
    const extra = parsed.positionals.slice(allowed.max).map((p) => JSON.stringify(p)).join(' ');
    const takes = allowed.max === 0 ? 'takes no positional argument' : `takes ${allowed.max === 1 ? 'one' : `at most ${allowed.max}`} (${allowed.what})`;
    throw new ConfigError(`unexpected argument ${extra}: prunebench ${cmd.name} ${takes}; see prunebench ${cmd.name} --help`, cmd.name);
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

/** The option name nearest to a mistyped one: a prefix either way, or within 2 edits (else none). */
export function closestOption(typed: string, names: string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const name of names) {
    const d = typed.length >= 3 && (name.startsWith(typed) || typed.startsWith(name)) ? 0.5 : editDistance(typed, name);
    if (d <= 2 && (!best || d < best.d)) best = { name, d };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * `--seed -1` as `--seed=-1`: parseArgs takes a value that starts with '-' for an option, and
 * refuses it. A negative number after a flag that takes a value is that flag's value.
 */
function negativeValuesJoined(argv: string[], options: NonNullable<ParseArgsConfig['options']>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    const long = a.startsWith('--') && !a.includes('=') ? options[a.slice(2)] : undefined;
    if (long?.type === 'string' && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

export function str(v: unknown, name: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new ConfigError(`--${name} expects a value`, name);
  return v;
}

export function num(v: unknown, name: string): number | undefined {
  const s = str(v, name);
  if (s === undefined) return undefined;
  const n = Number(s);
  if (s.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`--${name} expects a number, got "${s}"`, name);
  return n;
}

/** Comma-separated distinct non-negative integers (`--seeds 1,2,3`); an empty entry is a typo, not seed 0. */
export function intList(v: unknown, name: string): number[] | undefined {
  const s = str(v, name);
  if (s === undefined) return undefined;
  const entries = s.split(',');
  if (entries.some((x) => x.trim() === '')) throw new ConfigError(`--${name} expects comma-separated non-negative integers, got "${s}" (an empty entry)`, name);
  const seen = new Set<number>();
  return entries.map((x) => {
    const n = Number(x.trim());
    if (!Number.isInteger(n) || n < 0) throw new ConfigError(`--${name} expects comma-separated non-negative integers, got "${s}"`, name);
    if (seen.has(n)) throw new ConfigError(`--${name} "${s}" names seed ${n} twice`, name);
    seen.add(n);
    return n;
  });
}

/** A comma-separated list of numbers (`--ratios 0.1,0.2`); ranges are the caller's to check. */
export function numList(v: unknown, name: string): number[] | undefined {
  const s = str(v, name);
  if (s === undefined) return undefined;
  return s.split(',').map((x) => {
    const n = Number(x.trim());
    if (x.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`--${name} expects comma-separated numbers, got "${s}"`, name);
    return n;
  });
}

/** An integer flag, at least `min` (`--jobs 0` is refused, not quietly taken as 1). */
export function int(v: unknown, name: string, min: number): number | undefined {
  const n = num(v, name);
  if (n === undefined) return undefined;
  if (!Number.isInteger(n) || n < min) {
    const what = min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer >= ${min}`;
    throw new ConfigError(`--${name} expects ${what}, got ${String(str(v, name))}`, name);
  }
  return n;
}

/** A folder the user named that must already exist (an input: --data-dir, a run dir). */
export function existingDir(v: unknown, name: string): string | undefined {
  const dir = str(v, name);
  if (dir === undefined) return undefined;
  let s;
  try {
    s = statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(`--${name} ${dir}: ${code === 'ENOENT' || code === 'ENOTDIR' ? 'no such folder' : `cannot be read (${fsErrorReason(e)})`}`, name);
  }
  if (!s.isDirectory()) throw new ConfigError(`--${name} ${dir}: not a folder`, name);
  return dir;
}

/**
 * A folder the command will create or write into: checked before any slow work, so a file in the
 * way or a read-only place fails at once with the flag's name, not after minutes of rendering.
 */
export function outputDir(v: unknown, name: string): string | undefined {
  const dir = str(v, name);
  if (dir === undefined) return undefined;
  let probe = resolve(dir);
  for (;;) {
    let s;
    try {
      s = statSync(probe);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(probe) !== probe) {
        probe = dirname(probe);
        continue;
      }
      throw new ConfigError(`--${name} ${dir}: cannot be created (${fsErrorReason(e)})`, name);
    }
    if (!s.isDirectory()) throw new ConfigError(`--${name} ${dir}: ${probe === resolve(dir) ? 'is a file, not a folder' : `${probe} is a file, not a folder`}`, name);
    try {
      accessSync(probe, constants.W_OK);
    } catch (e) {
      throw new ConfigError(`--${name} ${dir}: ${probe} is not writable (${fsErrorReason(e)})`, name);
    }
    return dir;
  }
}

/**
 * How an error ends the process: the user's mistakes (typed errors, and files or folders that
 * are missing or cannot be read or written) as one `error:` line, exit 2; anything else is a bug,
 * with its stack, exit 3.
 */
export function reportError(e: unknown, io: CliIo): number {
  if (e instanceof PrunebenchError) {
    io.err(`error: ${e.message}`);
    return 2;
  }
  const sys = e as NodeJS.ErrnoException;
  if (e instanceof Error && typeof sys.code === 'string' && typeof sys.path === 'string') {
    // e.g. "ENOTDIR: not a directory, mkdir '/a/b'" -> "cannot mkdir /a/b: not a directory (ENOTDIR)"
    io.err(`error: cannot ${sys.syscall ?? 'use'} ${sys.path}: ${fsErrorReason(e)}`);
    return 2;
  }
  io.err(`internal error: ${(e as Error).stack ?? String(e)}`);
  return 3;
}
