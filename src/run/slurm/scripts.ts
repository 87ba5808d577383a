import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../../util/errors.ts';
import { slurmLayout } from './layout.ts';
import { escapeSlurmFilename, shellQuote } from './quote.ts';
import type { BuildSlurmScriptsOptions, SlurmArrayScript, SlurmOptions, SlurmScripts, SweepCell } from './types.ts';

export const DEFAULT_MAX_ARRAY_SIZE = 1001;
export const DEFAULT_JOB_NAME = 'prunebench';

/** Cell ids become directory names and bash array elements: keep them plain. */
const CELL_ID = /^[A-Za-z0-9_][A-Za-z0-9_.,+=@:-]*$/;
const JOB_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const TIME = /^(\d+-\d+(:\d+){0,2}|\d+(:\d+){0,2}|UNLIMITED|INFINITE)$/i;
const MEM = /^\d+[KMGT]?B?$/i;
const PARTITION = /^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$/;
const GRES = /^[A-Za-z0-9_.:,=/-]+$/;
/** sbatch options this module sets itself; passing them in sbatchArgs would silently break a sweep. */
const OWNED_OPTIONS = ['array', 'dependency', 'output', 'error', 'job-name', 'chdir', 'parsable', 'wrap', 'wait'];
const OWNED_SHORT = ['-a', '-d', '-o', '-e', '-J', '-D', '-W'];

function checkLine(value: string, key: string): void {
  if (/[\n\r\0]/.test(value)) throw new ConfigError(`${key} must be one line, got ${JSON.stringify(value)}`, key);
}

/** Throw a ConfigError naming the option when a Slurm option is malformed. */
export function validateSlurmOptions(o: SlurmOptions): void {
  if (o.partition !== undefined && !PARTITION.test(o.partition))
    throw new ConfigError(`slurm partition must be a name or comma list of names, got ${JSON.stringify(o.partition)}`, 'partition');
  if (o.gres !== undefined && !GRES.test(o.gres))
    throw new ConfigError(`slurm gres must look like "gpu:1" or "gpu:a100:2", got ${JSON.stringify(o.gres)}`, 'gres');
  if (o.time !== undefined && !TIME.test(o.time))
    throw new ConfigError(`slurm time must be MM, HH:MM:SS or D-HH:MM:SS, got ${JSON.stringify(o.time)}`, 'time');
  if (o.mem !== undefined && !MEM.test(o.mem))
    throw new ConfigError(`slurm mem must be a size such as 16G or 4000M, got ${JSON.stringify(o.mem)}`, 'mem');
  for (const [key, v] of [['maxParallel', o.maxParallel], ['maxArraySize', o.maxArraySize]] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1))
      throw new ConfigError(`slurm ${key} must be a positive integer, got ${v}`, key);
  }
  if (o.jobName !== undefined && !JOB_NAME.test(o.jobName))
    throw new ConfigError(`slurm jobName must match ${JOB_NAME}, got ${JSON.stringify(o.jobName)}`, 'jobName');
  for (const arg of o.sbatchArgs ?? []) {
    checkLine(arg, 'sbatchArgs');
    if (!arg.startsWith('-')) throw new ConfigError(`each sbatchArgs element must be one option starting with "-", got ${JSON.stringify(arg)}`, 'sbatchArgs');
    const long = /^--([A-Za-z-]+)/.exec(arg)?.[1];
    const short = /^(-[A-Za-z])/.exec(arg)?.[1];
    if ((long !== undefined && OWNED_OPTIONS.includes(long)) || (!arg.startsWith('--') && short !== undefined && OWNED_SHORT.includes(short)))
      throw new ConfigError(`sbatchArgs must not set ${arg.split('=')[0]}: the Slurm executor sets it itself`, 'sbatchArgs');
  }
}

