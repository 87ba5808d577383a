import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync as mkdtempRaw, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../util/errors.ts';
import { silentLogger } from '../../util/log.ts';
import { arraySpec, escapeSlurmFilename, parseArrayTaskIds, shellQuote } from './quote.ts';
import { buildSlurmScripts, orderCells } from './scripts.ts';
import { submitSweepToSlurm } from './submit.ts';
import type { SweepCell } from './types.ts';

const tmpDirs: string[] = [];
/** mkdtemp, removed after the file's tests. */
function mkdtempSync(prefix: string): string {
  const d = mkdtempRaw(prefix);
  tmpDirs.push(d);
  return d;
}
afterAll(() => tmpDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const tmp = () => mkdtempSync(join(tmpdir(), 'slurm-scripts-'));

/** Run a generated array script with bash as Slurm would run task `taskId` (#SBATCH lines are comments to bash). */
function runTask(script: string, taskId: number, dir: string): { code: number; stdout: string; stderr: string } {
  const file = join(dir, `task-${taskId}.sh`);
  writeFileSync(file, script);
  const r = spawnSync('bash', [file], { env: { PATH: process.env.PATH, SLURM_ARRAY_TASK_ID: String(taskId), SLURM_ARRAY_JOB_ID: '77' }, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The words bash makes of a `#SBATCH` line's remainder; sbatch's directive parser splits the same way. */
function directiveWords(line: string): string[] {
  const r = spawnSync('bash', ['-c', `for w in ${line.replace(/^#SBATCH /, '')}; do printf '%s\\0' "$w"; done`], { encoding: 'utf8' });
  return r.stdout.split('\0').slice(0, -1);
}

const directives = (script: string) => script.split('\n').filter((l) => l.startsWith('#SBATCH '));

describe('arraySpec', () => {
  it('compresses task ids into ranges and appends the %K throttle', () => {
    expect(arraySpec([0, 1, 2, 3], 2)).toBe('0-3%2');
    expect(arraySpec([7, 0, 1, 2, 5, 8])).toBe('0-2,5,7-8');
    expect(arraySpec([4])).toBe('4');
  });
  it('round-trips through the ArrayTaskId parser for irregular sets', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let trial = 0; trial < 50; trial++) {
      const ids = [...new Set(Array.from({ length: 1 + Math.floor(rand() * 20) }, () => Math.floor(rand() * 40)))].sort((a, b) => a - b);
      expect(parseArrayTaskIds(arraySpec(ids, 3))).toEqual(ids);
    }
  });
  it('reads the step form that scontrol may print', () => {
    expect(parseArrayTaskIds('0-9:3%4')).toEqual([0, 3, 6, 9]);
  });
});

describe('shellQuote', () => {
  it('gives bash back the exact string for awkward inputs', () => {
    for (const s of ['plain', 'with space', "it's", 'a"b', '$HOME `x` \\n', '#hash', '', 'ünï %A']) {
      const r = spawnSync('bash', ['-c', `printf '%s' ${shellQuote(s)}`], { encoding: 'utf8' });
      expect(r.stdout).toBe(s);
    }
  });
  it('escapes % in Slurm filename patterns', () => {
    expect(escapeSlurmFilename('/a/50%/x')).toBe('/a/50%%/x');
  });
});

describe('buildSlurmScripts', () => {
  const mixed: SweepCell[] = [
    { id: 'ft-0', stage: 1 },
    ...Array.from({ length: 10 }, (_, k) => ({ id: `base-${k}`, stage: 0 })),
    { id: 'ft-1', stage: 1 },
    { id: 'ft-2', stage: 1 },
  ];

  it('orders cells by stage, keeping the given order within a stage', () => {
    expect(orderCells(mixed).map((c) => c.id)).toEqual([...Array.from({ length: 10 }, (_, k) => `base-${k}`), 'ft-0', 'ft-1', 'ft-2']);
  });

  it('splits a stage into arrays of at most maxArraySize with offsets into cells.json', () => {
    const built = buildSlurmScripts({ runDir: '/r', cells: mixed, cellCommand: 'true', mergeCommand: 'true', workDir: '/w', options: { maxArraySize: 4 } });
    const shape = built.stages.map((s) => ({ stage: s.stage, arrays: s.arrays.map((a) => [a.offset, a.size]) }));
    expect(shape).toEqual([
      { stage: 0, arrays: [[0, 4], [4, 4], [8, 2]] },
      { stage: 1, arrays: [[10, 3]] },
    ]);
    const ordered = orderCells(mixed);
    for (const s of built.stages) for (const a of s.arrays) expect(a.cellIds).toEqual(ordered.slice(a.offset, a.offset + a.size).map((c) => c.id));
  });

  it('each task sees CELL_INDEX = offset + task id and the matching CELL_ID', () => {
    const dir = tmp();
    const runDir = join(dir, "run dir's #1");
    mkdirSync(runDir);
    const built = buildSlurmScripts({
      runDir, cells: mixed, workDir: dir, mergeCommand: 'true', options: { maxArraySize: 4 },
      cellCommand: 'echo "$CELL_INDEX $CELL_ID $PRUNEBENCH_RUN_DIR"; [ -d "$CELL_DIR" ] || exit 9',
    });
    const ordered = orderCells(mixed);
    const seen: string[] = [];
    for (const s of built.stages) {
      for (const a of s.arrays) {
        for (let t = 0; t < a.size; t++) {
          const r = runTask(a.script, t, dir);
          expect(r.code).toBe(0);
          seen.push(r.stdout.trim());
        }
        // A task id past the array is refused instead of running another chunk's cell.
        expect(runTask(a.script, a.size, dir).code).toBe(2);
      }
    }
    expect(seen).toEqual(ordered.map((c, i) => `${i} ${c.id} ${runDir}`));
  });

  it("exits with the cell command's code and records it in slurm-task.json", () => {
    const dir = tmp();
    const built = buildSlurmScripts({ runDir: dir, cells: [{ id: 'a', stage: 0 }], cellCommand: 'exit 3', mergeCommand: 'true', workDir: dir, options: {} });
    expect(runTask(built.stages[0]!.arrays[0]!.script, 0, dir).code).toBe(3);
    const rec = JSON.parse(spawnSync('cat', [join(dir, 'cells/a/slurm-task.json')], { encoding: 'utf8' }).stdout);
    expect(rec).toMatchObject({ jobId: '77_0', exitCode: 3 });
  });

  it('passes partition, gres, time, mem and extra sbatch args through as quoted directives', () => {
    const built = buildSlurmScripts({
      runDir: '/runs/50% done', cells: [{ id: 'a', stage: 0 }], cellCommand: 'true', mergeCommand: 'true', workDir: '/work dir',
      options: { partition: 'gpu', gres: 'gpu:1', time: '01:30:00', mem: '16G', jobName: 'pb', sbatchArgs: ['--account=abc', '--comment=two words'] },
    });
    const words = directives(built.stages[0]!.arrays[0]!.script).map(directiveWords);
    expect(words).toEqual([
      ['--job-name=pb-s0'],
      ['--output=/runs/50%% done/slurm/logs/pb-s0_%A_%a.out'],
      ['--chdir=/work dir'],
      ['--partition=gpu'],
      ['--gres=gpu:1'],
      ['--time=01:30:00'],
      ['--mem=16G'],
      ['--account=abc'],
      ['--comment=two words'],
    ]);
    // The merge job needs no GPU but the same partition, limits and account.
    const merge = directives(built.mergeScript).map(directiveWords).flat();
    expect(merge).toContain('--partition=gpu');
    expect(merge).toContain('--account=abc');
    expect(merge).toContain('--output=/runs/50%% done/slurm/logs/pb-merge_%j.out');
    expect(merge.some((w) => w.startsWith('--gres'))).toBe(false);
  });

  it('rejects malformed options and cells with errors naming the key', () => {
    const base = { runDir: '/r', cells: [{ id: 'a', stage: 0 }], cellCommand: 'true', mergeCommand: 'true', workDir: '/w' };
    const bad: [Parameters<typeof buildSlurmScripts>[0], string][] = [
      [{ ...base, options: { time: '1h' } }, 'time'],
      [{ ...base, options: { gres: 'gpu 1' } }, 'gres'],
      [{ ...base, options: { mem: 'lots' } }, 'mem'],
      [{ ...base, options: { maxParallel: 0 } }, 'maxParallel'],
      [{ ...base, options: { maxArraySize: 2.5 } }, 'maxArraySize'],
      [{ ...base, options: { sbatchArgs: ['--array=0-3'] } }, 'sbatchArgs'],
      [{ ...base, options: { sbatchArgs: ['-o', 'x'] } }, 'sbatchArgs'],
      [{ ...base, options: { sbatchArgs: ['--comment=a\nb'] } }, 'sbatchArgs'],
      [{ ...base, options: { partition: 'a b' } }, 'partition'],
      [{ ...base, options: {}, cells: [{ id: 'a', stage: 0 }, { id: 'a', stage: 1 }] }, 'cells'],
      [{ ...base, options: {}, cells: [{ id: '../x', stage: 0 }] }, 'cells'],
      [{ ...base, options: {}, cells: [{ id: 'a', stage: -1 }] }, 'cells'],
      [{ ...base, options: {}, cells: [] }, 'cells'],
      [{ ...base, options: {}, runDir: '/r\n' }, 'runDir'],
    ];
    for (const [opts, key] of bad) {
      let err: unknown;
      try {
        buildSlurmScripts(opts);
      } catch (e) {
        err = e;
      }
      expect(err, key).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).key).toBe(key);
    }
  });
});

