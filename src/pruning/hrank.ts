import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../models/index.ts';
import { calibrationBatchCount } from './calibration.ts';
import type { CalibrationData } from './criteria.ts';
import { prunableGroups, type ChannelGroup } from './groups.ts';

const FLOAT32_EPS = 2 ** -23;

/**
 * Rank of the rows x cols matrix whose (i, j) entry is values[offset + i * rowStride + j * colStride],
 * by Gaussian elimination with complete pivoting in float64. A pivot counts when it exceeds
 * maxAbs x max(rows, cols) x float32 eps: numpy's / torch's matrix_rank tolerance for float32
 * data, with the largest entry in place of the largest singular value (which lies between it and
 * sqrt(rows x cols) times it).
 */
export function matrixRank(values: ArrayLike<number>, rows: number, cols: number, offset = 0, rowStride = cols, colStride = 1): number {
  const a = new Float64Array(rows * cols);
  let maxAbs = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const v = values[offset + i * rowStride + j * colStride]!;
      a[i * cols + j] = v;
      maxAbs = Math.max(maxAbs, Math.abs(v));
    }
  }
  if (maxAbs === 0) return 0;
  const tol = maxAbs * Math.max(rows, cols) * FLOAT32_EPS;
  const rowOf = Array.from({ length: rows }, (_, i) => i);
  const colOf = Array.from({ length: cols }, (_, j) => j);
  let rank = 0;
  for (; rank < Math.min(rows, cols); rank++) {
    let best = 0;
    let pi = rank;
    let pj = rank;
    for (let i = rank; i < rows; i++) {
      for (let j = rank; j < cols; j++) {
        const v = Math.abs(a[rowOf[i]! * cols + colOf[j]!]!);
        if (v > best) [best, pi, pj] = [v, i, j];
      }
    }
    if (best <= tol) break;
    [rowOf[rank], rowOf[pi]] = [rowOf[pi]!, rowOf[rank]!];
    [colOf[rank], colOf[pj]] = [colOf[pj]!, colOf[rank]!];
    const pr = rowOf[rank]! * cols;
    const pivot = a[pr + colOf[rank]!]!;
    for (let i = rank + 1; i < rows; i++) {
      const r = rowOf[i]! * cols;
      const f = a[r + colOf[rank]!]! / pivot;
      if (f === 0) continue;
      for (let j = rank; j < cols; j++) a[r + colOf[j]!] -= f * a[pr + colOf[j]!]!;
    }
  }
  return rank;
}

/**
 * The node whose output HRank reads for a group: the ReLU after the group's first BN, as the
 * reference code hooks the ReLU outputs (else that BN, else the producer itself).
 */
export function hrankNode(model: Model, group: ChannelGroup): string {
  const bn = group.bns[0];
  if (!bn) return group.id;
  const relu = model.graph.nodes.find((n) => n.kind === 'relu' && n.input === bn);
  return relu ? relu.name : bn;
}

/**
 * HRank (Lin et al., CVPR 2020): a channel's score is the average rank of its H x W feature map
 * (see hrankNode) over the calibration images, in inference mode as the reference code runs it.
 * High-rank maps carry more information and are kept. One forward pass per batch for all groups.
 */
export function hrankChannelScores(model: Model, calibration: CalibrationData, groups: ChannelGroup[] = prunableGroups(model.graph)): Map<string, Float32Array> {
  const batches = calibrationBatchCount(model, calibration);
  const nodes = groups.map((g) => hrankNode(model, g));
  const sums = groups.map((g) => new Float64Array(g.channels));
  const n = calibration.images.shape[0];
  for (let b = 0; b < batches; b++) {
    const start = b * calibration.batchSize;
    const size = Math.min(calibration.batchSize, n - start);
    const x = tf.slice(calibration.images, [start, 0, 0, 0], [size, -1, -1, -1]);
    const acts = model.activations(x, [...new Set(nodes)]);
    try {
      groups.forEach((_g, k) => {
        const t = acts.get(nodes[k]!)!;
        const [imgs, h, w, c] = t.shape as [number, number, number, number];
        const v = t.dataSync();
        for (let img = 0; img < imgs; img++) {
          for (let ch = 0; ch < c; ch++) sums[k]![ch] += matrixRank(v, h, w, img * h * w * c + ch, w * c, c);
        }
      });
    } finally {
      x.dispose();
      for (const t of acts.values()) t.dispose();
    }
  }
  return new Map(groups.map((g, k) => [g.id, Float32Array.from(sums[k]!, (s) => s / n)]));
}
