import { describe, expect, it } from 'vitest';
import { findExperiment } from '../../experiments/index.ts';
import { expandCells } from '../protocols/index.ts';
import { RUN_COLUMNS, type RunRow } from '../results/columns.ts';
import { coverageSentence, planCoverage } from './coverage.ts';

const row = (cell: string, seed: number, over: Partial<RunRow> = {}): RunRow => ({ ...(Object.fromEntries(RUN_COLUMNS.map((c) => [c, ''])) as RunRow), experiment: 'tradeoff-criteria', preset: 'smoke', cell, seed, status: 'ok', ...over });

describe('planCoverage', () => {
  const planned = expandCells(findExperiment('tradeoff-criteria').presets.smoke);
  const all = planned.map((c) => row(c.id, c.seed));

  it('all planned cells with an ok row: nothing missing, and the sentence says so', () => {
    const c = planCoverage('tradeoff-criteria', 'smoke', all)!;
    expect(c.covered).toBe(planned.length);
    expect(c.missing).toEqual([]);
    expect(coverageSentence(c, 'smoke')).toMatch(/^Coverage: all \d+ planned cells of the smoke preset/);
  });

  it('names a cell whose row failed or is absent, per arm with its seeds; rows of another preset do not count', () => {
    const scratch = planned.find((c) => c.protocol === 'scratch-B')!;
    const fine = planned.find((c) => c.protocol === 'fine-tune')!;
    const rows = all
      .filter((r) => r.cell !== scratch.id)
      .map((r) => (r.cell === fine.id ? { ...r, status: 'failed' } : r))
      .concat([row(scratch.id, scratch.seed, { preset: 'cpu' })]);
    const c = planCoverage('tradeoff-criteria', 'smoke', rows)!;
    expect(c.covered).toBe(planned.length - 2);
    expect(c.missing.map((m) => m.group).sort()).toEqual([fine.id, scratch.id].map((id) => id.replace(/:s\d+$/, '')).sort());
    const sentence = coverageSentence(c, 'smoke');
    expect(sentence).toContain(`${planned.length - 2} of ${planned.length} planned cells`);
    expect(sentence).toContain(`\`${scratch.id.replace(/:s\d+$/, '')}\` (seed ${scratch.seed})`);
  });

  it('a seed found in the rows beyond the preset adds its planned cells; many missing arms are counted per protocol', () => {
    const extra = planned[0]!.id.replace(/:s\d+$/, ':s9');
    const c = planCoverage('tradeoff-criteria', 'smoke', [...all, row(extra, 9)])!;
    expect(c.seeds).toContain(9);
    expect(c.planned).toBe(planned.length * 2);
    expect(c.covered).toBe(planned.length + 1);
    const sentence = coverageSentence(c, 'smoke', 2);
    expect(sentence).toMatch(/still to run: \d+ \S+ cells \(seed 9\)/);
    expect(sentence).not.toContain('`');
  });

  it('an experiment or preset that is not declared gives no coverage (nothing is known to be missing)', () => {
    expect(planCoverage('no-such-experiment', 'smoke', all)).toBeNull();
    expect(planCoverage('tradeoff-criteria', 'no-such-preset', all)).toBeNull();
  });
});
