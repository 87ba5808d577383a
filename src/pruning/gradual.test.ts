import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { numBatches } from '../data/index.ts';
import { Model } from '../models/index.ts';
import { MICRO_TRAIN_CONFIG, microTrainData, QUIET_TRAINING, VGG_MICRO } from '../testing/fixtures.ts';
import { maxAbsDiff, randomImages, useWasmBackend } from '../testing/tf.ts';
import { trainModel, type MaskSchedule } from '../train/index.ts';
import { ConfigError } from '../util/errors.ts';
import { l1FilterImportance } from './criteria.ts';
import { agpSchedule, agpSparsity, channelMasks, gradualChannelPlan, gradualMasksAt, isUpdateStep, keepPlanFromChannelMasks, type AgpSchedule, type GradualTarget } from './gradual.ts';
import { prunableGroups } from './groups.ts';
import { uniformRatios } from './methods.ts';
import { compactModel } from './surgery.ts';
import { weightMagnitudeMasks } from './vector.ts';

const SPEC = VGG_MICRO;
const DATA = microTrainData(128, 32);
// 4 steps an epoch, 3 epochs: 12 steps.
const CFG = MICRO_TRAIN_CONFIG;
const quiet = QUIET_TRAINING;

let dir: string;
beforeAll(async () => {
  await useWasmBackend();
  dir = await mkdtemp(join(tmpdir(), 'prunebench-gradual-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('AGP sparsity schedule (Zhu & Gupta 2017)', () => {
  it('is s_i at the start, s_f exactly at the end step, and the cubic in between (values by hand)', () => {
    const at = (step: number): number => agpSparsity({ initial: 0, final: 0.8, startStep: 0, endStep: 100, step });
    expect(at(0)).toBe(0);
    expect(at(100)).toBe(0.8);
    expect(at(250)).toBe(0.8);
    // 0.8 - 0.8 (1 - t/100)^3: t = 25 -> 0.8 - 0.8 x 0.421875; t = 50 -> 0.8 - 0.1; t = 75 -> 0.8 - 0.0125.
    expect(at(25)).toBeCloseTo(0.4625, 12);
    expect(at(50)).toBeCloseTo(0.7, 12);
    expect(at(75)).toBeCloseTo(0.7875, 12);
    // A later start and s_i > 0: 0.9 + (0.2 - 0.9)(1 - 10/20)^3 = 0.8125 at step 20.
    const late = (step: number): number => agpSparsity({ initial: 0.2, final: 0.9, startStep: 10, endStep: 30, step });
    expect(late(10)).toBe(0.2);
    expect(late(20)).toBeCloseTo(0.8125, 12);
    expect(late(30)).toBe(0.9);
  });

  it('rises monotonically and is a cubic: (s_f - s_t) / (s_f - s_i) = (1 - t/T)^3', () => {
    let last = -1;
    for (let t = 0; t <= 100; t++) {
      const s = agpSparsity({ initial: 0.1, final: 0.7, startStep: 0, endStep: 100, step: t });
      expect(s).toBeGreaterThanOrEqual(last);
      expect((0.7 - s) / 0.6).toBeCloseTo((1 - t / 100) ** 3, 12);
      last = s;
    }
  });

  it('places the updates: dt = ceil(span / n), the last at n dt <= span, with span = round(endFraction x steps) before the last step', () => {
    // 1000 steps, 75% -> span 750; 20 updates -> dt = ceil(37.5) = 38, n = floor(750 / 38) = 19, end 722.
    const s = agpSchedule({ totalSteps: 1000, final: 0.5 });
    expect(s).toMatchObject({ startStep: 0, updateEvery: 38, updates: 19, endStep: 722, endFraction: 0.75, initial: 0 });
    expect([0, 38, 722].every((t) => isUpdateStep(s, t))).toBe(true);
    expect([1, 37, 760].some((t) => isUpdateStep(s, t))).toBe(false);
    // Fewer steps than updates: every step updates. 2 steps: span = min(1, round(1.5)) = 1.
    expect(agpSchedule({ totalSteps: 2, final: 0.5 })).toMatchObject({ updateEvery: 1, updates: 1, endStep: 1 });
    // One step (or none): the first step prunes to s_f.
    const one = agpSchedule({ totalSteps: 1, final: 0.5 });
    expect(one.endStep).toBe(0);
    expect(agpSparsity({ initial: 0, final: 0.5, startStep: 0, endStep: 0, step: 0 })).toBe(0.5);
  });

  it('refuses bad options with one clear error naming the key', () => {
    expect(() => agpSchedule({ totalSteps: 10, final: 0.5, updates: 0 })).toThrow(ConfigError);
    expect(() => agpSchedule({ totalSteps: 10, final: 0.5, endFraction: 0 })).toThrow(/endFraction in \(0, 1\]/);
    expect(() => agpSchedule({ totalSteps: 10, final: 0.5, initialSparsity: 0.6 })).toThrow(/initialSparsity in \[0, 0.5\]/);
  });
});

describe('units masked before stay masked, whatever their magnitude now', () => {
  it('weights: the largest |w| masked by the previous masks are still masked at a higher ratio, with exactly floor(r x total) masked', () => {
    const model = Model.init(SPEC, 3);
    const w = model.param('features.0.conv.weight');
    const values = w.dataSync();
    // Previous masks: the 20% LARGEST weights of features.0 (a magnitude criterion alone would keep them).
    const order = Array.from(values.keys()).sort((a, b) => Math.abs(values[b]!) - Math.abs(values[a]!));
    const largest = order.slice(0, Math.floor(0.2 * values.length));
    const prev = new Float32Array(values.length).fill(1);
    for (const i of largest) prev[i] = 0;
    const previous = new Map([['features.0.conv.weight', tf.tensor(prev, w.shape)]]);
    const m = weightMagnitudeMasks(model, { ratio: 0.5, previous });
    const now = m.masks.get('features.0.conv.weight')!.dataSync();
    for (const i of largest) expect(now[i]).toBe(0);
    const total = [...m.masks.values()].reduce((n, t) => n + t.size, 0);
    const zeros = [...m.masks.values()].reduce((n, t) => n + t.dataSync().filter((v) => v === 0).length, 0);
    expect(zeros).toBe(Math.floor(0.5 * total));
    tf.dispose([...previous.values(), ...m.masks.values()]);
    model.dispose();
  });

  it('channels: a channel pruned before (the highest-L1 one) stays pruned; the rest go by L1', () => {
    const model = Model.init(SPEC, 3);
    const g = prunableGroups(model.graph).find((x) => x.id === 'features.0.conv')!;
    const l1 = l1FilterImportance(model, g);
    const byL1 = Array.from(l1.keys()).sort((a, b) => l1[b]! - l1[a]!);
    const best = byL1[0]!;
    const previous = { model: SPEC.name, groups: { 'features.0.conv': byL1.slice(1).sort((a, b) => a - b), 'features.1.conv': Array.from({ length: 16 }, (_, i) => i) } };
    const { plan } = gradualChannelPlan(model, { criterion: 'l1', sparsity: new Map([['features.0.conv', 0.5], ['features.1.conv', 0]]), minChannels: 1, seed: 0, previous });
    // Keeps floor(8 x 0.5) = 4: the 2nd..5th by L1, never the (pruned) best.
    expect(plan.groups['features.0.conv']).toEqual(byL1.slice(1, 5).sort((a, b) => a - b));
    expect(plan.groups['features.0.conv']).not.toContain(best);
    expect(plan.groups['features.1.conv']).toHaveLength(16);
    model.dispose();
  });
});

/** Trains SPEC under a gradual schedule, recording the masks after every update (as host arrays). */
async function trainGradually(target: GradualTarget, schedule: AgpSchedule, checkpointDir?: string) {
  const model = Model.init(SPEC, 7);
  const history: { step: number; masks: Map<string, Float32Array> }[] = [];
  const maskSchedule: MaskSchedule = {
    key: schedule,
    update: (step, m, current) => {
      const next = gradualMasksAt(m, target, schedule, step, current);
      if (next) history.push({ step, masks: new Map([...next].map(([n, t]) => [n, t.dataSync() as Float32Array])) });
      return next;
    },
  };
  const r = await trainModel(model, DATA, CFG, { ...quiet, maskSchedule, ...(checkpointDir ? { checkpointDir } : {}) });
  return { model, history, masks: r.masks! };
}

const totalSteps = CFG.epochs * numBatches(DATA.train.count, CFG.batchSize);

describe('gradual masks during real training', () => {
  it('weights: a weight pruned at one update stays pruned (and zero), sparsity follows the schedule, ending at the target', async () => {
    const schedule = agpSchedule({ totalSteps, final: 0.6, updates: 4, endFraction: 0.75 });
    // 12 steps, span 9, dt = ceil(9/4) = 3, n = 3, updates at 0, 3, 6, 9.
    expect(schedule).toMatchObject({ updateEvery: 3, updates: 3, endStep: 9 });
    const { model, history, masks } = await trainGradually({ kind: 'weight', ratio: 0.6 }, schedule);
    expect(history.map((h) => h.step)).toEqual([0, 3, 6, 9]);
    const total = [...history[0]!.masks.values()].reduce((n, m) => n + m.length, 0);
    for (let k = 0; k < history.length; k++) {
      const zeros = [...history[k]!.masks.values()].reduce((n, m) => n + m.filter((v) => v === 0).length, 0);
      // Exactly floor(s_t x total) conv weights masked at each update.
      expect(zeros).toBe(Math.floor(agpSparsity({ initial: 0, final: 0.6, startStep: 0, endStep: 9, step: history[k]!.step }) * total));
      if (k === 0) continue;
      for (const [n, m] of history[k]!.masks) {
        const before = history[k - 1]!.masks.get(n)!;
        for (let i = 0; i < m.length; i++) if (before[i] === 0) expect(m[i], `${n}[${i}] unpruned at step ${history[k]!.step}`).toBe(0);
      }
    }
    expect([...history.at(-1)!.masks.values()].reduce((n, m) => n + m.filter((v) => v === 0).length, 0)).toBe(Math.floor(0.6 * total));
    // After the last steps of training, every masked weight is still exactly zero.
    for (const [n, m] of masks) {
      const w = model.param(n).dataSync();
      const mv = m.dataSync();
      for (let i = 0; i < w.length; i++) if (mv[i] === 0) expect(Math.abs(w[i]!)).toBe(0); // -0 after masking a negative weight
    }
    model.dispose();
    tf.dispose([...masks.values()]);
  });

  it('fibres: kernel fibres masked at one update stay masked; the final fraction is floor(s_f x fibres)', async () => {
    const schedule = agpSchedule({ totalSteps, final: 0.5, updates: 3 });
    const { model, history, masks } = await trainGradually({ kind: 'vector', ratio: 0.5 }, schedule);
    for (let k = 1; k < history.length; k++) {
      for (const [n, m] of history[k]!.masks) {
        const before = history[k - 1]!.masks.get(n)!;
        for (let i = 0; i < m.length; i++) if (before[i] === 0) expect(m[i]).toBe(0);
      }
    }
    let fibres = 0;
    let masked = 0;
    for (const m of masks.values()) {
      const [kh, kw, cin, cout] = m.shape as [number, number, number, number];
      const v = m.dataSync();
      fibres += kh * kw * cout;
      // A fibre (i, j, :, o) is masked whole: count its first entry, check the rest agree.
      for (let ij = 0; ij < kh * kw; ij++) {
        for (let o = 0; o < cout; o++) {
          const first = v[ij * cin * cout + o]!;
          for (let c = 1; c < cin; c++) expect(v[(ij * cin + c) * cout + o]).toBe(first);
          if (first === 0) masked++;
        }
      }
    }
    expect(masked).toBe(Math.floor(0.5 * fibres));
    model.dispose();
    tf.dispose([...masks.values()]);
  });

  it('channels: pruned channels stay pruned, each layer ends at floor(C x (1 - r)) channels, and the compacted model gives the masked model\'s logits', async () => {
    const schedule = agpSchedule({ totalSteps, final: 0.5, updates: 4 });
    const init = Model.init(SPEC, 7);
    const target: GradualTarget = { kind: 'channel', criterion: 'l1', ratios: uniformRatios(init, 0.5), minChannels: 1, seed: 1 };
    init.dispose();
    const { model, history, masks } = await trainGradually(target, schedule);
    const keptAt = (k: number): Record<string, number[]> => {
      const m = new Map([...history[k]!.masks].map(([n, v]) => [n, tf.tensor(v)]));
      const plan = keepPlanFromChannelMasks(model, m);
      tf.dispose([...m.values()]);
      return plan.groups;
    };
    for (let k = 1; k < history.length; k++) {
      const before = keptAt(k - 1);
      const now = keptAt(k);
      for (const [g, keep] of Object.entries(now)) for (const c of keep) expect(before[g], `${g} channel ${c} came back at update ${k}`).toContain(c);
    }
    const plan = keepPlanFromChannelMasks(model, masks);
    for (const g of prunableGroups(model.graph)) expect(plan.groups[g.id]!.length).toBe(Math.floor(g.channels * 0.5));
    // Masked weights, BN scale and shift of pruned channels are exactly zero after training.
    for (const g of prunableGroups(model.graph)) {
      const gamma = model.param(`${g.bns[0]}.gamma`).dataSync();
      const beta = model.param(`${g.bns[0]}.beta`).dataSync();
      for (let c = 0; c < g.channels; c++) {
        if (plan.groups[g.id]!.includes(c)) continue;
        expect([Math.abs(gamma[c]!), Math.abs(beta[c]!)]).toEqual([0, 0]);
      }
    }
    const compacted = compactModel(model, plan);
    const x = randomImages(5, 8, 8, 3, 11);
    const masked = model.forward(x, false).logits;
    const small = compacted.forward(x, false).logits;
    expect(maxAbsDiff(masked, small)).toBeLessThan(1e-5);
    expect(maxAbsDiff(masked, tf.zerosLike(masked))).toBeGreaterThan(1e-3);
    tf.dispose([x, masked, small, ...masks.values()]);
    compacted.dispose();
    model.dispose();
  });

  it('channelMasks of a plan zero what compactModel removes: equal logits on a random model', () => {
    const model = Model.init(SPEC, 5);
    const plan = { model: SPEC.name, groups: { 'features.0.conv': [0, 2, 5], 'features.1.conv': [1, 3, 4, 8, 15] } };
    const masks = channelMasks(model, plan);
    expect(keepPlanFromChannelMasks(model, masks).groups).toEqual(plan.groups);
    model.applyMasks(masks);
    const compacted = compactModel(model, plan);
    const x = randomImages(3, 8, 8, 3, 2);
    const a = model.forward(x, false).logits;
    const b = compacted.forward(x, false).logits;
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
    tf.dispose([x, a, b, ...masks.values()]);
    compacted.dispose();
    model.dispose();
  });

  it('interrupted after epoch 2, a run resumed from its checkpoint trains epoch 3 under the saved masks and ends as an uninterrupted one', async () => {
    // 12 steps, span round(0.5 x 12) = 6, one update after the first: 50% at step 0, 80% at step 6.
    // Epoch 3 (steps 8-11) has no update: with its masks lost it would train the pruned weights.
    const schedule = agpSchedule({ totalSteps, final: 0.8, updates: 1, endFraction: 0.5, initialSparsity: 0.5 });
    expect(schedule).toMatchObject({ updateEvery: 6, endStep: 6 });
    const run = async (ckpt: string, interruptAt?: number) => {
      const model = Model.init(SPEC, 7);
      const maskSchedule: MaskSchedule = { key: schedule, update: (step, m, current) => gradualMasksAt(m, { kind: 'weight', ratio: 0.8 }, schedule, step, current) };
      const onEpoch = (p: { epoch: number }): void => {
        if (p.epoch === interruptAt) throw new Error('interrupted');
      };
      try {
        const r = await trainModel(model, DATA, CFG, { ...quiet, maskSchedule, checkpointDir: ckpt, onEpoch });
        if (r.masks) tf.dispose([...r.masks.values()]);
        const w = new Map([...model.namedWeights()].map(([n, t]) => [n, Array.from(t.dataSync())]));
        return { w, curve: r.curve.map((p) => p.testLoss) };
      } finally {
        model.dispose();
      }
    };
    const whole = await run(join(dir, 'whole'));
    await expect(run(join(dir, 'cut'), 2)).rejects.toThrow('interrupted');
    const resumed = await run(join(dir, 'cut'));
    expect(resumed.curve).toEqual(whole.curve);
    for (const [n, v] of whole.w) expect(resumed.w.get(n), n).toEqual(v);
  });

  it('a resumed run goes on with the masks kept in its checkpoint', async () => {
    const schedule = agpSchedule({ totalSteps, final: 0.6, updates: 4 });
    const ckpt = join(dir, 'resume');
    const first = await trainGradually({ kind: 'weight', ratio: 0.6 }, schedule, ckpt);
    // Same config and checkpoint: it resumes after the last epoch, trains nothing, and hands back the saved masks.
    const again = await trainGradually({ kind: 'weight', ratio: 0.6 }, schedule, ckpt);
    expect(again.history).toEqual([]);
    for (const [n, m] of first.masks) expect(Array.from(again.masks.get(n)!.dataSync())).toEqual(Array.from(m.dataSync()));
    for (const r of [first, again]) {
      r.model.dispose();
      tf.dispose([...r.masks.values()]);
    }
  });
});
