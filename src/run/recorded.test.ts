import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ExperimentConfig } from '../protocols/index.ts';
import { writeRunRecord, type RunRecord, type RunRow } from '../results/index.ts';
import { resolveConfig, resumeHash } from './plan.ts';
import { cellResumeHash, recordedCellIds } from './recorded.ts';

const base = resolveConfig({ experiment: 'granularity', preset: 'smoke' });
const CHANGED = 'resnet56-weight-lamp-c2';
const KEPT = 'resnet56-channel-l1-global-c2';
// The same config with one arm redefined (as when an arm's criterion is replaced).
const changed: ExperimentConfig = { ...base, description: 'reworded', arms: base.arms.map((a) => (a.id === CHANGED ? { ...a, criterion: 'magnitude' } : a)) };

describe('cellResumeHash', () => {
  it('a cell keeps its identity when only another arm changes; its own arm or a shared setting changes it', () => {
    expect(resumeHash(changed)).not.toBe(resumeHash(base)); // the whole-config hash moves
    for (const cell of [`fine-tune:${KEPT}:s1`, `prune:${KEPT}:s2`, 'baseline:resnet56:s1']) {
      expect(cellResumeHash(changed, cell), cell).toBe(cellResumeHash(base, cell));
    }
    expect(cellResumeHash(changed, `fine-tune:${CHANGED}:s1`)).not.toBe(cellResumeHash(base, `fine-tune:${CHANGED}:s1`));
    // Seeds are the cell's own (in its id), not part of the identity.
    expect(cellResumeHash(base, `fine-tune:${KEPT}:s1`)).toBe(cellResumeHash({ ...base, seeds: [7] }, `fine-tune:${KEPT}:s1`));
    const longer: ExperimentConfig = { ...base, fineTune: { ...base.fineTune, epochs: base.fineTune.epochs + 1 } };
    for (const cell of [`fine-tune:${KEPT}:s1`, 'baseline:resnet56:s1']) expect(cellResumeHash(longer, cell)).not.toBe(cellResumeHash(base, cell));
  });
});

describe('recordedCellIds', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prunebench-recorded-'));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const record = (cell: string, o: { status?: string; config?: unknown; hash?: string; preset?: string } = {}): RunRecord => ({
    row: { run_id: `${cell}@${Math.random()}`, experiment: 'granularity', preset: o.preset ?? 'smoke', cell, status: o.status ?? 'ok', config_hash: o.hash ?? resumeHash(base) } as unknown as RunRow,
    config: 'config' in o ? o.config : base,
    curve: [],
  });

  it("counts the cells of another config whose own work is the plan's, and only those", async () => {
    await writeRunRecord(dir, record(`fine-tune:${KEPT}:s1`));
    await writeRunRecord(dir, record(`fine-tune:${CHANGED}:s1`));
    await writeRunRecord(dir, record(`prune:${KEPT}:s1`, { status: 'failed' }));
    await writeRunRecord(dir, record(`fine-tune:${KEPT}:s2`, { preset: 'small' }));
    // Without a readable config a record counts only under the plan's whole-config hash.
    await writeRunRecord(dir, record(`fine-tune:${KEPT}:s3`, { config: null }));
    await writeRunRecord(dir, record(`prune:${CHANGED}:s3`, { config: null, hash: resumeHash(changed) }));

    const ids = await recordedCellIds({ experiment: 'granularity', preset: 'smoke', config: changed, configHash: resumeHash(changed), resultsDir: dir });
    expect([...ids].sort()).toEqual([`fine-tune:${KEPT}:s1`, `prune:${CHANGED}:s3`]);
    const same = await recordedCellIds({ experiment: 'granularity', preset: 'smoke', config: base, configHash: resumeHash(base), resultsDir: dir });
    expect([...same].sort()).toEqual([`fine-tune:${KEPT}:s1`, `fine-tune:${KEPT}:s3`, `fine-tune:${CHANGED}:s1`]);
  });
});
