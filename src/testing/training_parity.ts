/**
 * Training parity between a backend and wasm, shared by the onednn and webgpu tests: every model
 * family (VGG with both heads, ResNet, PreResNet with channel selection, DenseNet with
 * concatenations) trained a few SGD steps from identical weights and batches must give the same
 * losses, weights (BN running statistics included) and logits. A test helper: it declares
 * vitest tests, so only test files import it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Model, modelSpec, type ModelSpec } from '../models/index.ts';
import { Sgd, trainStep } from '../train/index.ts';
import { silentLogger } from '../util/log.ts';
import { Rng } from '../util/rng.ts';
import { initBackend } from '../backend/index.ts';
import { relError } from '../backend/test_util.ts';

interface Run {
  losses: number[];
  weights: Map<string, Float32Array>;
  logits: Float32Array;
}

const STEPS = 3;

/**
 * Trains `spec` for a few SGD steps from fixed weights and batches on `backend`; `perturb` scales
 * every input pixel by (1 + perturb * sin(i)), to measure how much float rounding-sized changes
 * move the result (thin networks with ReLUs amplify them: a value near a kink flips).
 */
async function run(backend: string, spec: ModelSpec, init: Map<string, { values: Float32Array; shape: number[] }>, batch: number, perturb = 0): Promise<Run> {
  await initBackend({ backend, logger: silentLogger });
  expect(tf.getBackend()).toBe(backend);
  const start = new Map<string, tf.Tensor>([...init].map(([n, w]) => [n, tf.tensor(w.values, w.shape)]));
  const model = Model.fromWeights(spec, start);
  tf.dispose([...start.values()]);
  const sgd = new Sgd({ momentum: 0.9, nesterov: false, weightDecay: 5e-4 });
  const rng = new Rng(7);
  const { height, width, channels } = spec.input;
  const losses: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    const pixels = Float32Array.from({ length: batch * height * width * channels }, (_, i) => rng.normal() * (1 + perturb * Math.sin(i)));
    const x = tf.tensor4d(pixels, [batch, height, width, channels]);
    const y = tf.tensor1d(Array.from({ length: batch }, () => rng.int(spec.numClasses)), 'int32');
    losses.push((await trainStep(model, sgd, x, y, 0.05, {})).loss);
    tf.dispose([x, y]);
  }
  const xEval = tf.tensor4d(Float32Array.from({ length: 2 * height * width * channels }, () => rng.normal()), [2, height, width, channels]);
  const { logits } = model.forward(xEval, false);
  const weights = new Map<string, Float32Array>();
  for (const [n, t] of model.namedWeights()) weights.set(n, Float32Array.from(await t.data()));
  const out: Run = { losses, weights, logits: Float32Array.from(await logits.data()) };
  tf.dispose([xEval, logits]);
  sgd.dispose();
  model.dispose();
  return out;
}

/**
 * `conditioned`: whether the family, at this width and batch, is well-conditioned enough that
 * its trained weights can be compared directly. The thin PreResNet and DenseNet are not: a 1e-6
 * relative change of the input moves some of their gradients by ~10% (measured), as float
 * rounding does; for them the backend-vs-wasm difference is compared with that noise floor.
 */
const FAMILIES: { label: string; spec: () => ModelSpec; batch: number; conditioned: boolean }[] = [
  { label: 'vgg-tiny (global-pool head)', spec: () => modelSpec('vgg-tiny'), batch: 16, conditioned: true },
  { label: 'vgg16 at 1/8 width (Linear-BN-ReLU head)', spec: () => modelSpec('vgg16', { widthMultiplier: 1 / 8 }), batch: 8, conditioned: false },
  { label: 'resnet20 at 1/2 width (option-A shortcuts, stride-2 convs)', spec: () => modelSpec('resnet20', { widthMultiplier: 0.5 }), batch: 8, conditioned: true },
  { label: 'preresnet164 at 1/8 width (bottlenecks, channel selection)', spec: () => modelSpec('preresnet164', { widthMultiplier: 1 / 8 }), batch: 4, conditioned: false },
  { label: 'densenet40 at 1/4 width (concatenations, transitions)', spec: () => modelSpec('densenet40', { widthMultiplier: 0.25 }), batch: 4, conditioned: false },
];

/** Largest difference between two runs' weights, relative to each weight's own scale. */
function weightDistance(a: Run, b: Run): { worst: number; name: string } {
  let worst = 0;
  let name = '';
  for (const [n, w] of a.weights) {
    const scale = Math.max(...w.map(Math.abs));
    if (scale < 1e-6) continue; // a weight whose gradient is zero in exact arithmetic (a bias before BN)
    const e = relError(b.weights.get(n)!, w);
    if (e > worst) [worst, name] = [e, n];
  }
  return { worst, name };
}

/** Declares the parity tests of `backend` against wasm; skipped when `reason` says it is unavailable. */
export function describeTrainingParity(backend: string, reason: string | null, extra?: () => void): void {
  describe.skipIf(reason !== null)(`training on ${backend} matches wasm`, () => {
    for (const family of FAMILIES) {
      it(family.label, async () => {
        const spec = family.spec();
        await initBackend({ backend: 'wasm', logger: silentLogger });
        const seedModel = Model.init(spec, 3);
        const init = new Map([...seedModel.namedWeights()].map(([n, t]) => [n, { values: Float32Array.from(t.dataSync()), shape: t.shape }]));
        seedModel.dispose();
        const wasm = await run('wasm', spec, init, family.batch);
        const native = await run(backend, spec, init, family.batch);
        for (let s = 0; s < STEPS; s++) expect(Math.abs(native.losses[s]! - wasm.losses[s]!) / Math.abs(wasm.losses[s]!)).toBeLessThan(1e-4);
        let moved = 0;
        for (const [name, w] of wasm.weights) moved = Math.max(moved, relError(w, init.get(name)!.values));
        expect(moved).toBeGreaterThan(1e-3);
        // Training moved the weights identically on both backends (BN running statistics included),
        // up to what float rounding-sized changes do to this network.
        const distance = weightDistance(wasm, native);
        let tolerance = 2e-3;
        if (!family.conditioned) {
          const perturbed = await run('wasm', spec, init, family.batch, 1e-6);
          tolerance = Math.max(2e-3, 3 * weightDistance(wasm, perturbed).worst);
        }
        expect(distance.worst, `${distance.name} (tolerance ${tolerance.toExponential(2)})`).toBeLessThan(tolerance);
        expect(relError(native.logits, wasm.logits)).toBeLessThan(family.conditioned ? 2e-3 : tolerance);
      });
    }
    extra?.();
  });
}
