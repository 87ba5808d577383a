/**
 * Quoting for the two languages a batch script is written in: bash (the body) and sbatch's
 * `#SBATCH` directive parser, which splits like a shell (single/double quotes, backslash escapes,
 * an unquoted `#` starts a comment) but cannot represent a newline. A single-quoted word is
 * read the same way by both, so one quoting function serves both.
 */

const SAFE_WORD = /^[A-Za-z0-9_\-.,:/=@%+]+$/;

/** Quote `s` as one bash word (and one `#SBATCH` token). Newlines are the caller's to reject. */
export function shellQuote(s: string): string {
  if (SAFE_WORD.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A command line, for logs and dry runs: each word quoted. */
export function shellJoin(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}

/** Slurm filename patterns (`--output`) give `%` a meaning: a literal one is written `%%`. */
export function escapeSlurmFilename(path: string): string {
  return path.replace(/%/g, '%%');
}

/**
 * An `--array` index list from task ids: consecutive runs become ranges ("0-3,7,9-10"), plus the
 * `%K` throttle. `[0,1,2,3]` with K=2 gives "0-3%2".
 */
export function arraySpec(taskIds: readonly number[], maxParallel?: number): string {
  const ids = [...new Set(taskIds)].sort((a, b) => a - b);
  if (ids.length === 0) throw new RangeError('arraySpec: no task ids');
  const parts: string[] = [];
  let start = ids[0]!;
  let prev = start;
  for (const id of [...ids.slice(1), Number.NaN]) {
    if (id === prev + 1) {
      prev = id;
      continue;
    }
    parts.push(start === prev ? `${start}` : `${start}-${prev}`);
    start = id;
    prev = id;
  }
  return parts.join(',') + (maxParallel !== undefined ? `%${maxParallel}` : '');
}

/**
 * The task ids named by Slurm's `ArrayTaskId=` field: "5", "0-3%2", "1,3,5-7", "0-9:2%4"
 * (a pending array's remaining tasks are shown as one record with such a list).
 */
export function parseArrayTaskIds(field: string): number[] {
  const body = field.replace(/%\d+$/, '');
  const out: number[] = [];
  for (const part of body.split(',')) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    const step = m[3] !== undefined ? Math.max(1, Number(m[3])) : 1;
    for (let i = a; i <= b; i += step) out.push(i);
  }
  return out;
}
