import type { Model } from '../models/index.ts';
import { PlanError } from '../util/errors.ts';
import type { ChannelGroup } from './groups.ts';

/**
 * The weights that read a group's channels, with the axis that indexes them: conv weights
 * [kh, kw, C, out] on axis 2, linear weights [C, out] on axis 0. Criteria that rank a channel
 * selection (which no conv produces) look at these input slices instead of a filter.
 */
export function readerWeights(model: Model, group: ChannelGroup): [name: string, axis: 0 | 2][] {
  const readers = group.weightAxes.filter(
    ([name, axis]) => name.endsWith('.weight') && ((axis === 2 && model.param(name).rank === 4) || (axis === 0 && model.param(name).rank === 2)),
  ) as [string, 0 | 2][];
  if (readers.length === 0) {
    throw new PlanError(`Channel group ${group.id} has no conv or linear layer reading it, so its weights cannot rank its channels`, group.id);
  }
  return readers;
}
