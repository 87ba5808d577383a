import { describe, expect, it } from 'vitest';
import { modelSpec, type DenseNetSpec, type VggSpec } from '../models/index.ts';
import { countSpec, reductionPct } from './count.ts';

const rel = (a: number, b: number): number => Math.abs(a - b) / b;

describe('published parameter and MAC counts', () => {
  it("Li et al. VGG-16: 3.13e8 MACs, 1.5e7 params; pruned-A: 2.06e8 (-34.2%), 5.4e6 (-64.0%)", () => {
    const full = countSpec(modelSpec('vgg16'));
    expect(full.macs / 1e8).toBeCloseTo(3.13, 2);
    expect(full.params / 1e7).toBeCloseTo(1.5, 1);
    const a: VggSpec = { ...(modelSpec('vgg16') as VggSpec), cfg: [32, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 256, 256, 256, 'M', 256, 256, 256] };
    const pruned = countSpec(a);
    expect(pruned.macs / 1e8).toBeCloseTo(2.06, 2);
    expect(pruned.params / 1e6).toBeCloseTo(5.4, 1);
    expect(reductionPct(full.macs, pruned.macs)).toBeCloseTo(34.2, 1);
    expect(reductionPct(full.params, pruned.params)).toBeCloseTo(64.0, 1);
  });

  it('ResNet-56: 1.25e8 MACs, 0.85M params; ResNet-110: 2.53e8 MACs, 1.72M params', () => {
    const r56 = countSpec(modelSpec('resnet56'));
    expect(r56.macs / 1e8).toBeCloseTo(1.25, 2);
    expect(r56.params / 1e6).toBeCloseTo(0.85, 2);
    const r110 = countSpec(modelSpec('resnet110'));
    expect(r110.macs / 1e8).toBeCloseTo(2.53, 2);
    expect(r110.params / 1e6).toBeCloseTo(1.72, 1);
  });

  it('ResNet-110: the published 1.72M params are the count without BN (1.73M with BN gamma/beta)', () => {
    const c = countSpec(modelSpec('resnet110'));
    expect((c.paramsWithoutBn / 1e6).toFixed(2)).toBe('1.72');
    expect((c.params / 1e6).toFixed(2)).toBe('1.73');
    // The difference is gamma + beta of every BN channel: stem 16, then 18 blocks x 2 BNs per stage.
    const bnChannels = 16 + 18 * 2 * (16 + 32 + 64);
    expect(c.params - c.paramsWithoutBn).toBe(2 * bnChannels);
  });

  it('DenseNet-40: the published 1.02M params / 5.33e8 FLOPs are a 16-channel stem; the Network Slimming code (and ours) use 24: 1.06M, 2.83e8 MACs', () => {
    const ours = modelSpec('densenet40') as DenseNetSpec;
    expect(ours.stemWidth).toBe(24);
    const c24 = countSpec(ours);
    expect((c24.params / 1e6).toFixed(2)).toBe('1.06');
    expect((c24.macs / 1e8).toFixed(2)).toBe('2.83');
    // On CIFAR-100: 1.10M, the reference code README's baseline.
    expect((countSpec({ ...ours, numClasses: 100 }).params / 1e6).toFixed(2)).toBe('1.10');
    const c16 = countSpec({ ...ours, stemWidth: 16 });
    expect((c16.params / 1e6).toFixed(2)).toBe('1.02');
    expect((countSpec({ ...ours, stemWidth: 16, numClasses: 100 }).params / 1e6).toFixed(2)).toBe('1.06');
    // FLOPs = 2 x MACs of conv + linear: 5.30e8, within 1% of the printed 5.33e8 (24 channels: 5.66e8).
    expect(rel(c16.flops, 5.33e8)).toBeLessThan(0.01);
    expect(rel(c24.flops, 5.33e8)).toBeGreaterThan(0.05);
    // The stem's 8 extra channels reach every later layer: 24 - 16 more input channels for each of
    // the 12 dense convs of block 1 (3x3, 12 outputs, 32x32) and the transition, and so on.
    const dense1 = 12 * 9 * 8 * 12 * 32 * 32;
    expect(c24.macs - c16.macs).toBeGreaterThan(dense1);
  });

  it('Network Slimming VGG-19 (CIFAR-10): 20.04M params, 7.97e8 FLOPs', () => {
    const c = countSpec(modelSpec('vgg19'));
    expect(c.params / 1e6).toBeCloseTo(20.04, 2);
    expect(c.flops).toBe(2 * c.macs);
    // Conv + linear give 7.963e8; the paper's 7.97e8 also counts BN's multiply-add on each of
    // the 303,104 activations (2 FLOPs each): 7.963e8 + 6.1e5 = 7.969e8.
    expect(rel(c.flops, 7.97e8)).toBeLessThan(1e-3);
    const bnElements = c.layers.filter((l) => l.kind === 'bn').reduce((n, l) => n + l.outHeight * l.outWidth * l.outChannels, 0);
    expect(bnElements).toBe(303104);
    expect(((c.flops + 2 * bnElements) / 1e8).toFixed(2)).toBe('7.97');
  });

  it('counts a conv layer by hand: k*k*in*out params, times the output size in MACs', () => {
    const spec: VggSpec = { family: 'vgg', name: 't', cfg: [4, 'M', 6], head: 'gap', numClasses: 3, input: { height: 8, width: 8, channels: 3 }, bnGammaInit: 0.5 };
    const c = countSpec(spec);
    const conv0 = c.layers.find((l) => l.name === 'features.0.conv')!;
    expect(conv0.params).toBe(3 * 3 * 3 * 4);
    expect(conv0.macs).toBe(3 * 3 * 3 * 4 * 8 * 8);
    const conv1 = c.layers.find((l) => l.name === 'features.1.conv')!;
    expect(conv1.macs).toBe(3 * 3 * 4 * 6 * 4 * 4);
    // BN: gamma + beta per channel; linear: weights + bias.
    expect(c.params).toBe(108 + 8 + 216 + 12 + 6 * 3 + 3);
    expect(c.paramsWithoutBn).toBe(108 + 216 + 18 + 3);
    expect(c.macs).toBe(108 * 64 + 216 * 16 + 18);
  });

  it('effective counts use non-zero weights only', () => {
    const spec = modelSpec('vgg-tiny');
    const dense = countSpec(spec);
    const conv = dense.layers.find((l) => l.name === 'features.1.conv')!;
    const half = (3 * 3 * 16 * 16) / 2;
    const sparse = countSpec(spec, { nonZero: new Map([['features.1.conv.weight', half]]) });
    expect(sparse.params).toBe(dense.params);
    expect(sparse.paramsEffective).toBe(dense.params - half);
    expect(sparse.macsEffective).toBe(dense.macs - half * conv.outHeight * conv.outWidth);
  });
});

describe('Scratch-B budget', () => {
  it('scales the configured epochs by the FLOPs ratio, rounded down', async () => {
    const { scratchBudgetEpochs } = await import('./budget.ts');
    expect(scratchBudgetEpochs(160, 3.13e8, 2.06e8)).toBe(243);
    expect(scratchBudgetEpochs(10, 100, 100)).toBe(10);
    expect(scratchBudgetEpochs(7, 100, 30)).toBe(23);
    expect(() => scratchBudgetEpochs(10, 100, 0)).toThrow(/positive FLOPs/);
  });
});
