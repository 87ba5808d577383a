import { describe, expect, it } from 'vitest';
import { EXPERIMENTS } from '../../experiments/index.ts';
import { expandCells, type Cell } from '../protocols/cells.ts';
import { countSpec } from '../metrics/count.ts';
import { estimateSpec } from '../protocols/estimate.ts';
import { cellWork, fineTuneWorkPerMac, SweepEta, tableShapeOf } from './sweep-eta.ts';

const cell = (id: string, protocol: Cell['protocol'], dependsOn: string[] = []): Cell => ({ id, stage: dependsOn.length ? 1 : 0, protocol, dependsOn, seed: 1, model: 'vgg16', sparsity: false });

describe('the sweep time-left estimate', () => {
  const cells = [cell('baseline', 'baseline'), cell('prune:a', 'prune', ['baseline']), cell('fine-tune:a', 'fine-tune', ['prune:a', 'baseline']), cell('prune:b', 'prune', ['baseline']), cell('fine-tune:b', 'fine-tune', ['prune:b', 'baseline'])];
  const work = new Map([['baseline', 100], ['prune:a', 1], ['fine-tune:a', 20], ['prune:b', 1], ['fine-tune:b', 40]]);

  it('says nothing until a training cell has calibrated seconds per unit of work; prune cells count at their measured mean', () => {
    const eta = new SweepEta(cells, work, 1);
    const pending = new Set(['fine-tune:a', 'prune:b', 'fine-tune:b']);
    expect(eta.remainingSeconds(pending, new Map())).toBeNull();
    eta.complete(cells[1]!, 12); // a prune cell does not calibrate the scale
    expect(eta.scale).toBeNull();
    eta.complete(cells[0]!, 500); // baseline: 100 units in 500 s
    expect(eta.scale).toBe(5);
    // one job: 20 x 5 + 12 + 40 x 5
    expect(eta.remainingSeconds(pending, new Map())).toBeCloseTo(312, 9);
    // fine-tune:a has run for 60 s of its 100
    expect(eta.remainingSeconds(new Set(['prune:b', 'fine-tune:b']), new Map([['fine-tune:a', 60]]))).toBeCloseTo(40 + 12 + 200, 9);
  });

  it('with two jobs the cells overlap as the runner schedules them', () => {
    const eta = new SweepEta(cells, work, 2);
    eta.complete(cells[0]!, 500);
    // prune:a and prune:b run together (30 s default each, none timed yet), then both fine-tunes: 30 + max(100, 200)
    expect(eta.remainingSeconds(new Set(['prune:a', 'fine-tune:a', 'prune:b', 'fine-tune:b']), new Map())).toBeCloseTo(230, 9);
  });

  it('a cell resumed from a checkpoint counts only the epochs it has left, for the scale and for the time left', () => {
    const eta = new SweepEta(cells, work, 1);
    // The baseline resumed at 7 of 8 epochs and took 60 s: 1/8 of its 100 units, so 4.8 s per unit (not 0.6).
    eta.start('baseline', 7 / 8);
    eta.complete(cells[0]!, 60);
    expect(eta.scale).toBeCloseTo(4.8, 9);
    // fine-tune:a resumed at half its epochs and has run 10 s: 10 x 4.8 - 10 left of it, then prune:b (30 s default) and fine-tune:b.
    eta.start('fine-tune:a', 0.5);
    expect(eta.remainingSeconds(new Set(['prune:b', 'fine-tune:b']), new Map([['fine-tune:a', 10]]))).toBeCloseTo(38 + 30 + 192, 9);
  });

  it("a prune cell's pruned MACs make its fine-tune's work exact, for the time left and for the pace it calibrates", () => {
    const perMac = new Map([['fine-tune:a', 0.5], ['fine-tune:b', 0.5]]);
    const eta = new SweepEta(cells, work, 1, perMac);
    eta.complete(cells[0]!, 500); // 5 s per unit
    // prune:a found a model of 8 MACs: fine-tune:a is 0.5 x 8 = 4 units (not 20); fine-tune:b keeps its estimate.
    eta.refine('prune:a', 8);
    eta.complete(cells[1]!, 10);
    expect(eta.remainingSeconds(new Set(['fine-tune:a', 'prune:b', 'fine-tune:b']), new Map())).toBeCloseTo(4 * 5 + 10 + 40 * 5, 9);
    // fine-tune:a then takes 40 s: 4 units at 10 s per unit; the pace over both cells is 540 s / 104 units.
    eta.complete(cells[2]!, 40);
    expect(eta.scale).toBeCloseTo(540 / 104, 9);
  });

  it("fineTuneWorkPerMac x the trained model's MACs is cellWork's work for a fine-tune cell", () => {
    const config = EXPERIMENTS.find((e) => e.name === 'tradeoff-criteria')!.presets.cpu;
    const all = expandCells(config);
    const w = cellWork(config, () => ({ spec: estimateSpec(config, 'vgg16'), macsEffective: 1, approximate: true }), new Set());
    const perMac = fineTuneWorkPerMac(config, all);
    const macs = countSpec(estimateSpec(config, 'vgg16')).macs;
    const ft = all.filter((c) => c.protocol === 'fine-tune');
    expect(ft.length).toBeGreaterThan(0);
    for (const c of ft) expect(perMac.get(c.id)! * macs).toBeCloseTo(w.get(c.id)!, 6);
    expect([...perMac.keys()].every((id) => id.startsWith('fine-tune:'))).toBe(true);
  });

  it("weighs a real preset's cells by epochs and MACs: a Scratch-B cell outweighs its fine-tune, a zoo baseline weighs nothing", () => {
    const config = EXPERIMENTS.find((e) => e.name === 'tradeoff-criteria')!.presets.cpu;
    const ids = expandCells(config).map((c) => c.id);
    const w = cellWork(config, tableShapeOf(), new Set(['baseline:vgg16:s1']));
    expect([...w.keys()].sort()).toEqual([...ids].sort());
    expect(w.get('baseline:vgg16:s1')).toBe(0);
    expect(w.get('baseline:vgg16:s2')).toBeGreaterThan(0);
    expect(w.get('scratch-B:vgg16-l1-layerwise-x2:s1')!).toBeGreaterThan(3 * w.get('fine-tune:vgg16-l1-layerwise-x2:s1')!);
  });
});
