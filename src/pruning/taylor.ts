import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../models/index.ts';
import { forEachCalibrationGradient } from './calibration.ts';
import { readerWeights } from './channel_weights.ts';
import type { CalibrationData } from './criteria.ts';
import { prunableGroups, type ChannelGroup } from './groups.ts';

/** The parameters whose (w x dL/dw) sum gives one group's Taylor term, and how to reduce them per channel. */
type TaylorTerm = { name: string; axes: number[] }[];

/**
 * Which weights carry a group's channels for the Taylor criterion, in order of preference:
 * - its first BN's gamma and beta: gamma_c dL/dgamma_c + beta_c dL/dbeta_c equals
 *   sum over positions of y_c dL/dy_c at that BN's output y (since y = gamma xhat + beta), i.e.
 *   Molchanov et al.'s activation x gradient at the point where the channel is removed;
 * - no BN and a conv producer: the filter and its bias, sum of w dL/dw over W[:, :, :, c] (+ b_c
 *   dL/db_c), which equals the same activation x gradient at the conv's output;
 * - no BN and a channel selection: the readers' input slices, sum of w dL/dw over W[:, :, c, :]
 *   (conv) or W[c, :] (linear), which equals activation x gradient at the readers' input, the
 *   analogue channelNorm uses for selections.
 */
function taylorTerm(model: Model, group: ChannelGroup): TaylorTerm {
  const bn = group.bns[0];
  if (bn) return [{ name: `${bn}.gamma`, axes: [] }, { name: `${bn}.beta`, axes: [] }];
  if (group.producerKind === 'conv') {
    const bias = `${group.id}.bias`;
    return [{ name: `${group.id}.weight`, axes: [0, 1, 2] }, ...(model.params.has(bias) ? [{ name: bias, axes: [] }] : [])];
  }
  return readerWeights(model, group).map(([name, axis]) => ({ name, axes: axis === 2 ? [0, 1, 3] : [1] }));
}

/**
 * First-order Taylor importance (Molchanov et al., CVPR 2019, "Taylor FO" on the BN parameters,
 * the variant the paper found best and which costs one backward pass for every group at once):
 * per calibration batch b, z_c = sum over the group's weights of w dL_b/dw restricted to channel c
 * (see taylorTerm); the score is sum over batches of z_c^2. Squaring per batch, as the paper does,
 * keeps a channel whose removal moves the loss a lot in either direction, batch by batch, from
 * cancelling out; L_b is the mean loss of batch b, so every batch weighs the same.
 */
export function taylorChannelScores(model: Model, calibration: CalibrationData, groups: ChannelGroup[] = prunableGroups(model.graph)): Map<string, Float32Array> {
  const terms = new Map(groups.map((g) => [g.id, taylorTerm(model, g)]));
  const names = [...new Set([...terms.values()].flatMap((t) => t.map((p) => p.name)))];
  const sums = new Map(groups.map((g) => [g.id, tf.keep(tf.zeros([g.channels]))]));
  try {
    forEachCalibrationGradient(model, calibration, names, (grads) => {
      for (const g of groups) {
        const old = sums.get(g.id)!;
        sums.set(
          g.id,
          tf.tidy(() => {
            const z = terms
              .get(g.id)!
              .map(({ name, axes }) => {
                const wg = tf.mul(model.param(name), grads.get(name)!);
                return axes.length > 0 ? tf.sum(wg, axes) : wg;
              })
              .reduce((a, b) => tf.add(a, b));
            return tf.keep(tf.add(old, tf.square(z)));
          }),
        );
        old.dispose();
      }
    });
    return new Map(groups.map((g) => [g.id, sums.get(g.id)!.dataSync() as Float32Array]));
  } finally {
    for (const t of sums.values()) t.dispose();
  }
}
