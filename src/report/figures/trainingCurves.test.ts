import { describe, expect, it } from 'vitest';
import { RUN_COLUMNS, type RunRecord, type RunRow } from '../../results/columns.ts';
import { pickCurveCell, trainingCurvesSpec } from './trainingCurves.ts';

function record(over: Partial<RunRow>, epochs = 2): RunRecord {
  const blank = Object.fromEntries(RUN_COLUMNS.map((c) => [c, ''])) as RunRow;
  const row = { ...blank, experiment: 'e', model: 'resnet56', seed: 1, status: 'ok', method: 'l1', prune_ratio: 0.5, ...over };
  const curve = Array.from({ length: epochs }, (_, i) => ({ epoch: i + 1, trainLoss: 1, trainAcc: 50, testAcc: 50 + i, lr: 0.1 }));
  return { row, config: {}, curve } as RunRecord;
}

describe('training curves: the cell shown', () => {
  const records = [
    record({ protocol: 'baseline', method: 'none', prune_ratio: 0 }, 4),
    record({ protocol: 'fine-tune', prune_ratio: 0.3 }),
    record({ protocol: 'fine-tune', prune_ratio: 0.7 }),
    record({ protocol: 'scratch-B', prune_ratio: 0.7 }),
    record({ protocol: 'scratch-E', prune_ratio: 0.7, status: 'failed' }),
  ];

  it('is the pruned cell with the most protocols that have curves (failed runs do not count)', () => {
    const cell = pickCurveCell(records);
    expect(cell?.protocols).toEqual(['fine-tune', 'scratch-B']);
    expect(cell?.label).toBe('resnet56 l1 70%');
  });

  it('on a tie, the first by id; a cell without curves never', () => {
    const cell = pickCurveCell([records[1]!, records[2]!, record({ protocol: 'scratch-B', prune_ratio: 0.5 }, 0)]);
    expect(cell?.label).toBe('resnet56 l1 30%');
    expect(pickCurveCell([records[0]!])).toBeNull();
  });

  it('draws that cell and the baseline, and names the protocols in the subtitle', () => {
    const spec = trainingCurvesSpec({ experiment: 'e', rows: [], records, groups: [], matches: [], alpha: 0.05 });
    const values = (spec as { data: { values: { protocol: string }[] } }).data.values;
    expect(values.filter((v) => v.protocol === 'baseline')).toHaveLength(4);
    expect(values.filter((v) => v.protocol === 'fine-tune')).toHaveLength(2); // the 0.7 cell only
    expect(JSON.stringify((spec as { title: unknown }).title)).toContain('fine-tune, scratch-B');
  });
});
