import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Model } from '../models/index.ts';
import { MICRO_TRAIN_CONFIG, microTrainData, QUIET_TRAINING, VGG_MICRO } from '../testing/fixtures.ts';
import { maxAbsDiff, useWasmBackend } from '../testing/tf.ts';
import { learningRate, stepMilestones } from './schedule.ts';
import { Sgd } from './sgd.ts';
import { readCheckpointState, secondsLeft, typicalEpochSeconds } from './checkpoint.ts';
import { trainModel } from './loop.ts';

const SPEC = VGG_MICRO;
const DATA = microTrainData(256, 64);
const CFG = MICRO_TRAIN_CONFIG;
const quiet = QUIET_TRAINING;

let dir: string;
beforeAll(async () => {
  await useWasmBackend();
  dir = await mkdtemp(join(tmpdir(), 'prunebench-train-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('learning-rate schedule', () => {
  it('steps x0.1 at floor(50%) and floor(75%) of whole epochs', () => {
    expect(stepMilestones(160, { kind: 'step' })).toEqual([80, 120]);
    expect(stepMilestones(7, { kind: 'step' })).toEqual([3, 5]);
    // One epoch: no decay before training starts.
    expect(stepMilestones(1, { kind: 'step' })).toEqual([]);
    expect(learningRate(0.1, 0, 1, { kind: 'step' })).toBe(0.1);
    const lrs = Array.from({ length: 7 }, (_, e) => learningRate(0.1, e, 7, { kind: 'step' }));
    expect(lrs.map((v) => +v.toPrecision(6))).toEqual([0.1, 0.1, 0.1, 0.01, 0.01, 0.001, 0.001]);
    expect(learningRate(0.001, 30, 40, { kind: 'constant' })).toBe(0.001);
    expect(() => stepMilestones(10, { kind: 'step', milestones: [2.5] })).toThrow(/whole epoch/);
  });
});

describe('SGD', () => {
  it('matches torch.optim.SGD (momentum, weight decay, nesterov) computed by hand', () => {
    for (const nesterov of [false, true]) {
      const p = tf.variable(tf.tensor1d([1, -2]));
      const sgd = new Sgd({ momentum: 0.9, nesterov, weightDecay: 0.1 });
      const params = new Map([['w', p]]);
      let w = [1, -2];
      let buf = [0, 0];
      for (const g of [[0.5, 0.25], [-1, 2]]) {
        const gt = tf.tensor1d(g);
        sgd.step(params, new Map([['w', gt]]), 0.1);
        gt.dispose();
        const d = g.map((gi, i) => gi + 0.1 * w[i]!);
        buf = buf.map((b, i) => 0.9 * b + d[i]!);
        const step = nesterov ? d.map((di, i) => di + 0.9 * buf[i]!) : buf;
        w = w.map((wi, i) => wi - 0.1 * step[i]!);
      }
      const got = Array.from(p.dataSync());
      got.forEach((v, i) => expect(v).toBeCloseTo(w[i]!, 6));
      sgd.dispose();
      p.dispose();
    }
  });
});

describe('time left', () => {
  it('one stalled epoch does not inflate the estimate; a lasting change of speed moves it', () => {
    // Epoch 3 stalled (a paused process): the mean would say 1060 s per epoch.
    const stalled = [100, 100, 4900, 100, 100];
    expect(typicalEpochSeconds(5, 5300, stalled)).toBe(100);
    expect(secondsLeft(5, 32, typicalEpochSeconds(5, 5300, stalled))).toBe(2700);
    // The machine became twice as fast five epochs ago: only the recent epochs count.
    expect(typicalEpochSeconds(10, 1500, [200, 200, 200, 200, 200, 100, 100, 100, 100, 100])).toBe(100);
    // Older checkpoints without per-epoch times: the mean so far.
    expect(typicalEpochSeconds(4, 1000)).toBe(250);
    expect(secondsLeft(32, 32, 250)).toBe(0);
    expect(typicalEpochSeconds(0, 0)).toBeNaN();
  });
});

describe('training loop', () => {
  it('learns a learnable synthetic task, reproducibly from the seed, without leaking tensors', async () => {
    const counts: number[] = [];
    const run = async (): Promise<{ acc: number; curve: unknown; model: Model }> => {
      const model = Model.init(SPEC, 7);
      const r = await trainModel(model, DATA, CFG, { ...quiet, onEpoch: () => void counts.push(tf.memory().numTensors) });
      return { acc: r.finalTestAcc, curve: r.curve, model };
    };
    const a = await run();
    expect(a.acc).toBeGreaterThan(60); // chance is 25%
    expect(counts[2]).toBe(counts[0]);
    const b = await run();
    expect(b.curve).toEqual(a.curve);
    expect(maxAbsDiff(a.model.param('features.1.conv.weight'), b.model.param('features.1.conv.weight'))).toBe(0);
    a.model.dispose();
    b.model.dispose();
  });

  it('lets signal handlers and timers run during an epoch (Ctrl-C on an in-process cell answers at once, not after the epoch)', async () => {
    // Awaits of resolved promises are microtasks: without a real yield, a SIGINT handler (a
    // macrotask) would wait for the whole epoch, ~100 s on a cpu-preset cell.
    let training = true;
    let ranDuringTraining = 0;
    const model = Model.init(SPEC, 7);
    try {
      await trainModel(model, DATA, { ...CFG, epochs: 2 }, {
        ...quiet,
        onEpoch: (p) => {
          if (p.epoch === 1) setImmediate(() => (ranDuringTraining += training ? 1 : 0));
        },
      });
    } finally {
      training = false;
      model.dispose();
    }
    expect(ranDuringTraining).toBe(1);
  });

  it('without a progress bar logs one line per epoch, with the time left but after the last', async () => {
    const lines: string[] = [];
    const model = Model.init(SPEC, 4);
    await trainModel(model, DATA, CFG, { progressStream: null, label: 'cell', logger: { info: (l) => lines.push(l), warn: () => {} } });
    model.dispose();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^cell epoch 1\/3: loss \d\.\d{3}, train [\d.]+%, test [\d.]+%, \d+ img\/s, lr 0\.05, ~\d+:\d\d left$/);
    expect(lines[1]).toMatch(/^cell epoch 2\/3: .*, ~\d+:\d\d left$/);
    expect(lines[2]).toMatch(/^cell epoch 3\/3: .*, lr 0\.05$/);
  });

  it('keeps masked weights at zero through training', async () => {
    const model = Model.init(SPEC, 1);
    const name = 'features.1.conv.weight';
    const shape = model.param(name).shape;
    const maskValues = new Float32Array(shape.reduce((x, y) => x * y, 1)).map((_, i) => (i % 3 === 0 ? 0 : 1));
    const mask = tf.tensor(maskValues, shape);
    await trainModel(model, DATA, { ...CFG, epochs: 1 }, { ...quiet, masks: new Map([[name, mask]]) });
    const w = model.param(name).dataSync();
    let zeros = 0;
    let nonZeroKept = 0;
    maskValues.forEach((m, i) => {
      if (m === 0 && w[i] === 0) zeros++;
      if (m === 1 && w[i] !== 0) nonZeroKept++;
    });
    expect(zeros).toBe(maskValues.filter((m) => m === 0).length);
    expect(nonZeroKept).toBe(maskValues.filter((m) => m === 1).length);
    mask.dispose();
    model.dispose();
  });

  it('the L1 penalty adds lambda*sign(gamma) to the gamma gradient (one step, closed form)', async () => {
    const one = { ...CFG, epochs: 1, batchSize: 256, augment: false, weightDecay: 0 };
    const gamma = 'features.0.bn.gamma';
    const plain = Model.init(SPEC, 2);
    plain.param(gamma).assign(tf.tensor1d([0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5]));
    const penal = plain.clone();
    await trainModel(plain, DATA, one, quiet);
    await trainModel(penal, DATA, one, { ...quiet, l1Penalty: { lambda: 0.1, params: [gamma] } });
    const diff = Array.from(tf.sub(plain.param(gamma), penal.param(gamma)).dataSync());
    // One SGD step (first momentum step = the gradient): the difference is lr * lambda * sign.
    const expected = [1, -1, 1, -1, 1, -1, 1, -1].map((s) => one.lr * 0.1 * s);
    diff.forEach((d, i) => expect(d).toBeCloseTo(expected[i]!, 5));
    plain.dispose();
    penal.dispose();
  });

  it('resumes from the last checkpoint and ends exactly where an uninterrupted run ends', async () => {
    const straight = Model.init(SPEC, 5);
    const full = await trainModel(straight, DATA, CFG, quiet);
    const ckpt = join(dir, 'ckpt');
    const interrupted = Model.init(SPEC, 5);
    // Simulate a crash after epoch 2: throwing from the epoch hook stops the run.
    await expect(
      trainModel(interrupted, DATA, CFG, { ...quiet, checkpointDir: ckpt, onEpoch: (p) => { if (p.epoch === 2) throw new Error('killed'); } }),
    ).rejects.toThrow('killed');
    interrupted.dispose();
    // The state alone (what `prunebench status` reads) says how far the run got and how far it goes.
    const state = (await readCheckpointState(ckpt))!;
    expect(state).toMatchObject({ epoch: 2, epochs: CFG.epochs });
    expect(state.wallSeconds).toBeGreaterThanOrEqual(state.trainSeconds);
    expect(state.epochWallSeconds).toHaveLength(2);
    expect(state.epochWallSeconds![0]! + state.epochWallSeconds![1]!).toBeCloseTo(state.wallSeconds!, 6);
    const resumedModel = Model.init(SPEC, 99); // different init: everything must come from the checkpoint
    const resumed = await trainModel(resumedModel, DATA, CFG, { ...quiet, checkpointDir: ckpt });
    expect(resumed.resumedFromEpoch).toBe(2);
    // The cell's cost includes the two epochs its first process trained.
    expect(resumed.resumedWallSeconds).toBe(state.wallSeconds);
    expect(full.resumedWallSeconds).toBe(0);
    expect(resumed.curve).toEqual(full.curve);
    expect(maxAbsDiff(resumedModel.param('classifier.weight'), straight.param('classifier.weight'))).toBe(0);
    straight.dispose();
    resumedModel.dispose();
  });

  it('rejects bad configs by key', async () => {
    const model = Model.init(SPEC, 0);
    await expect(trainModel(model, DATA, { ...CFG, batchSize: 0 }, quiet)).rejects.toThrow(/batchSize/);
    await expect(trainModel(model, DATA, { ...CFG, lr: -1 }, quiet)).rejects.toThrow(/lr/);
    model.dispose();
  });
});
