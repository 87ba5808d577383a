import { describe, expect, it } from 'vitest';
import type { RetimedLatency, RunRecord, RunRow } from '../results/index.ts';
import { applyRetimed } from './retimed.ts';

const row = (protocol: string, arm: string, over: Partial<RunRow> = {}): RunRow =>
  ({ run_id: `${protocol}:${arm}:s1@t`, cell: `${protocol}:${arm}:s1`, protocol, preset: 'cpu', backend: 'onednn', latency_ms_b1: 5, latency_ms_b1_onednn: 5, base_latency_ms_b1_onednn: 2, latency_ms_b1_ort: 1, base_latency_ms_b1_ort: 1, ...over }) as unknown as RunRow;
const retimed = (arm: string, runtime: RetimedLatency['runtime'], latency: number, base: number): RetimedLatency => ({
  experiment: 'e', preset: 'cpu', pruned_model: `${arm}:s1`, model: 'resnet56', seed: 1, structure: 'compacted', runtime, latency_ms_b1: latency, base_latency_ms_b1: base,
  infer_images_per_sec_b64: 100, base_infer_images_per_sec_b64: 50, repeats: 20, runtime_detail: 'x', loadavg_1m: 0.1, source_run_id: 'r', git_commit: 'c', measured_at: '2026-12-07T00:00:00.000Z', pair_order: 'swapped',
});

describe('applyRetimed', () => {
  const rows = [row('baseline', 'none'), row('prune', 'a'), row('fine-tune', 'a'), row('prune', 'b')];
  const records = rows.map((r) => ({ row: r, config: {}, curve: [], cost: { latencyMsBatch1: 5, imagesPerSecBatch64: 1, baseLatencyMsBatch1: 2, baseImagesPerSecBatch64: 1 } }) as RunRecord);
  const out = applyRetimed(rows, records, [retimed('a', 'onednn', 1, 2), retimed('a', 'wasm', 3, 6), { ...retimed('b', 'onednn', 9, 9), preset: 'small' }], 'cpu');

  it('gives both cells of a pruned model the re-timed figures, clears runtimes it did not re-time, and leaves the rest alone', () => {
    for (const r of out.rows.slice(1, 3)) {
      expect(r).toMatchObject({ latency_ms_b1: 1, latency_ms_b1_onednn: 1, base_latency_ms_b1_onednn: 2, latency_ms_b1_wasm: 3, base_latency_ms_b1_wasm: 6, latency_ms_b1_ort: '', base_latency_ms_b1_ort: '' });
    }
    expect(out.rows[0]).toBe(rows[0]); // the unpruned model
    expect(out.rows[3]).toBe(rows[3]); // another preset's re-timing does not apply
    expect(rows[1]!.latency_ms_b1_onednn).toBe(5); // the input is not modified
    expect(out.records[1]!.cost).toEqual({ latencyMsBatch1: 1, imagesPerSecBatch64: 100, baseLatencyMsBatch1: 2, baseImagesPerSecBatch64: 50 });
    expect(out.records[3]!.cost!.latencyMsBatch1).toBe(5);
    expect(out).toMatchObject({ retimedModels: 1, prunedModels: 2 });
    expect(out.note).toMatch(/^Latencies of 1 of 2 pruned models are re-timed .* batch-1 calls per model, median, and a third as many batch-64 calls for throughput, .*; the other \(b.*\) keeps the latencies its cell measured\.$/);
  });

  it('the note says the pairs took turns, or how many models were timed with the pruned model always first', () => {
    expect(out.note).toContain('alternating with the unpruned model, each going first in every other round;');
    const old = applyRetimed(rows, records, [{ ...retimed('a', 'onednn', 1, 2), pair_order: 'fixed' }, retimed('b', 'onednn', 1, 2)], 'cpu');
    expect(old.note).toContain('alternating with the unpruned model, 1 of 2 pruned models with the pruned model always first');
  });

  it('a Scratch row of the same architecture (same counts) takes its pruned model\'s re-timed latency; one of another architecture keeps its own', () => {
    const counts = { params: 10, macs: 100, params_effective: 10, macs_effective: 100 };
    const rs = [row('prune', 'a', counts), row('fine-tune', 'a', counts), row('scratch-B', 'a', counts), row('scratch-E', 'a', { ...counts, macs: 99 })];
    const o = applyRetimed(rs, [], [retimed('a', 'onednn', 1, 2)], 'cpu');
    expect(o.rows[2]).toMatchObject({ latency_ms_b1: 1, latency_ms_b1_onednn: 1, base_latency_ms_b1_onednn: 2, latency_ms_b1_ort: '' });
    expect(o.rows[3]).toBe(rs[3]);
    // Scratch rows add no pruned model of their own; the note says they took one's.
    expect(o).toMatchObject({ retimedModels: 1, prunedModels: 1 });
    expect(o.note).toMatch(/; 1 Scratch row of the same architecture takes its pruned model's\.$/);
  });

  it('says so when nothing is re-timed', () => {
    const none = applyRetimed(rows, records, [], 'cpu');
    expect(none.rows).toEqual(rows);
    expect(none.note).toMatch(/as the cells measured them/);
  });
});
