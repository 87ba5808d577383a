import { describe, expect, it } from 'vitest';
import { RUN_COLUMNS, type RunRow } from '../results/columns.ts';
import { configWidth, whatWeFound } from './findings.ts';
import { evaluateHypotheses } from './stats.ts';

function row(o: Partial<RunRow>): RunRow {
  const r = Object.fromEntries(RUN_COLUMNS.map((c) => [c, ''])) as RunRow;
  return { ...r, experiment: 'rethinking-l1', preset: 'small', model: 'vgg16', dataset: 'cifar10', train_subset: 2000, status: 'ok', ...o };
}

/** One seed's unpruned, fine-tuned and Scratch-B rows of VGG-16-A: top-1 and epochs of each. */
function seedRows(seed: number, top1: [number, number, number], epochs: [number, number, number]): RunRow[] {
  return [
    row({ protocol: 'baseline', method: 'none', seed, top1_final: top1[0], epochs_derived: epochs[0] }),
    row({ protocol: 'fine-tune', method: 'l1', profile: 'A', seed, top1_final: top1[1], epochs_derived: epochs[1] }),
    row({ protocol: 'scratch-B', method: 'l1', profile: 'A', seed, top1_final: top1[2], epochs_derived: epochs[2] }),
  ];
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
      rows.push(...seedRows(seed, [40 + seed / 10, 38 + seed / 10, 48 + seed / 10], [15, 5, 22]));
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

  it('counts a comparison with no runs on one side apart, not as inconclusive', () => {
    const rows: RunRow[] = [];
    for (const seed of [1, 2, 3]) {
      rows.push(...seedRows(seed, [83 + seed / 10, 81 + seed / 10, 85 + seed / 10], [32, 8, 48]));
      rows.push(row({ protocol: 'scratch-E', method: 'l1', profile: 'A', seed, top1_final: [81.0, 81.9, 81.4][seed - 1], epochs_derived: 32 }));
    }
    // A second architecture with only its Scratch-E runs so far.
    for (const seed of [1, 2]) rows.push(row({ model: 'resnet56', protocol: 'scratch-E', method: 'l1', profile: 'B', seed, top1_final: 88 + seed / 10, epochs_derived: 32 }));
    const verdicts = evaluateHypotheses(rows);
    expect(verdicts.some((v) => v.cellLabel.startsWith('resnet56') && v.nB === 0)).toBe(true);
    const text = whatWeFound(verdicts, rows, []);
    expect(text).toMatch(/For resnet56 l1 B \([^)]*\): Scratch-E vs Fine-tuned has no runs on one side \(2 and 0\)\./);
    expect(text).toMatch(/Overall 2 comparisons supported the paper's claim, 0 contradicted it and 1 was inconclusive\. 1 more comparison has no runs on one side yet\./);
    // One seed on a side: reported as untested with its difference, never as "could not be told apart".
    const oneSeed = rows.filter((r) => !(r.model === 'resnet56' && r.seed === 2));
    oneSeed.push(row({ model: 'resnet56', protocol: 'fine-tune', method: 'l1', profile: 'B', seed: 1, top1_final: 75, epochs_derived: 8 }));
    const oneText = whatWeFound(evaluateHypotheses(oneSeed), oneSeed, []);
    expect(oneText).toMatch(/For resnet56 l1 B \([^)]*\):[^.]* Scratch-E vs Fine-tuned was not tested, too few seeds \(1 and 1; \+13\.10 points; paper -1\.75\)/);
    expect(oneText).not.toMatch(/resnet56[^.]*could not be told apart/);
    // Nothing to compare at all: said so, not called inconclusive evidence.
    const alone = rows.filter((r) => r.model === 'resnet56');
    expect(whatWeFound(evaluateHypotheses(alone), alone, [])).toMatch(/\(2 and 0\)\. No comparison can be made yet: each has no runs on one side\.$/);
  });

  it("describes a cell's seeds from all its comparisons, per arm when the arms differ", () => {
    const rows: RunRow[] = [];
    // Three Scratch-E seeds, one fine-tuned seed, no Scratch-B yet: the first comparison of the
    // cell (Scratch-B vs fine-tuned) alone would make the cell read "1 seed".
    for (const seed of [1, 2, 3]) rows.push(row({ model: 'resnet56', protocol: 'scratch-E', method: 'l1', profile: 'B', seed, top1_final: 84 + seed / 10, epochs_derived: 32 }));
    rows.push(row({ model: 'resnet56', protocol: 'baseline', method: 'none', seed: 1, top1_final: 85, epochs_derived: 32 }));
    rows.push(row({ model: 'resnet56', protocol: 'fine-tune', method: 'l1', profile: 'B', seed: 1, top1_final: 84, epochs_derived: 8 }));
    const text = whatWeFound(evaluateHypotheses(rows), rows, []);
    expect(text).toMatch(/^For resnet56 l1 B \(CIFAR-10 2,000 train images; 32 epochs, fine-tune 8; 1-3 seeds per arm; unpruned 85\.00%\): /);
    // Equal arms keep the plain count.
    rows.push(...[2, 3].map((seed) => row({ model: 'resnet56', protocol: 'fine-tune', method: 'l1', profile: 'B', seed, top1_final: 84, epochs_derived: 8 })));
    expect(whatWeFound(evaluateHypotheses(rows), rows, [])).toMatch(/; 3 seeds; unpruned 85\.00%\)/);
  });

  it("gives Scratch-B's epochs as a range when each seed's pruned network set its own budget", () => {
    const rows: RunRow[] = [];
    for (const [seed, scratchB] of [[1, 69], [2, 66], [3, 66]] as const) {
      rows.push(...seedRows(seed, [83 + seed / 10, 81 + seed / 10, 83 + seed / 10], [32, 8, scratchB]));
    }
    expect(whatWeFound(evaluateHypotheses(rows), rows, [])).toMatch(/^For vgg16 l1 A \(CIFAR-10 2,000 train images; 32 epochs, fine-tune 8, Scratch-B 66-69; 3 seeds;/);
  });
});
