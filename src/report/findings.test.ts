import { describe, expect, it } from 'vitest';
import { RUN_COLUMNS, type RunRow } from '../results/columns.ts';
import { configWidth, whatWeFound } from './findings.ts';
import { evaluateHypotheses } from './stats.ts';

function row(o: Partial<RunRow>): RunRow {
  const r = Object.fromEntries(RUN_COLUMNS.map((c) => [c, ''])) as RunRow;
  return { ...r, experiment: 'rethinking-l1', preset: 'small', model: 'vgg16', dataset: 'cifar10', train_subset: 2000, status: 'ok', ...o };
}

describe('findings', () => {
  it("configWidth: a model's own entry in modelWidths, else the experiment's widthMultiplier", () => {
    const config = { widthMultiplier: 0.25, modelWidths: { resnet56: 0.5 }, data: {} };
    expect(configWidth(config, 'resnet56')).toBe(0.5);
    expect(configWidth(config, 'vgg16')).toBe(0.25);
    expect(configWidth({ nested: { widthMultiplier: 0.125 } }, 'vgg16')).toBe(0.125);
  });

  it('states a supported claim in words, and warns when the unpruned model is undertrained', () => {
    const rows: RunRow[] = [];
    for (const seed of [1, 2, 3]) {
      rows.push(row({ protocol: 'baseline', method: 'none', seed, top1_final: 40 + seed / 10, epochs_derived: 15 }));
      rows.push(row({ protocol: 'fine-tune', method: 'l1', profile: 'A', seed, top1_final: 38 + seed / 10, epochs_derived: 5 }));
      rows.push(row({ protocol: 'scratch-B', method: 'l1', profile: 'A', seed, top1_final: 48 + seed / 10, epochs_derived: 22 }));
    }
    const text = whatWeFound(evaluateHypotheses(rows), rows, []);
    expect(text).toMatch(/^For vgg16 l1 A \(CIFAR-10 2,000 train images; 15 epochs, fine-tune 5, Scratch-B 22; 3 seeds; unpruned 40\.20%\): Scratch-B was at least as accurate as fine-tuning \(\+10\.00 points\)/);
    expect(text).toMatch(/Overall 2 comparisons supported the paper's claim, 0 contradicted it/);
    expect(text).toMatch(/undertrained regime more epochs win by themselves/);
    const reduced = rows.map((r) => ({ ...r, top1_final: Number(r.top1_final) + 43 }));
    const reducedText = whatWeFound(evaluateHypotheses(reduced), reduced, []);
    expect(reducedText).not.toMatch(/undertrained/);
    expect(reducedText).toMatch(/averaged 83\.2% at most, below the papers' ~93-94% \(reduced widths, epochs or data\): the verdicts hold for this smaller regime/);
    const trained = rows.map((r) => ({ ...r, top1_final: Number(r.top1_final) + 53 }));
    expect(whatWeFound(evaluateHypotheses(trained), trained, [])).not.toMatch(/undertrained|smaller regime/);
  });

  it("gives Scratch-B's epochs as a range when each seed's pruned network set its own budget", () => {
    const rows: RunRow[] = [];
    for (const [seed, scratchB] of [[1, 69], [2, 66], [3, 66]] as const) {
      rows.push(row({ protocol: 'baseline', method: 'none', seed, top1_final: 83 + seed / 10, epochs_derived: 32 }));
      rows.push(row({ protocol: 'fine-tune', method: 'l1', profile: 'A', seed, top1_final: 81 + seed / 10, epochs_derived: 8 }));
      rows.push(row({ protocol: 'scratch-B', method: 'l1', profile: 'A', seed, top1_final: 83 + seed / 10, epochs_derived: scratchB }));
    }
    expect(whatWeFound(evaluateHypotheses(rows), rows, [])).toMatch(/^For vgg16 l1 A \(CIFAR-10 2,000 train images; 32 epochs, fine-tune 8, Scratch-B 66-69; 3 seeds;/);
  });
});