/** Throw a ConfigError for duplicate, unsafe or stage-less cells. */
export function validateCells(cells: readonly SweepCell[]): void {
  if (cells.length === 0) throw new ConfigError('a Slurm sweep needs at least one cell', 'cells');
  const seen = new Set<string>();
  for (const c of cells) {
    if (typeof c.id !== 'string' || !CELL_ID.test(c.id))
      throw new ConfigError(`cell id ${JSON.stringify(c.id)} is not usable as a directory name (allowed: ${CELL_ID})`, 'cells');
    if (seen.has(c.id)) throw new ConfigError(`duplicate cell id "${c.id}"`, 'cells');
    seen.add(c.id);
    if (!Number.isInteger(c.stage) || c.stage < 0)
      throw new ConfigError(`cell "${c.id}" has stage ${c.stage}; expected a non-negative integer`, 'cells');
  }
}

/** Cells in the order of cells.json: by stage, keeping the given order within a stage. */
export function orderCells(cells: readonly SweepCell[]): SweepCell[] {
  return cells
    .map((c, i) => ({ c, i }))
    .sort((a, b) => a.c.stage - b.c.stage || a.i - b.i)
    .map(({ c }) => ({ id: c.id, stage: c.stage }));
}

/** Split the ordered cells into stages and each stage into chunks of at most maxArraySize. */
export function planArrays(ordered: readonly SweepCell[], maxArraySize: number): { stage: number; chunks: { offset: number; cells: SweepCell[] }[] }[] {
  const stages: { stage: number; chunks: { offset: number; cells: SweepCell[] }[] }[] = [];
  let i = 0;
  while (i < ordered.length) {
    const stage = ordered[i]!.stage;
    let end = i;
    while (end < ordered.length && ordered[end]!.stage === stage) end++;
    const chunks = [];
    for (let off = i; off < end; off += maxArraySize) chunks.push({ offset: off, cells: ordered.slice(off, Math.min(end, off + maxArraySize)) });
    stages.push({ stage, chunks });
    i = end;
  }
  return stages;
}

function absolute(path: string, key: string): string {
  checkLine(path, key);
  if (path.includes('\\')) throw new ConfigError(`${key} must not contain a backslash (Slurm filename patterns treat it specially): ${path}`, key);
  return isAbsolute(path) ? path : resolve(path);
}

function directives(o: SlurmOptions, jobName: string, output: string, workDir: string, withGres: boolean): string[] {
  const lines = [`--job-name=${jobName}`, `--output=${output}`, `--chdir=${workDir}`];
  if (o.partition !== undefined) lines.push(`--partition=${o.partition}`);
  if (withGres && o.gres !== undefined) lines.push(`--gres=${o.gres}`);
  if (o.time !== undefined) lines.push(`--time=${o.time}`);
  if (o.mem !== undefined) lines.push(`--mem=${o.mem}`);
  lines.push(...(o.sbatchArgs ?? []));
  return lines.map((d) => `#SBATCH ${shellQuote(d)}`);
}

function bashArray(items: readonly string[]): string {
  const out: string[] = [];
  for (let i = 0; i < items.length; i += 8) out.push('  ' + items.slice(i, i + 8).map(shellQuote).join(' '));
  return `(\n${out.join('\n')}\n)`;
}

/**
 * The batch scripts of a sweep: per stage, one array job per chunk of at most maxArraySize cells,
 * plus one merge job. Array ranges, dependencies and the %K throttle are not in the scripts:
 * they are sbatch command-line options chosen at submission (see submitSweepToSlurm).
 *
 * Each task exports RUN_DIR-like variables (PRUNEBENCH_RUN_DIR, PRUNEBENCH_CELLS_FILE), CELL_INDEX
 * (= offset + SLURM_ARRAY_TASK_ID, a global index into cells.json), CELL_ID and CELL_DIR, creates
 * CELL_DIR, runs cellCommand in a subshell and records its exit code in CELL_DIR/slurm-task.json.
 * The task's exit code is the cell command's.
 */
