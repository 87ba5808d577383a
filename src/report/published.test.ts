import { describe, expect, it } from 'vitest';
import { countSpec } from '../metrics/index.ts';
import { isModelName, modelSpec } from '../models/index.ts';
import { PUBLISHED } from './published.ts';

/** Significant digits a published number was printed with (1.72e6: 3, 20.04e6: 4). */
function digitsOf(published: number): number {
  return published.toExponential().replace(/e.*$/, '').replace(/[-.]/g, '').length;
}

describe('published counts against ours', () => {
  const unpruned = PUBLISHED.filter((p) => p.params !== undefined && p.key.protocol === 'baseline' && isModelName(p.key.model) && p.key.dataset.startsWith('cifar'));

  it('cover the models both papers count', () => {
    expect(new Set(unpruned.map((p) => p.key.model))).toEqual(new Set(['vgg16', 'resnet56', 'resnet110', 'vgg19', 'densenet40', 'preresnet164']));
  });

  // Where our count, printed as the source prints it, is not the published one, the cell must say
  // why (the ours-vs-published table of summary.md shows the note next to both counts).
  it.each(unpruned.map((p) => [`${p.label} (${p.key.dataset}, ${p.source.kind})`, p] as const))('%s: ours equal at the printed precision, or a counts note says why', (_label, p) => {
    const ours = countSpec(modelSpec(p.key.model, { numClasses: p.key.dataset === 'cifar100' ? 100 : 10 })).params;
    const digits = digitsOf(p.params!);
    const same = Number(ours.toPrecision(digits)) === Number(p.params!.toPrecision(digits));
    if (!same) expect(p.note, `ours ${ours}, published ${p.params}`).toMatch(/counts:/);
  });

  it("the reference README's counts: ours plus the channel-selection index vectors (CIFAR-10), and VGG-19's CIFAR-10 count repeated for CIFAR-100", () => {
    for (const [model, label, extra] of [['densenet40', 'CIFAR10-Densenet-40 Baseline', 9360], ['preresnet164', 'CIFAR10-Resnet-164 Baseline', 8080]] as const) {
      const c = countSpec(modelSpec(model));
      // One index entry per input channel of each selection layer.
      const indexes = c.layers.filter((l) => l.kind === 'select').reduce((n, l) => n + l.inChannels, 0);
      expect(indexes).toBe(extra);
      const p = PUBLISHED.find((x) => x.label === label)!;
      expect((c.params + indexes).toPrecision(3)).toBe(p.params!.toPrecision(3));
      expect(c.params.toPrecision(3)).not.toBe(p.params!.toPrecision(3));
    }
    const c10 = countSpec(modelSpec('vgg19')).params;
    const c100 = countSpec(modelSpec('vgg19', { numClasses: 100 })).params;
    expect(PUBLISHED.find((x) => x.label === 'CIFAR100-Vgg Baseline')!.params!.toPrecision(4)).toBe(c10.toPrecision(4));
    expect(PUBLISHED.find((x) => x.label === 'VGGNet (Baseline)' && x.key.dataset === 'cifar100')!.params!.toPrecision(4)).toBe(c100.toPrecision(4));
  });

  it('ResNet-164 of Network Slimming is our preresnet164 (pre-activation bottlenecks with channel selection)', () => {
    expect(PUBLISHED.some((p) => p.label.startsWith('ResNet-164') && p.key.model === 'preresnet164')).toBe(true);
    expect(PUBLISHED.some((p) => p.key.model === 'resnet164')).toBe(false);
  });
});
