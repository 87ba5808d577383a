import { describe, expect, it } from 'vitest';
import { DatasetError } from '../util/errors.ts';
import { parseRetimedCsv, retimedToCsv, type RetimedLatency } from './retimed.ts';

const one: RetimedLatency = {
  experiment: 'granularity', preset: 'cpu', pruned_model: 'resnet56-weight-lamp-c8:s2', model: 'resnet56', seed: 2, structure: 'masked (dense)', runtime: 'onednn',
  latency_ms_b1: 2.1, base_latency_ms_b1: 2, infer_images_per_sec_b64: 900, base_infer_images_per_sec_b64: 910, repeats: 20, runtime_detail: 'oneDNN 2.6.3, avx512_core_bf16, 1 thread',
  loadavg_1m: 1.1, source_run_id: 'prune:x@t', git_commit: 'c', measured_at: '2026-12-07T14:00:00.000Z', pair_order: 'swapped',
};

describe('latency-retimed.csv', () => {
  it('round-trips a row, pair_order included', () => {
    expect(parseRetimedCsv(retimedToCsv([one]), 'f.csv')).toEqual([one]);
  });

  it('reads a file written before pair_order existed as timed in a fixed order', () => {
    const [header, line] = retimedToCsv([one]).trim().split('\n') as [string, string];
    const legacy = `${header.replace(/,pair_order$/, '')}\n${line.replace(/,swapped$/, '')}\n`;
    expect(legacy).not.toContain('pair_order');
    expect(parseRetimedCsv(legacy, 'old.csv')[0]!.pair_order).toBe('fixed');
  });

  it('refuses an unknown pair_order, naming the file and line', () => {
    const bad = retimedToCsv([one]).replace(/,swapped\n$/, ',random\n');
    expect(() => parseRetimedCsv(bad, 'bad.csv')).toThrow(DatasetError);
    expect(() => parseRetimedCsv(bad, 'bad.csv')).toThrow('bad.csv:2: pair_order must be one of swapped, fixed, got "random"');
  });
});
