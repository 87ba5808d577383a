import { describe, expect, it } from 'vitest';
import { RUN_COLUMNS, type RunRecord, type RunRow } from '../../results/columns.ts';
import { speedupPoints } from './speedup.ts';

function row(over: Partial<RunRow>): RunRow {
  const r = Object.fromEntries(RUN_COLUMNS.map((c) => [c, ''])) as RunRow;
  return { ...r, experiment: 'e', model: 'vgg16', seed: 1, status: 'ok', method: 'l1', granularity: 'channel', prune_ratio: 0.5, ...over };
}

describe('speedup points', () => {
  const base = row({ run_id: 'b', protocol: 'baseline', method: 'none', latency_ms_b1: 10, infer_images_per_sec_b64: 100, macs_base: 400, macs_effective: 400 });
  const ft = row({ run_id: 'f', protocol: 'fine-tune', latency_ms_b1: 4, infer_images_per_sec_b64: 300, macs_base: 400, macs_effective: 100 });

  it('divides by the baseline row when no paired measurement exists', () => {
    const pts = speedupPoints([base, ft]);
    expect(pts.map((p) => [p.metric, p.macReduction, p.speedup])).toEqual([
      ['latency, batch 1', 4, 2.5],
      ['throughput, batch 64', 4, 3],
    ]);
  });

  it('prefers the paired measurement of the run record (same process, interleaved)', () => {
    const rec: RunRecord = { row: ft, config: {}, curve: [], cost: { latencyMsBatch1: 4, imagesPerSecBatch64: 300, baseLatencyMsBatch1: 6, baseImagesPerSecBatch64: 150 } };
    const pts = speedupPoints([base, ft], [rec]);
    expect(pts.map((p) => p.speedup)).toEqual([1.5, 2]);
    // A paired record needs no baseline row at all.
    expect(speedupPoints([ft], [rec]).map((p) => p.speedup)).toEqual([1.5, 2]);
  });
});
