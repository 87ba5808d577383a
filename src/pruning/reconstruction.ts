import { validatePruneRatio } from './methods.ts';
import * as tf from '@tensorflow/tfjs-core';
import { Model, type GraphNode, type ModelGraph, type NamedWeights } from '../models/index.ts';
import { ConfigError, ModelError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { prunableGroups, type ChannelGroup } from './groups.ts';
import type { KeepPlan } from './plan.ts';
import { compactModel } from './surgery.ts';

/**
 * The "minimum reconstruction error of the next layer's output" criterion, ThiNet-style.
 * A channel group's channels are input channels of one consumer (a conv or linear layer). Each
 * sampled output y = sum_c z_c of the consumer (one image, position and output channel; bias left
 * out) splits into per-channel contributions z_c. Channels are removed greedily, each time the
 * one that adds the least squared error sum_m (sum_{c removed} z_mc)^2, down to
 * floor(C * (1 - ratio)) channels (at least 1). A least-squares refit then rescales the kept
 * channels' consumer weights by s minimising ||y - Z s||^2.
 *
 * All groups are scored on the unpruned model's activations (one shot, not layer by layer).
 * Everything after the sampling works on the C x C Gram matrix G = Z^T Z in float64:
 * error(T) = sum_{t,t' in T} G[t,t'], and y = Z 1 gives Z^T y = G 1.
 */
export interface ReconstructionOptions {
  /** Fraction of each group's channels removed, in [0, 1). */
  ratio: number;
  /** Sampled consumer outputs per group (default 2000). */
  samples?: number;
  seed: number;
  /** Least-squares rescaling of the kept channels (default true). */
  refit?: boolean;
  /** Only these group ids are pruned; every other group is kept whole (default: all prunable groups). */
  groups?: string[];
}

export interface GroupReconstruction {
  group: string;
  /** The conv or linear layer whose output is reconstructed. */
  consumer: string;
  channels: number;
  kept: number;
  /** Removed channels in the order the greedy search took them. */
  removed: number[];
  /** Sampled squared error / sampled squared output, before and after the refit (equal when refit is off). */
  relativeErrorNoRefit: number;
  relativeErrorRefit: number;
  /** Scale applied to each kept channel's consumer weights (all 1 without refit). */
  scales: number[];
}

export interface ReconstructionResult {
  /** The compacted (and refit) model; the input model is not changed. The caller disposes it. */
  model: Model;
  plan: KeepPlan;
  errors: GroupReconstruction[];
  /** Prunable groups the criterion cannot score, kept whole. */
  skipped: { group: string; reason: string }[];
}

export type ReconstructionTarget =
  | { consumer: Extract<GraphNode, { kind: 'conv' | 'linear' }>; weight: string; axis: number }
  | { reason: string };

/** The single conv or linear layer reading a group's channels, from the group's weight axes. */
export function reconstructionTarget(graph: ModelGraph, group: ChannelGroup): ReconstructionTarget {
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const inputs = group.weightAxes.filter(([name, axis]) => {
    const node = byName.get(name.slice(0, name.lastIndexOf('.')));
    if (!name.endsWith('.weight') || !node) return false;
    return (node.kind === 'conv' && axis === 2) || (node.kind === 'linear' && axis === 0);
  });
  if (inputs.length !== 1) {
    const list = inputs.map(([n]) => n).join(', ') || 'none';
    return { reason: `needs exactly one conv or linear layer reading its channels, found ${inputs.length} (${list})` };
  }
  const [weight, axis] = inputs[0]!;
  const consumer = byName.get(weight.slice(0, weight.lastIndexOf('.'))) as Extract<GraphNode, { kind: 'conv' | 'linear' }>;
  return { consumer, weight, axis };
}

function checkOptions(opts: ReconstructionOptions): void {
  validatePruneRatio(opts.ratio);
  const samples = opts.samples ?? 2000;
  if (!(Number.isInteger(samples) && samples >= 1)) {
    throw new ConfigError(`Expected the number of reconstruction samples to be a positive integer, but got ${samples}`, 'samples');
  }
  if (!Number.isInteger(opts.seed)) throw new ConfigError(`Expected seed to be an integer, but got ${opts.seed}`, 'seed');
}

/** Geometry of a consumer, a linear layer read as a 1x1 conv on a 1x1 map (same memory layouts). */
export interface Geometry {
  n: number;
  h: number;
  w: number;
  c: number;
  kernel: number;
  stride: number;
  padding: number;
  outH: number;
  outW: number;
  outC: number;
}

/**
 * Per-channel contributions Z [samples x C] to sampled consumer outputs (n, y, x, o), drawn
 * uniformly with replacement: z_c = sum over the kernel window of
 * X[n, y*s+i-p, x*s+j-p, c] * W[i, j, c, o] (zero padding). `positions` holds (n, y, x, o) per sample.
 */
export function sampleContributions(
  x: Float32Array,
  weight: Float32Array,
  g: Geometry,
  samples: number,
  rng: Rng,
): { z: Float64Array; positions: Int32Array } {
  const { n: batch, h, w, c: cin, kernel: k, stride, padding, outH, outW, outC } = g;
  const z = new Float64Array(samples * cin);
  const positions = new Int32Array(samples * 4);
  for (let m = 0; m < samples; m++) {
    const n = rng.int(batch);
    const oy = rng.int(outH);
    const ox = rng.int(outW);
    const o = rng.int(outC);
    positions.set([n, oy, ox, o], m * 4);
    const row = m * cin;
    for (let i = 0; i < k; i++) {
      const r = oy * stride + i - padding;
      if (r < 0 || r >= h) continue;
      for (let j = 0; j < k; j++) {
        const q = ox * stride + j - padding;
        if (q < 0 || q >= w) continue;
        const xBase = ((n * h + r) * w + q) * cin;
        const wBase = (i * k + j) * cin * outC + o;
        for (let ch = 0; ch < cin; ch++) z[row + ch]! += x[xBase + ch]! * weight[wBase + ch * outC]!;
      }
    }
  }
  return { z, positions };
}

function gramMatrix(z: Float64Array, samples: number, c: number): Float64Array {
  const g = new Float64Array(c * c);
  for (let m = 0; m < samples; m++) {
    const row = m * c;
    for (let a = 0; a < c; a++) {
      const za = z[row + a]!;
      if (za === 0) continue;
      for (let b = a; b < c; b++) g[a * c + b]! += za * z[row + b]!;
    }
  }
  for (let a = 0; a < c; a++) for (let b = 0; b < a; b++) g[a * c + b] = g[b * c + a]!;
  return g;
}

/** Greedy removal on the Gram matrix: returns the removed channels in order and the squared error. */
export function greedyRemoval(g: Float64Array, c: number, keep: number): { removed: number[]; error: number } {
  const inT = new Uint8Array(c);
  const cross = new Float64Array(c); // sum_{t in T} G[t, c]
  const removed: number[] = [];
  let error = 0;
  while (c - removed.length > keep) {
    let best = -1;
    let bestErr = Infinity;
    for (let ch = 0; ch < c; ch++) {
      if (inT[ch]) continue;
      const e = error + 2 * cross[ch]! + g[ch * c + ch]!;
      if (e < bestErr) {
        bestErr = e;
        best = ch;
      }
    }
    inT[best] = 1;
    removed.push(best);
    error = bestErr;
    for (let ch = 0; ch < c; ch++) cross[ch]! += g[best * c + ch]!;
  }
  return { removed, error: Math.max(0, error) };
}

/** Solves A s = b for a symmetric positive definite A (Cholesky, float64); null if not SPD. */
function choleskySolve(a: Float64Array, b: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * n + j]!;
      for (let k = 0; k < j; k++) sum -= l[i * n + k]! * l[j * n + k]!;
      if (i === j) {
        if (!(sum > 0)) return null;
        l[i * n + i] = Math.sqrt(sum);
      } else {
        l[i * n + j] = sum / l[j * n + j]!;
      }
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = b[i]!;
    for (let k = 0; k < i; k++) sum -= l[i * n + k]! * y[k]!;
    y[i] = sum / l[i * n + i]!;
  }
  const s = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let sum = y[i]!;
    for (let k = i + 1; k < n; k++) sum -= l[k * n + i]! * s[k]!;
    s[i] = sum / l[i * n + i]!;
  }
  return s;
}

