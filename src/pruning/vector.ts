import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../models/index.ts';
import { ConfigError } from '../util/errors.ts';
import { kthSmallestInPlace } from '../util/select.ts';
import { forEachCalibrationGradient, requireCalibration } from './calibration.ts';
import type { CalibrationData, ScoreOptions } from './criteria.ts';
import { lampScores } from './lamp.ts';
import { validatePruneRatio } from './methods.ts';
import { VECTOR_CRITERIA, WEIGHT_CRITERIA, type VectorCriterion, type WeightCriterion } from './names.ts';

/**
 * Fine granularities as masks (the weights keep their shapes; the effective counts drop):
 * - vector: a 1 x 1 x Cin fibre of a conv kernel, W[i, j, :, o] (the design notes' 1x1x3 vector
 *   of a 3x3x3 kernel), scored by a VECTOR_CRITERIA entry: its L1 norm, or its mean |w|;
 * - weight: single conv weights by a weight criterion (WEIGHT_CRITERIA; |w| is Rethinking's
 *   unstructured experiments).
 * Only conv weights are masked; linear layers are left whole.
 */
export interface WeightMasks {
  /** 0/1 masks (float32), one per masked weight, same shape as the weight. The caller disposes them. */
  masks: Map<string, tf.Tensor>;
  /** Kept (mask = 1) entries per weight name: feed to countSpec(spec, { nonZero }). */
  nonZero: Map<string, number>;
  /** Fraction of the pruning units in scope that were removed: fibres for vectorMasks, weights for weightMagnitudeMasks. */
  prunedFraction: number;
}

export type MaskScope = 'global' | 'layer';

export interface VectorMaskOptions {
  /** Fraction of fibres removed, in [0, 1). */
  ratio: number;
  /** How a fibre is scored (default 'l1'); see VECTOR_CRITERIA. */
  criterion?: VectorCriterion;
  /** 'global' (default): one threshold over all layers' fibres; 'layer': the same ratio in every layer. */
  scope?: MaskScope;
  /** Leave the conv that reads the input image whole. */
  skipFirstConv?: boolean;
  /** Masks in force (gradual pruning): fibres masked there rank below every other, so they stay masked. */
  previous?: Map<string, tf.Tensor>;
}

export interface WeightMaskOptions {
  /** Fraction of conv weights removed, in [0, 1). */
  ratio: number;
  /** 'global' (default): one threshold over all conv weights; 'layer': the same ratio in every layer. */
  scope?: MaskScope;
  /** Masks in force (gradual pruning): weights masked there rank below every other, so they stay masked. */
  previous?: Map<string, tf.Tensor>;
}

function checkScope(scope: string): void {
  if (scope !== 'global' && scope !== 'layer') {
    throw new ConfigError(`Expected the mask scope to be 'global' or 'layer', but got ${JSON.stringify(scope)}`, 'scope');
  }
}

/** The conv weights in graph order, with their values (copied out). */
function convWeights(model: Model, skipFirst: boolean): { name: string; shape: [number, number, number, number]; values: Float32Array }[] {
  const out: { name: string; shape: [number, number, number, number]; values: Float32Array }[] = [];
  for (const node of model.graph.nodes) {
    if (node.kind !== 'conv') continue;
    if (skipFirst && node.input === 'input') continue;
    const w = model.param(`${node.name}.weight`);
    out.push({ name: `${node.name}.weight`, shape: w.shape as [number, number, number, number], values: w.dataSync() as Float32Array });
  }
  return out;
}

/**
 * Marks the `count` lowest scores (a global threshold; entries equal to the threshold go in
 * position order, so exactly `count` are marked whatever the ties). Returns 1 = pruned.
 */
