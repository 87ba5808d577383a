import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExperiment } from '../run/index.ts';
import { loadRunRecords, readResultsCsv, type RunRow } from '../results/index.ts';
import { silentLogger } from '../util/log.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prunebench-protocols-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function smoke(experiment: string): Promise<RunRow[]> {
  const summary = await runExperiment({ experiment, preset: 'smoke', jobs: 1, resultsDir: join(dir, 'results'), runDir: join(dir, experiment), progress: false, logger: silentLogger, print: () => {} });
  expect(summary.cells.filter((c) => c.state !== 'completed')).toEqual([]);
  return readResultsCsv(join(dir, 'results', `${experiment}.csv`));
}

const byProtocol = (rows: RunRow[], protocol: string): RunRow[] => rows.filter((r) => r.protocol === protocol);

describe('every protocol runs end to end (smoke presets)', () => {
  it('unstructured: masked models keep dense counts, effective counts drop by the ratio; iterative reaches the target', async () => {
    const rows = await smoke('rethinking-unstructured');
    for (const protocol of ['prune', 'fine-tune', 'scratch-E', 'scratch-B', 'iterative']) {
      const [row] = byProtocol(rows, protocol);
      expect(row, protocol).toBeDefined();
      expect(row!.granularity).toBe('weight');
      // Dense parameters unchanged, about 80% of the conv weights gone.
      expect(row!.params).toBe(row!.params_base);
      expect(Number(row!.params_effective)).toBeLessThan(0.3 * Number(row!.params_base));
      expect(Number(row!.macs_effective)).toBeLessThan(Number(row!.macs));
    }
    // Scratch-B's budget uses the effective MACs: floor(E * base / effective).
    const sb = byProtocol(rows, 'scratch-B')[0]!;
    expect(sb.epochs_derived).toBe(Math.floor((Number(sb.epochs_configured) * Number(sb.macs_base)) / Number(sb.macs_effective)));
  });

  it('L1 profile: Scratch-E/B, planned without the prune cell, train exactly the architecture it produces', async () => {
    const rows = await smoke('rethinking-l1');
    const [prune] = byProtocol(rows, 'prune');
    const records = await loadRunRecords(join(dir, 'results'), 'rethinking-l1');
    const architecture = (protocol: string) => records.find((r) => r.row.protocol === protocol)!.architecture;
    for (const protocol of ['scratch-E', 'scratch-B']) {
      const [row] = byProtocol(rows, protocol);
      expect(row!.params, protocol).toBe(prune!.params);
      expect(row!.macs, protocol).toBe(prune!.macs);
      expect(architecture(protocol), protocol).toEqual(architecture('prune'));
    }
    const sb = byProtocol(rows, 'scratch-B')[0]!;
    expect(sb.epochs_derived).toBe(Math.floor((Number(sb.epochs_configured) * Number(sb.macs_base)) / Number(prune!.macs)));
  });

  it('slimming: sparsity training, an unpruned baseline, automatic widths; lottery tickets and uniform-scratch', async () => {
    const rows = await smoke('rethinking-architecture-search');
    expect(byProtocol(rows, 'sparsity-train')).toHaveLength(1);
    expect(byProtocol(rows, 'baseline')).toHaveLength(1);
    const auto = byProtocol(rows, 'scratch-E')[0]!;
    const uniform = byProtocol(rows, 'uniform-scratch')[0]!;
    expect(auto.ratio_style).toBe('automatic');
    expect(uniform.ratio_style).toBe('predefined');
    // Equal parameter budgets, as close as whole channels allow at 1/16 width (widths 4..32):
    // within 10% here; within 2% at full width (config.test.ts).
    expect(Math.abs(Number(uniform.params) - Number(auto.params)) / Number(auto.params)).toBeLessThan(0.1);
    const records = await loadRunRecords(join(dir, 'results'), 'rethinking-architecture-search');
    const sparse = records.find((r) => r.row.protocol === 'sparsity-train')!;
    expect(sparse.bnGammas!.length).toBeGreaterThan(0);
    const pruned = records.find((r) => r.row.protocol === 'prune')!;
    expect(pruned.keepPlan).toBeDefined();
    // Automatic widths differ from layer to layer.
    expect(new Set(pruned.architecture!.map((l) => l.channels)).size).toBeGreaterThan(1);

    const lottery = await smoke('rethinking-lottery');
    expect(byProtocol(lottery, 'lottery-ticket')).toHaveLength(2);
    for (const r of byProtocol(lottery, 'lottery-ticket')) expect(r.status).toBe('ok');
  });
});