export function buildSlurmScripts(opts: BuildSlurmScriptsOptions): SlurmScripts {
  const o = opts.options;
  validateSlurmOptions(o);
  validateCells(opts.cells);
  if (!opts.cellCommand.trim()) throw new ConfigError('cellCommand is empty', 'cellCommand');
  if (!opts.mergeCommand.trim()) throw new ConfigError('mergeCommand is empty', 'mergeCommand');
  const runDir = absolute(opts.runDir, 'runDir');
  const workDir = absolute(opts.workDir, 'workDir');
  const maxArraySize = o.maxArraySize ?? DEFAULT_MAX_ARRAY_SIZE;
  const base = o.jobName ?? DEFAULT_JOB_NAME;
  const logs = escapeSlurmFilename(slurmLayout.logsDir(runDir));
  const ordered = orderCells(opts.cells);
  const plan = planArrays(ordered, maxArraySize);
  const env = [
    `export PRUNEBENCH_RUN_DIR=${shellQuote(runDir)}`,
    `export PRUNEBENCH_CELLS_FILE=${shellQuote(slurmLayout.cellsFile(runDir))}`,
  ];

  const stages = plan.map(({ stage, chunks }) => ({
    stage,
    arrays: chunks.map((chunk, part): SlurmArrayScript => {
      const jobName = `${base}-s${stage}`;
      const ids = chunk.cells.map((c) => c.id);
      const last = chunk.offset + ids.length - 1;
      const script = [
        '#!/bin/bash',
        `# prunebench sweep, stage ${stage}, part ${part + 1} of ${chunks.length}: cells ${chunk.offset}..${last} of cells.json.`,
        '# Submitted as an array job: sbatch --parsable --array=<task ids>[%K] [--dependency=afterany:<previous stage>] <this file>',
        ...directives(o, jobName, `${logs}/${jobName}_%A_%a.out`, workDir, true),
        '',
        ...env,
        `OFFSET=${chunk.offset}`,
        `CELL_IDS=${bashArray(ids)}`,
        'if [ -z "${SLURM_ARRAY_TASK_ID:-}" ] || [ "$SLURM_ARRAY_TASK_ID" -ge "${#CELL_IDS[@]}" ]; then',
        `  echo "prunebench: this script runs array tasks 0-${ids.length - 1}, got SLURM_ARRAY_TASK_ID='\${SLURM_ARRAY_TASK_ID:-}'" >&2`,
        '  exit 2',
        'fi',
        'export CELL_INDEX=$((OFFSET + SLURM_ARRAY_TASK_ID))',
        'export CELL_ID="${CELL_IDS[$SLURM_ARRAY_TASK_ID]}"',
        'export CELL_DIR="$PRUNEBENCH_RUN_DIR/cells/$CELL_ID"',
        'mkdir -p "$CELL_DIR" || exit 2',
        'STARTED_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)',
        'echo "prunebench: cell $CELL_INDEX ($CELL_ID), task ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} on $(hostname) at $STARTED_AT" >&2',
        '(',
        opts.cellCommand,
        ')',
        'rc=$?',
        'printf \'{"jobId":"%s_%s","exitCode":%d,"host":"%s","startedAt":"%s","endedAt":"%s"}\\n\' \\',
        '  "$SLURM_ARRAY_JOB_ID" "$SLURM_ARRAY_TASK_ID" "$rc" "$(hostname)" "$STARTED_AT" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \\',
        '  > "$CELL_DIR/slurm-task.json.tmp" && mv -f "$CELL_DIR/slurm-task.json.tmp" "$CELL_DIR/slurm-task.json"',
        'echo "prunebench: cell $CELL_ID exited with code $rc" >&2',
        'exit $rc',
        '',
      ].join('\n');
      return { script, cellIds: ids, offset: chunk.offset, size: ids.length };
    }),
  }));

  const mergeName = `${base}-merge`;
  const mergeScript = [
    '#!/bin/bash',
    '# prunebench sweep: merge job, after every array of the sweep has ended (afterany), whatever their outcome.',
    '# Submitted as: sbatch --parsable --dependency=afterany:<every array job> <this file>',
    ...directives(o, mergeName, `${logs}/${mergeName}_%j.out`, workDir, false),
    '',
    ...env,
    'echo "prunebench: merging $PRUNEBENCH_RUN_DIR on $(hostname)" >&2',
    '(',
    opts.mergeCommand,
    ')',
    'rc=$?',
    'echo "prunebench: merge exited with code $rc" >&2',
    'exit $rc',
    '',
  ].join('\n');
  return { stages, mergeScript };
}
