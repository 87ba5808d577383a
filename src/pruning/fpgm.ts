import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../models/index.ts';
import { readerWeights } from './channel_weights.ts';
import type { Importance } from './criteria.ts';
import type { ChannelGroup } from './groups.ts';

/**
 * One row per channel of the group: its conv filter W[:, :, :, c] flattened, or, for a channel
 * selection (no conv produces it), the concatenation of every reader's input slice (conv
 * W[:, :, c, :], linear W[c, :]): the weights that would go with the channel.
 */
export function channelVectors(model: Model, group: ChannelGroup): tf.Tensor2D {
  return tf.tidy(() => {
    if (group.producerKind === 'conv') {
      const w = model.param(`${group.id}.weight`);
      return tf.reshape(tf.transpose(w, [3, 0, 1, 2]), [group.channels, -1]) as tf.Tensor2D;
    }
    const parts = readerWeights(model, group).map(([name, axis]) => {
      const w = model.param(name);
      return axis === 2 ? tf.reshape(tf.transpose(w, [2, 0, 1, 3]), [group.channels, -1]) : (w as tf.Tensor2D);
    });
    return (parts.length === 1 ? parts[0]! : tf.concat(parts, 1)) as tf.Tensor2D;
  });
}

/**
 * FPGM (He et al., CVPR 2019): a channel's score is the summed Euclidean distance of its vector to
 * every other channel's vector in the group (see channelVectors). The geometric median of a layer's
 * filters minimises that sum, so the filters nearest it score lowest and are pruned as the ones the
 * others can stand in for. Distances come from a Gram matrix of the mean-centred vectors
 * (translation does not change distances, and centring keeps the float32 cancellation in
 * |a|^2 + |b|^2 - 2ab small); the diagonal is zeroed rather than trusted to cancel.
 */
export const fpgmImportance: Importance = (model, group) =>
  tf.tidy(() => {
    const x = channelVectors(model, group);
    const centred = tf.sub(x, tf.mean(x, 0, true));
    const sq = tf.sum(tf.square(centred), 1);
    const gram = tf.matMul(centred, centred, false, true);
    const d2 = tf.sub(tf.add(tf.reshape(sq, [-1, 1]), tf.reshape(sq, [1, -1])), tf.mul(gram, 2));
    const offDiagonal = tf.sub(1, tf.eye(group.channels));
    const dist = tf.mul(tf.sqrt(tf.relu(d2)), offDiagonal);
    return tf.sum(dist, 1).dataSync() as Float32Array;
  });