function lowest(scores: Float64Array | Float32Array, count: number): Uint8Array {
  const pruned = new Uint8Array(scores.length);
  if (count <= 0) return pruned;
  const threshold = kthSmallestInPlace(Float64Array.from(scores), Math.min(count, scores.length) - 1);
  let below = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i]! < threshold) below++;
  let atThreshold = count - below;
  for (let i = 0; i < scores.length; i++) {
    if (scores[i]! < threshold) pruned[i] = 1;
    else if (scores[i] === threshold && atThreshold > 0) {
      pruned[i] = 1;
      atThreshold--;
    }
  }
  return pruned;
}

/**
 * Unit scores per layer -> which units go, by a global or per-layer count. `units[l]` has one
 * score per unit of layer l.
 */
function choose(units: Float64Array[], ratio: number, scope: MaskScope): { pruned: Uint8Array[]; fraction: number } {
  const total = units.reduce((n, u) => n + u.length, 0);
  if (total === 0) return { pruned: units.map(() => new Uint8Array(0)), fraction: 0 };
  let pruned: Uint8Array[];
  if (scope === 'layer') {
    pruned = units.map((u) => lowest(u, Math.floor(ratio * u.length)));
  } else {
    const all = new Float64Array(total);
    let off = 0;
    for (const u of units) {
      all.set(u, off);
      off += u.length;
    }
    const flat = lowest(all, Math.floor(ratio * total));
    off = 0;
    pruned = units.map((u) => {
      const p = flat.subarray(off, off + u.length);
      off += u.length;
      return p;
    });
  }
  const removed = pruned.reduce((n, p) => n + p.reduce((a, b) => a + b, 0), 0);
  return { pruned, fraction: removed / total };
}

/** The previous mask's values of a weight, if any (scores are >= 0, so -1 ranks a masked unit below all). */
function previousValues(previous: Map<string, tf.Tensor> | undefined, name: string): Float32Array | null {
  const m = previous?.get(name);
  return m ? (m.dataSync() as Float32Array) : null;
}

function buildMasks(
  layers: { name: string; shape: number[] }[],
  keepValues: Float32Array[],
  fraction: number,
): WeightMasks {
  const masks = new Map<string, tf.Tensor>();
  const nonZero = new Map<string, number>();
  layers.forEach((l, i) => {
    const values = keepValues[i]!;
    masks.set(l.name, tf.tensor(values, l.shape, 'float32'));
    nonZero.set(l.name, values.reduce((a, b) => a + b, 0));
  });
  return { masks, nonZero, prunedFraction: fraction };
}

/** Each conv weight's fibre scores (see vectorMasks), computed once for any number of ratios. */
export interface VectorScores {
  layers: { name: string; shape: number[] }[];
  /** Per layer, kh x kw x cout L1 norms (-1 for a fibre a previous mask removed). */
  scores: Float64Array[];
}

export function validateVectorCriterion(criterion: string, key = '--criterion'): VectorCriterion {
  if (!(VECTOR_CRITERIA as readonly string[]).includes(criterion)) {
    throw new ConfigError(`Expected ${key} for vector masks to be one of ${VECTOR_CRITERIA.join(', ')}, but got ${JSON.stringify(criterion)}`, key);
  }
  return criterion as VectorCriterion;
}

/**
 * Scores the fibres of every conv weight by the vector criterion: their L1 norm (default), or
 * their mean |w| (`magnitude`, the L1 norm / Cin), which puts fibres of layers with different
 * input widths on the weights' scale.
 */
export function vectorScores(model: Model, opts: Pick<VectorMaskOptions, 'skipFirstConv' | 'previous' | 'criterion'> = {}): VectorScores {
  const criterion = validateVectorCriterion(opts.criterion ?? 'l1');
  const layers = convWeights(model, opts.skipFirstConv ?? false);
  const scores = layers.map(({ name, shape: [kh, kw, cin, cout], values }) => {
    const s = new Float64Array(kh * kw * cout);
    for (let ij = 0; ij < kh * kw; ij++) {
      for (let c = 0; c < cin; c++) {
        const base = (ij * cin + c) * cout;
        for (let o = 0; o < cout; o++) s[ij * cout + o] += Math.abs(values[base + o]!);
      }
    }
    if (criterion === 'magnitude') for (let k = 0; k < s.length; k++) s[k]! /= cin;
    // A masked fibre is zero over all its Cin entries: its first one tells.
    const prev = previousValues(opts.previous, name);
    if (prev) for (let ij = 0; ij < kh * kw; ij++) for (let o = 0; o < cout; o++) if (prev[ij * cin * cout + o] === 0) s[ij * cout + o] = -1;
    return s;
  });
  return { layers: layers.map(({ name, shape }) => ({ name, shape })), scores };
}

