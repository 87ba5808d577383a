import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { collectFixture, EXP, record } from '../testing/records.ts';
import { thrownError } from '../testing/errors.ts';
import { ConfigError, DatasetError } from '../util/errors.ts';
import { collectRunRecords } from './collect.ts';
import { readResultsCsv } from './read.ts';
import { runFileName, runRecordsDir } from './write.ts';

const tmp = mkdtempSync(join(tmpdir(), 'prunebench-collect-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('collect', () => {
  it('copies only new samples (not files already in runs/ or superseded/, re-runs with the same figures, served copies of a trained baseline) and rebuilds the CSV', async () => {
    const { main, sweep, fresh } = await collectFixture(tmp, 'copy');
    const before = readdirSync(runRecordsDir(main, EXP)).map((f) => [f, readFileSync(join(runRecordsDir(main, EXP), f), 'utf8')]);
    const s = await collectRunRecords({ experiment: EXP, from: [sweep], resultsDir: main });
    expect(s.copied).toEqual(fresh.map((r) => runFileName(String(r.row.run_id))));
    expect(s.repeats).toHaveLength(2);
    expect(s.present).toBe(3);
    expect(s.csv!.rows).toBe(4);
    expect(readResultsCsv(s.csv!.path).map((r) => `${r.cell} ${r.top1_final}`)).toEqual(['baseline:resnet56:s1 85', 'fine-tune:a:s1 79.5', 'prune:a:s1 20', 'prune:a:s2 21']);
    // the records that were there are untouched; the superseded one stays out of runs/
    for (const [f, text] of before) expect(readFileSync(join(runRecordsDir(main, EXP), f!), 'utf8')).toBe(text);
    expect(readdirSync(runRecordsDir(main, EXP)).some((f) => f.startsWith('fine-tune_old'))).toBe(false);
    // collecting again finds nothing new and leaves the CSV alone
    const again = await collectRunRecords({ experiment: EXP, from: [sweep], resultsDir: main });
    expect(again).toMatchObject({ copied: [], present: 5 });
    expect(again.csv).toBeUndefined();
  });

  it('a dry run lists the same records and writes nothing', async () => {
    const { main, sweep, fresh } = await collectFixture(tmp, 'dry');
    const csv = readFileSync(join(main, `${EXP}.csv`), 'utf8');
    const s = await collectRunRecords({ experiment: EXP, from: [sweep], resultsDir: main, dryRun: true });
    expect(s.copied).toHaveLength(fresh.length);
    expect(s.csv).toBeUndefined();
    expect(readdirSync(runRecordsDir(main, EXP))).toHaveLength(2);
    expect(readFileSync(join(main, `${EXP}.csv`), 'utf8')).toBe(csv);
  });

  it('a corrupt or misnamed source record is one error naming the file, before anything is copied', async () => {
    const { main, sweep } = await collectFixture(tmp, 'corrupt');
    const bad = join(runRecordsDir(sweep, EXP), 'prune_a_s3@2026-01-05T00_00_00Z.json');
    writeFileSync(bad, '{"row": {"cell": "prune:a:s3", "run_');
    const e = await thrownError(() => collectRunRecords({ experiment: EXP, from: [sweep], resultsDir: main }), 'corrupt');
    expect(e).toBeInstanceOf(DatasetError);
    expect(e.message).toContain(bad);
    expect(readdirSync(runRecordsDir(main, EXP))).toHaveLength(2);
    writeFileSync(bad, JSON.stringify(record('prune:a:s4', '2026-01-05T00:00:00Z')));
    expect((await thrownError(() => collectRunRecords({ experiment: EXP, from: [sweep], resultsDir: main }), 'misnamed')).message).toMatch(/would be stored as prune_a_s4@/);
  });

  it('refuses the results folder itself and a folder without the experiment, naming --from', async () => {
    const { main } = await collectFixture(tmp, 'refuse');
    const self = await thrownError(() => collectRunRecords({ experiment: EXP, from: [main], resultsDir: main }), 'self');
    expect(self).toBeInstanceOf(ConfigError);
    expect(self.message).toMatch(/^--from .* is the results folder itself/);
    const empty = join(tmp, 'refuse', 'empty');
    mkdirSync(empty);
    expect((await thrownError(() => collectRunRecords({ experiment: EXP, from: [empty], resultsDir: main }), 'empty')).message).toBe(`--from ${empty}: no run records of ${EXP} there (expected ${join(empty, EXP, 'runs')})`);
  });
});
