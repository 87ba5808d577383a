import { validatePruneRatio } from './methods.ts';
import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../models/index.ts';
import { ConfigError } from '../util/errors.ts';

/**
 * Fine granularities as masks (the weights keep their shapes; the effective counts drop):
 * - vector: a 1 x 1 x Cin fibre of a conv kernel, W[i, j, :, o] (the design notes' 1x1x3 vector
 *   of a 3x3x3 kernel), scored by its L1 norm;
 * - weight: single conv weights by |w| (unstructured, Rethinking's unstructured experiments).
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
  const sorted = Float64Array.from(scores).sort();
  const threshold = sorted[count - 1]!;
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

/**
 * Vector (fibre) masks: for a conv weight [kh, kw, cin, cout], fibre (i, j, o) is W[i, j, :, o],
 * scored by its L1 norm; the lowest `ratio` of the fibres in scope are masked. Note that with the
 * global scope fibres of layers with more input channels have larger norms, as in the papers'
 * global magnitude thresholds.
 */
export function vectorMasks(model: Model, opts: VectorMaskOptions): WeightMasks {
  validatePruneRatio(opts.ratio);
  const scope = opts.scope ?? 'global';
  checkScope(scope);
  const layers = convWeights(model, opts.skipFirstConv ?? false);
  const scores = layers.map(({ name, shape: [kh, kw, cin, cout], values }) => {
    const s = new Float64Array(kh * kw * cout);
    for (let ij = 0; ij < kh * kw; ij++) {
      for (let c = 0; c < cin; c++) {
        const base = (ij * cin + c) * cout;
        for (let o = 0; o < cout; o++) s[ij * cout + o] += Math.abs(values[base + o]!);
      }
    }
    // A masked fibre is zero over all its Cin entries: its first one tells.
    const prev = previousValues(opts.previous, name);
    if (prev) for (let ij = 0; ij < kh * kw; ij++) for (let o = 0; o < cout; o++) if (prev[ij * cin * cout + o] === 0) s[ij * cout + o] = -1;
    return s;
  });
  const { pruned, fraction } = choose(scores, opts.ratio, scope);
  const keep = layers.map(({ shape: [kh, kw, cin, cout] }, l) => {
    const mask = new Float32Array(kh * kw * cin * cout);
    for (let ij = 0; ij < kh * kw; ij++) {
      for (let o = 0; o < cout; o++) {
        if (pruned[l]![ij * cout + o]) continue;
        for (let c = 0; c < cin; c++) mask[(ij * cin + c) * cout + o] = 1;
      }
    }
    return mask;
  });
  return buildMasks(layers, keep, fraction);
}

/** Unstructured masks: the lowest `ratio` of conv weights by |w|, over all convs (global) or per layer. */
export function weightMagnitudeMasks(model: Model, opts: WeightMaskOptions): WeightMasks {
  validatePruneRatio(opts.ratio);
  const scope = opts.scope ?? 'global';
  checkScope(scope);
  const layers = convWeights(model, false);
  const scores = layers.map(({ name, values }) => {
    const s = Float64Array.from(values, Math.abs);
    const prev = previousValues(opts.previous, name);
    if (prev) for (let i = 0; i < s.length; i++) if (prev[i] === 0) s[i] = -1;
    return s;
  });
  const { pruned, fraction } = choose(scores, opts.ratio, scope);
  const keep = pruned.map((p) => Float32Array.from(p, (v) => 1 - v));
  return buildMasks(layers, keep, fraction);
}

export function disposeMasks(m: WeightMasks): void {
  for (const t of m.masks.values()) t.dispose();
  m.masks.clear();
}