describe('submitSweepToSlurm (dry run)', () => {
  const cells: SweepCell[] = [
    ...Array.from({ length: 6 }, (_, k) => ({ id: `base-${k}`, stage: 0 })),
    ...Array.from({ length: 3 }, (_, k) => ({ id: `ft-${k}`, stage: 1 })),
    { id: 'report', stage: 2 },
  ];
  const common = { cells, cellCommand: 'true', mergeCommand: 'true', workDir: '/w', dryRun: true, logger: silentLogger };

  it('chains stages with afterany on every array of the previous stage; the merge waits for all', async () => {
    const dir = tmp();
    const sub = await submitSweepToSlurm({ ...common, runDir: dir, options: { maxArraySize: 4, maxParallel: 2 } });
    expect(sub.commands).toEqual([
      `sbatch --parsable --array=0-3%2 ${dir}/slurm/stage0-part0.sbatch`,
      `sbatch --parsable --array=0-1%2 ${dir}/slurm/stage0-part1.sbatch`,
      `sbatch --parsable --array=0-2%2 --dependency=afterany:dry-run-s0-p0:dry-run-s0-p1 ${dir}/slurm/stage1-part0.sbatch`,
      `sbatch --parsable --array=0%2 --dependency=afterany:dry-run-s1-p0 ${dir}/slurm/stage2-part0.sbatch`,
      `sbatch --parsable --dependency=afterany:dry-run-s0-p0:dry-run-s0-p1:dry-run-s1-p0:dry-run-s2-p0 ${dir}/slurm/merge.sbatch`,
    ]);
    expect(sub.stages.map((s) => s.arrays.map((a) => a.offset))).toEqual([[0, 4], [6], [9]]);
    expect(spawnSync('ls', [dir], { encoding: 'utf8' }).stdout).toBe(''); // a dry run writes nothing
  });

  it('resubmits only the named cells, with their original task ids', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'cells.json'), JSON.stringify(orderCells(cells)));
    const sub = await submitSweepToSlurm({ ...common, runDir: dir, options: { maxArraySize: 4 }, onlyCellIds: ['base-1', 'base-3', 'base-5', 'ft-2'] });
    expect(sub.commands).toEqual([
      `sbatch --parsable --array=1,3 ${dir}/slurm/stage0-part0.sbatch`,
      `sbatch --parsable --array=1 ${dir}/slurm/stage0-part1.sbatch`,
      `sbatch --parsable --array=2 --dependency=afterany:dry-run-s0-p0:dry-run-s0-p1 ${dir}/slurm/stage1-part0.sbatch`,
      `sbatch --parsable --dependency=afterany:dry-run-s0-p0:dry-run-s0-p1:dry-run-s1-p0 ${dir}/slurm/merge.sbatch`,
    ]);
    expect(sub.stages.map((s) => s.arrays.map((a) => a.cellIds))).toEqual([[['base-1', 'base-3'], ['base-5']], [['ft-2']]]);
  });

  it('submits part of a new sweep (no cells.json yet) with task ids of the whole sweep', async () => {
    const dir = tmp();
    const sub = await submitSweepToSlurm({ ...common, runDir: dir, options: { maxArraySize: 4 }, onlyCellIds: ['ft-0', 'report'] });
    // ft-0 is cells.json index 6 = offset 6 + task 0; report is index 9 = offset 9 + task 0; no stage-0 array.
    expect(sub.commands).toEqual([
      `sbatch --parsable --array=0 ${dir}/slurm/stage1-part0.sbatch`,
      `sbatch --parsable --array=0 --dependency=afterany:dry-run-s1-p0 ${dir}/slurm/stage2-part0.sbatch`,
      `sbatch --parsable --dependency=afterany:dry-run-s1-p0:dry-run-s2-p0 ${dir}/slurm/merge.sbatch`,
    ]);
    expect(sub.stages.map((s) => s.arrays.map((a) => [a.offset, a.cellIds]))).toEqual([[[6, ['ft-0']]], [[9, ['report']]]]);
  });

  it('refuses a resume whose cells differ from cells.json, or that names unknown cells', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'cells.json'), JSON.stringify(orderCells(cells).slice(1)));
    await expect(submitSweepToSlurm({ ...common, runDir: dir, options: {}, onlyCellIds: ['base-1'] })).rejects.toThrow(/cells differ/);
    await expect(submitSweepToSlurm({ ...common, runDir: dir, options: {}, onlyCellIds: ['nope'] })).rejects.toThrow(/not in this sweep: nope/);
  });
});
