import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureCli } from '../testing/cli.ts';
import { coverageLine } from '../report/coverage.ts';
import { collectFixture, EXP } from '../testing/records.ts';

const tmp = mkdtempSync(join(tmpdir(), 'prunebench-collect-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('prunebench collect', () => {
  it('says where a declared experiment stands after collecting: cells with a result, and what is left per protocol and seed', () => {
    const line = coverageLine({ planned: 111, covered: 89, seeds: [1, 2, 3], missing: [{ group: 'prune:a-c2', seeds: [3] }, { group: 'fine-tune:a-c2', seeds: [2, 3] }, { group: 'prune:b-c4', seeds: [3] }] });
    expect(line).toBe('89 of 111 planned cells have a result; to run: 2 prune, 2 fine-tune (seeds 2, 3)');
    expect(coverageLine({ planned: 6, covered: 6, seeds: [1, 2], missing: [] })).toBe('all 6 planned cells have a result (seeds 1, 2)');
  });

  it('the command prints what it copied and the CSV it rebuilt; with --dry-run it says it wrote nothing', async () => {
    const { main, sweep } = await collectFixture(tmp, 'cli');
    const dry = await captureCli(['collect', EXP, '--from', sweep, '--results-dir', main, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.out.at(-1)).toBe(`${EXP}: 2 new records, 2 repeats of recorded cells left out, 3 already here (dry run: nothing written)`);
    expect(dry.out.filter((l) => l.startsWith('  would copy '))).toHaveLength(2);
    // 'exp' is no declared experiment: no coverage line (nothing is known to be planned)
    expect(dry.out.filter((l) => l.includes('planned'))).toEqual([]);
    const r = await captureCli(['collect', EXP, '--from', sweep, '--results-dir', main]);
    expect(r.code).toBe(0);
    expect(r.out.at(-1)).toBe(`${EXP}: 2 new records, 2 repeats of recorded cells left out, 3 already here; ${join(main, `${EXP}.csv`)}: 4 rows`);
    expect(existsSync(join(main, `${EXP}.csv`))).toBe(true);
    const missing = await captureCli(['collect', EXP, '--results-dir', main]);
    expect(missing.code).toBe(2);
    expect(missing.err).toEqual(['error: --from is required (the results folder of the sweep to collect from)']);
  });
});
