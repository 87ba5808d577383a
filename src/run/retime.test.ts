import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../results/index.ts';
import type { RetimedLatency } from '../results/retimed.ts';
import { retimeTargets, runtimesToTime, staleRetimedRows } from './retime.ts';

const rec = (cell: string, startedAt: string, over: Record<string, unknown> = {}): RunRecord =>
  ({ row: { run_id: `${cell}@${startedAt}`, cell, protocol: cell.split(':')[0], status: 'ok', started_at: startedAt, params: 100, macs: 1000, ...over }, config: {}, curve: [] }) as unknown as RunRecord;

describe('retimeTargets', () => {
  it('one target per pruned model: the latest prune record, or the fine-tuned model where a later prune rerun gave another architecture', () => {
    const t = retimeTargets([
      rec('prune:a:s1', '2026-01-01'),
      rec('fine-tune:a:s1', '2026-01-02'),
      rec('prune:b:s1', '2026-01-01', { params: 90 }),
      rec('prune:b:s1', '2026-01-03', { params: 80 }), // rerun, not fine-tuned yet
      rec('fine-tune:b:s1', '2026-01-02', { params: 90 }),
      rec('prune:c:s1', '2026-01-01', { status: 'failed' }),
      rec('baseline:vgg16:s1', '2026-01-01'),
      rec('scratch-B:a:s1', '2026-01-03'),
    ]);
    expect(t.map((x) => [x.key, x.record.row.run_id])).toEqual([
      ['a:s1', 'prune:a:s1@2026-01-01'],
      ['b:s1', 'fine-tune:b:s1@2026-01-02'],
    ]);
  });
});

describe('staleRetimedRows', () => {
  it("names the rows of this preset whose pruned model has no record, and only those", () => {
    const row = (preset: string, prunedModel: string): RetimedLatency => ({ preset, pruned_model: prunedModel }) as RetimedLatency;
    const rows = [row('cpu', 'a:s1'), row('cpu', 'gone:s1'), row('small', 'gone:s1'), row('cpu', 'b:s2')];
    expect(staleRetimedRows(rows, 'cpu', new Set(['a:s1', 'b:s2']))).toEqual([row('cpu', 'gone:s1')]);
    expect(staleRetimedRows(rows, 'small', new Set(['gone:s1']))).toEqual([]);
  });
});

describe('runtimesToTime', () => {
  const row = (prunedModel: string, runtime: RetimedLatency['runtime'], pairOrder: RetimedLatency['pair_order'], preset = 'cpu'): RetimedLatency =>
    ({ preset, pruned_model: prunedModel, runtime, pair_order: pairOrder }) as RetimedLatency;
  const existing = [row('a:s1', 'onednn', 'swapped'), row('a:s1', 'wasm', 'fixed'), row('b:s1', 'onednn', 'swapped', 'small')];
  it('asks for the runtimes a model lacks, counting rows timed in a fixed order (biased) as lacking', () => {
    const todo = runtimesToTime(existing, 'cpu', ['onednn', 'wasm', 'ort'], false);
    expect(todo('a:s1')).toEqual(['wasm', 'ort']);
    expect(todo('b:s1')).toEqual(['onednn', 'wasm', 'ort']); // its row is another preset's
  });
  it('asks for every runtime with force, and follows a runtime list that shrinks later', () => {
    const runtimes: ('onednn' | 'wasm' | 'ort')[] = ['onednn', 'wasm'];
    expect(runtimesToTime(existing, 'cpu', runtimes, true)('a:s1')).toEqual(['onednn', 'wasm']);
    const todo = runtimesToTime(existing, 'cpu', runtimes, false);
    runtimes.splice(runtimes.indexOf('onednn'), 1);
    expect(todo('c:s1')).toEqual(['wasm']);
  });
});