/** Masks the lowest `ratio` of the scored fibres in scope. */
export function vectorMasksFromScores(scored: VectorScores, opts: Pick<VectorMaskOptions, 'ratio' | 'scope'>): WeightMasks {
  validatePruneRatio(opts.ratio);
  const scope = opts.scope ?? 'global';
  checkScope(scope);
  const { pruned, fraction } = choose(scored.scores, opts.ratio, scope);
  const keep = scored.layers.map(({ shape: [kh, kw, cin, cout] }, l) => {
    const mask = new Float32Array(kh! * kw! * cin! * cout!);
    for (let ij = 0; ij < kh! * kw!; ij++) {
      for (let o = 0; o < cout!; o++) {
        if (pruned[l]![ij * cout! + o]) continue;
        for (let c = 0; c < cin!; c++) mask[(ij * cin! + c) * cout! + o] = 1;
      }
    }
    return mask;
  });
  return buildMasks(scored.layers, keep, fraction);
}

/**
 * Vector (fibre) masks: for a conv weight [kh, kw, cin, cout], fibre (i, j, o) is W[i, j, :, o],
 * scored by the vector criterion; the lowest `ratio` of the fibres in scope are masked. Note that
 * with the global scope and `l1`, fibres of layers with more input channels have larger norms, so
 * the narrow layers go first (on ResNet-56 x0.5 at 50% of the fibres, 95% of the first stage's);
 * `magnitude` ranks by mean |w| instead.
 */
export function vectorMasks(model: Model, opts: VectorMaskOptions): WeightMasks {
  return vectorMasksFromScores(vectorScores(model, opts), opts);
}

/**
 * Criteria for single weights (unstructured masks), each a score per conv weight, higher = kept:
 * - magnitude: |w|;
 * - lamp: LAMP scores (Lee et al., ICLR 2021; see lampScores), made for one global threshold;
 * - grad-magnitude: |w x dL/dw| (ShrinkBench's GlobalMagGrad / LayerMagGrad), with the gradient
 *   of the loss summed over the calibration data; needs data.
 */
export { VECTOR_CRITERIA, WEIGHT_CRITERIA, type VectorCriterion, type WeightCriterion };

export function validateWeightCriterion(criterion: string, key = '--criterion'): WeightCriterion {
  if (!(WEIGHT_CRITERIA as readonly string[]).includes(criterion)) {
    throw new ConfigError(`Expected ${key} for weight masks to be one of ${WEIGHT_CRITERIA.join(', ')}, but got ${JSON.stringify(criterion)}`, key);
  }
  return criterion as WeightCriterion;
}

/** Whether a weight criterion reads calibration data (refused without it). */
export function weightCriterionNeedsData(criterion: WeightCriterion): boolean {
  return criterion === 'grad-magnitude';
}

/**
 * |w x G| per conv weight, G = sum over calibration batches b of n_b dL_b/dw (L_b the mean loss
 * of batch b, n_b its size): the gradient of the summed loss over all calibration images, each
 * batch normalised by its own statistics. ShrinkBench takes |w x g| on one batch; summing the
 * gradient before the product extends that to N batches as a larger batch would (the first-order
 * estimate of the loss change on the whole calibration set when w is removed), where summing
 * |w x g_b| per batch would instead reward weights whose gradient is merely noisy.
 */