/**
 * Least-squares scales of the kept channels: minimise ||y - Z_K s||^2 + lambda ||s - 1||^2 with a
 * tiny lambda. The ridge pulls towards 1 (no change), so the refit error never exceeds the error
 * at s = 1; should rounding say otherwise, s = 1 is returned.
 */
export function refitScales(g: Float64Array, c: number, kept: number[], errorAtOne: number): { scales: Float64Array; error: number } {
  const k = kept.length;
  const a = new Float64Array(k * k);
  const b = new Float64Array(k);
  let trace = 0;
  for (let i = 0; i < k; i++) {
    const ci = kept[i]!;
    for (let j = 0; j < k; j++) a[i * k + j] = g[ci * c + kept[j]!]!;
    for (let ch = 0; ch < c; ch++) b[i]! += g[ci * c + ch]!; // (Z^T y)_i, y = Z 1
    trace += g[ci * c + ci]!;
  }
  const lambda = 1e-8 * (trace / Math.max(1, k)) + 1e-30;
  for (let i = 0; i < k; i++) {
    a[i * k + i]! += lambda;
    b[i]! += lambda;
  }
  const ones = new Float64Array(k).fill(1);
  const s = choleskySolve(a, b, k);
  if (!s) return { scales: ones, error: errorAtOne };
  // ||y - Z s||^2 = y^T y - 2 s^T Z^T y + s^T G_KK s, with the un-ridged G_KK and Z^T y.
  let yy = 0;
  for (let i = 0; i < c * c; i++) yy += g[i]!;
  let err = yy;
  for (let i = 0; i < k; i++) {
    err -= 2 * s[i]! * (b[i]! - lambda);
    let row = 0;
    for (let j = 0; j < k; j++) row += g[kept[i]! * c + kept[j]!]! * s[j]!;
    err += s[i]! * row;
  }
  err = Math.max(0, err);
  return err <= errorAtOne ? { scales: s, error: err } : { scales: ones, error: errorAtOne };
}

