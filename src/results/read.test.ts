import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'csv-stringify/sync';
import { describe, expect, it } from 'vitest';
import { DatasetError } from '../util/errors.ts';
import { RUN_COLUMNS } from './columns.ts';
import { LATER_COLUMNS, NUMERIC_COLUMNS, parseResultsCsv, readResultsCsv, readRunRecords } from './read.ts';
import { rowsToCsv } from './write.ts';

const FIXTURES = fileURLToPath(new URL('../report/fixtures/results/', import.meta.url));
const L1_CSV = join(FIXTURES, 'rethinking-l1.csv');

describe('readResultsCsv', () => {
  it('reads the fixture with typed numeric and boolean columns', () => {
    const rows = readResultsCsv(L1_CSV);
    const lines = readFileSync(L1_CSV, 'utf8').trim().split('\n');
    expect(rows.length).toBe(lines.length - 1);
    const first = rows[0]!;
    expect(typeof first.top1_final).toBe('number');
    expect(first.git_dirty).toBe(false);
    // the raw text of the first data line holds the same top1_final
    const header = lines[0]!.split(',');
    expect(String(first.top1_final)).toBe(lines[1]!.split(',')[header.indexOf('top1_final')]);
    // failed rows have '' where no number exists
    const failed = rows.find((r) => r.status === 'failed')!;
    expect(failed.top1_final).toBe('');
    expect(String(failed.error)).toMatch(/out of memory/);
  });

  it('round-trips rows through csv-stringify', () => {
    const rows = readResultsCsv(L1_CSV);
    const text = stringify(
      rows.map((r) => RUN_COLUMNS.map((c) => r[c])),
      { header: true, columns: [...RUN_COLUMNS], cast: { boolean: (b) => (b ? 'true' : 'false') } },
    );
    const again = parseResultsCsv(text, 'round-trip.csv');
    expect(again).toEqual(rows);
    // and columns in another order read the same
    const reversed = [...RUN_COLUMNS].reverse();
    const text2 = stringify(rows.map((r) => reversed.map((c) => r[c])), { header: true, columns: reversed, cast: { boolean: (b) => String(b) } });
    expect(parseResultsCsv(text2, 'reversed.csv')).toEqual(rows);
  });

  it('reads back exactly what the results writer (rowsToCsv) writes', () => {
    const rows = readResultsCsv(L1_CSV);
    expect(parseResultsCsv(rowsToCsv(rows), 'written.csv')).toEqual(rows);
  });

  it('names the file and the column when a column is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pb-read-'));
    const file = join(dir, 'broken.csv');
    const lines = readFileSync(L1_CSV, 'utf8').split('\n');
    const header = lines[0]!.split(',');
    const drop = header.indexOf('macs_base');
    writeFileSync(file, lines.map((l) => l.split(',').filter((_, i) => i !== drop).join(',')).join('\n'));
    expect(() => readResultsCsv(file)).toThrow(DatasetError);
    expect(() => readResultsCsv(file)).toThrow(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: missing column "macs_base"`));
  });

  it('a CSV written before test_images was recorded reads with test_images empty, every other value the same', () => {
    const rows = readResultsCsv(L1_CSV);
    expect(rows[0]!.test_images).toBe(1000);
    const older = RUN_COLUMNS.filter((c) => c !== 'test_images');
    const text = stringify(rows.map((r) => older.map((c) => r[c])), { header: true, columns: older, cast: { boolean: (b) => String(b) } });
    expect(parseResultsCsv(text, 'older.csv')).toEqual(rows.map((r) => ({ ...r, test_images: '' })));
  });

  it('names the row and run_id for an unknown protocol', () => {
    const rows = readResultsCsv(L1_CSV);
    const bad = rows.map((r, i) => (i === 4 ? { ...r, protocol: 'scratch-C' } : r));
    const text = stringify(bad.map((r) => RUN_COLUMNS.map((c) => r[c])), { header: true, columns: [...RUN_COLUMNS] });
    let message = '';
    try {
      parseResultsCsv(text, 'x.csv');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('x.csv: row 5');
    expect(message).toContain(String(rows[4]!.run_id));
    expect(message).toContain('unknown protocol "scratch-C"');
    expect(message).toContain('scratch-B'); // lists the valid ones
  });

  it('rejects a non-numeric value in a numeric column, naming it', () => {
    const rows = readResultsCsv(L1_CSV);
    const bad = rows.map((r, i) => (i === 0 ? { ...r, top1_final: '93,1' } : r));
    const text = stringify(bad.map((r) => RUN_COLUMNS.map((c) => r[c])), { header: true, columns: [...RUN_COLUMNS] });
    expect(() => parseResultsCsv(text, 'n.csv')).toThrow(/column "top1_final" expected a number, got "93,1"/);
    expect(NUMERIC_COLUMNS.has('top1_final')).toBe(true);
  });

  it('a missing file is a DatasetError naming the path', () => {
    expect(() => readResultsCsv('/nonexistent/results/x.csv')).toThrow(/\/nonexistent\/results\/x\.csv: results file not found/);
  });
});

describe('readRunRecords', () => {
  it('reads one record per CSV row, with the same run ids', () => {
    const rows = readResultsCsv(L1_CSV);
    const records = readRunRecords(join(FIXTURES, 'rethinking-l1', 'runs'));
    expect(records.map((r) => r.row.run_id).sort()).toEqual(rows.map((r) => r.run_id).sort());
    const ok = records.find((r) => r.row.status === 'ok' && r.curve.length > 0)!;
    expect(ok.curve.at(-1)!.testAcc).toBe(ok.row.top1_final);
  });
  it('returns no records for a missing directory and names a broken file', () => {
    expect(readRunRecords('/nonexistent/runs')).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), 'pb-runs-'));
    writeFileSync(join(dir, 'a.json'), '{"row": {}, "curve": [');
    expect(() => readRunRecords(dir)).toThrow(/a\.json: not a readable run record \(not valid JSON: .*\); move it away and rerun its cell$/);
  });
  it('names a JSON file that is not a run record, and what it lacks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pb-runs-'));
    writeFileSync(join(dir, 'b.json'), '{"row": {"cell": "x"}}');
    expect(() => readRunRecords(dir)).toThrow(/b\.json: not a readable run record \(expected a "curve" array\)/);
    writeFileSync(join(dir, 'b.json'), '[1, 2]');
    expect(() => readRunRecords(dir)).toThrow(/b\.json: not a readable run record \(expected an object with a "row" field\)/);
  });
});

describe('columns added later', () => {
  it('a CSV written before scope, target_kind, target, achieved, criterion_seconds, calibration_batches existed reads them as empty', () => {
    const older = RUN_COLUMNS.filter((c) => !LATER_COLUMNS.has(c));
    const values = older.map((c) => (c === 'protocol' ? 'prune' : c === 'status' ? 'ok' : c === 'prune_ratio' ? '0.5' : ''));
    const [row] = parseResultsCsv(`${older.join(',')}\n${values.join(',')}\n`, 'older.csv');
    for (const c of LATER_COLUMNS) expect(row![c], c).toBe('');
    expect(row!.prune_ratio).toBe(0.5);
    // A column that was always there is still required.
    expect(() => parseResultsCsv(`${older.filter((c) => c !== 'seed').join(',')}\n`, 'bad.csv')).toThrow('bad.csv: missing column "seed"');
  });
});