function gradMagnitudeScores(model: Model, names: string[], calibration: CalibrationData): Map<string, Float64Array> {
  const sums = new Map(names.map((n) => [n, tf.keep(tf.zerosLike(model.param(n)))]));
  try {
    forEachCalibrationGradient(model, calibration, names, (grads, size) => {
      for (const n of names) {
        const old = sums.get(n)!;
        sums.set(n, tf.tidy(() => tf.keep(tf.add(old, tf.mul(grads.get(n)!, size)))));
        old.dispose();
      }
    });
    return new Map(names.map((n) => [n, Float64Array.from(tf.tidy(() => tf.abs(tf.mul(model.param(n), sums.get(n)!)).dataSync() as Float32Array))]));
  } finally {
    for (const t of sums.values()) t.dispose();
  }
}

/**
 * Scores of every conv weight by a weight criterion (higher = more important), keyed by weight
 * name, in the weight's own layout ([kh, kw, cin, cout] flattened). The one entry point for
 * weight masks, so a criterion that needs data makes one pass for all layers.
 */
export function weightScores(model: Model, criterion: WeightCriterion, opts: ScoreOptions = {}): Map<string, Float64Array> {
  validateWeightCriterion(criterion);
  const layers = convWeights(model, false);
  switch (criterion) {
    case 'magnitude':
      return new Map(layers.map((l) => [l.name, Float64Array.from(l.values, Math.abs)]));
    case 'lamp':
      return new Map(layers.map((l) => [l.name, lampScores(l.values)]));
    case 'grad-magnitude':
      return gradMagnitudeScores(
        model,
        layers.map((l) => l.name),
        requireCalibration(criterion, opts.calibration),
      );
  }
}

export interface WeightCriterionMaskOptions extends WeightMaskOptions {
  criterion: WeightCriterion;
  /** Required by grad-magnitude. */
  calibration?: CalibrationData;
}

/**
 * Unstructured masks: the lowest `ratio` of conv weights by the criterion's scores, over all
 * convs (global: one threshold, LAMP's intended use) or per layer (for magnitude and LAMP these
 * agree, LAMP being monotone in |w| within a layer).
 */
export function weightMasks(model: Model, opts: WeightCriterionMaskOptions): WeightMasks {
  validatePruneRatio(opts.ratio);
  const criterion = validateWeightCriterion(opts.criterion);
  return masksFromWeightScores(model, weightScores(model, criterion, opts.calibration ? { calibration: opts.calibration } : {}), opts);
}

/**
 * Unstructured masks from scores already computed by weightScores (a budget search tries many
 * ratios; a criterion that reads data should pass over it once, not once per ratio).
 */
export function masksFromWeightScores(model: Model, byName: Map<string, Float64Array>, opts: WeightMaskOptions): WeightMasks {
  validatePruneRatio(opts.ratio);
  const scope = opts.scope ?? 'global';
  checkScope(scope);
  const layers = convWeights(model, false);
  const scores = layers.map(({ name }) => {
    const s = Float64Array.from(byName.get(name)!);
    // Units masked by an earlier step (gradual pruning) score below any criterion's value, so they stay masked.
    const prev = previousValues(opts.previous, name);
    if (prev) for (let i = 0; i < s.length; i++) if (prev[i] === 0) s[i] = -1;
    return s;
  });
  const { pruned, fraction } = choose(scores, opts.ratio, scope);
  const keep = pruned.map((p) => Float32Array.from(p, (v) => 1 - v));
  return buildMasks(layers, keep, fraction);
}

/** Unstructured masks by |w|: weightMasks with the magnitude criterion. */
export function weightMagnitudeMasks(model: Model, opts: WeightMaskOptions): WeightMasks {
  return weightMasks(model, { ...opts, criterion: 'magnitude' });
}

export function disposeMasks(m: WeightMasks): void {
  for (const t of m.masks.values()) t.dispose();
  m.masks.clear();
}