/** Multiplies slice `index` along `axis` of a [.., C, out] layout (conv axis 2, linear axis 0) by scale. */
function scaleInputSlices(values: Float32Array, c: number, outC: number, scales: Map<number, number>): Float32Array {
  const out = Float32Array.from(values);
  const spatial = values.length / (c * outC);
  for (let sp = 0; sp < spatial; sp++) {
    for (const [ch, s] of scales) {
      const base = (sp * c + ch) * outC;
      for (let o = 0; o < outC; o++) out[base + o]! *= s;
    }
  }
  return out;
}

interface Job {
  group: ChannelGroup;
  index: number;
  consumer: Extract<GraphNode, { kind: 'conv' | 'linear' }>;
  weight: string;
}

/** Activation floats fetched per forward pass, to bound memory on deep models. */
const ACTIVATION_BUDGET = 16 * 1024 * 1024;

/**
 * ThiNet-style pruning by minimum reconstruction error of the next layer's output; returns the
 * compacted, refit model with its plan and the per-group sampled errors.
 */
export function reconstructionPrune(model: Model, images: tf.Tensor4D, opts: ReconstructionOptions): ReconstructionResult {
  checkOptions(opts);
  const { height, width, channels } = model.graph.input;
  const [, ih, iw, ic] = images.shape;
  if (ih !== height || iw !== width || ic !== channels) {
    throw new ModelError(`Reconstruction pruning got ${ih}x${iw}x${ic} images, but ${model.spec.name} takes ${height}x${width}x${channels}`);
  }
  const samples = opts.samples ?? 2000;
  const refit = opts.refit ?? true;
  const all = prunableGroups(model.graph);
  const known = new Set(all.map((g) => g.id));
  for (const id of opts.groups ?? []) {
    if (!known.has(id)) throw new ConfigError(`Reconstruction pruning: ${id} is not a prunable channel group of ${model.spec.name}`, 'groups');
  }
  const wanted = opts.groups ? new Set(opts.groups) : known;

  const planGroups: Record<string, number[]> = {};
  const skipped: { group: string; reason: string }[] = [];
  const jobs: Job[] = [];
  all.forEach((group, index) => {
    planGroups[group.id] = Array.from({ length: group.channels }, (_, i) => i);
    if (!wanted.has(group.id)) return;
    const target = reconstructionTarget(model.graph, group);
    if ('reason' in target) skipped.push({ group: group.id, reason: target.reason });
    else jobs.push({ group, index, consumer: target.consumer, weight: target.weight });
  });

  const errors: GroupReconstruction[] = [];
  const scaled = new Map<string, Map<number, number>>(); // consumer weight -> channel -> scale
  const batch = images.shape[0];
  const inputOf = (job: Job): string => job.consumer.input;
  // Forward passes over chunks of consumers, so deep models do not hold every activation at once.
  for (let start = 0; start < jobs.length; ) {
    let end = start;
    let floats = 0;
    do {
      const [h, w, c] = model.shapes.get(inputOf(jobs[end]!))!;
      floats += batch * h * w * c;
      end++;
    } while (end < jobs.length && floats < ACTIVATION_BUDGET);
    const chunk = jobs.slice(start, end);
    const acts = model.activations(images, [...new Set(chunk.map(inputOf))]);
    try {
      for (const job of chunk) {
        const { group, consumer } = job;
        const x = acts.get(inputOf(job))!.dataSync() as Float32Array;
        const weight = model.param(job.weight).dataSync() as Float32Array;
        const [h, w, c] = model.shapes.get(consumer.input)!;
        const [outH, outW, outC] = model.shapes.get(consumer.name)!;
        const geometry: Geometry =
          consumer.kind === 'conv'
            ? { n: batch, h, w, c, kernel: consumer.kernel, stride: consumer.stride, padding: consumer.padding, outH, outW, outC }
            : { n: batch, h: 1, w: 1, c, kernel: 1, stride: 1, padding: 0, outH: 1, outW: 1, outC };
        const rng = new Rng(opts.seed).fork(job.index);
        const { z } = sampleContributions(x, weight, geometry, samples, rng);
        const g = gramMatrix(z, samples, c);
        let yy = 0;
        for (let i = 0; i < c * c; i++) yy += g[i]!;
        const keep = Math.max(1, Math.floor(c * (1 - opts.ratio)));
        const { removed, error } = greedyRemoval(g, c, keep);
        const gone = new Set(removed);
        const kept = Array.from({ length: c }, (_, i) => i).filter((i) => !gone.has(i));
        let scales: Float64Array = new Float64Array(kept.length).fill(1);
        let errorRefit = error;
        if (refit && removed.length > 0) {
          ({ scales, error: errorRefit } = refitScales(g, c, kept, error));
          const map = new Map<number, number>();
          kept.forEach((ch, i) => {
            if (scales[i] !== 1) map.set(ch, scales[i]!);
          });
          if (map.size > 0) scaled.set(job.weight, map);
        }
        planGroups[group.id] = kept;
        const rel = (e: number): number => (yy > 0 ? e / yy : 0);
        errors.push({
          group: group.id,
          consumer: consumer.name,
          channels: c,
          kept: kept.length,
          removed,
          relativeErrorNoRefit: rel(error),
          relativeErrorRefit: rel(errorRefit),
          scales: Array.from(scales),
        });
      }
    } finally {
      for (const t of acts.values()) t.dispose();
    }
    start = end;
  }

  const plan: KeepPlan = { model: model.spec.name, groups: planGroups };
  if (scaled.size === 0) return { model: compactModel(model, plan), plan, errors, skipped };
  const weights: NamedWeights = new Map(model.namedWeights());
  const created: tf.Tensor[] = [];
  for (const [name, map] of scaled) {
    const w = model.param(name);
    const outC = w.shape[w.shape.length - 1]!;
    const c = w.shape[w.shape.length - 2]!;
    const t = tf.tensor(scaleInputSlices(w.dataSync() as Float32Array, c, outC, map), w.shape);
    created.push(t);
    weights.set(name, t);
  }
  let rescaled: Model | undefined;
  try {
    rescaled = Model.fromWeights(model.spec, weights);
    return { model: compactModel(rescaled, plan), plan, errors, skipped };
  } finally {
    rescaled?.dispose();
    for (const t of created) t.dispose();
  }
}
