import { ModelError } from '../../util/errors.ts';
import { GraphBuilder, type ModelGraph } from '../graph.ts';
import type { VggSpec } from '../spec.ts';

export function compileVgg(spec: VggSpec): ModelGraph {
  const g = new GraphBuilder(spec.input);
  let channels = spec.input.channels;
  let convIndex = 0;
  let poolIndex = 0;
  let last = 'input';
  for (const item of spec.cfg) {
    if (item === 'M') {
      last = g.add({ kind: 'maxpool', name: `features.pool${poolIndex++}`, input: last, size: 2, stride: 2 });
      continue;
    }
    if (!Number.isInteger(item) || item < 1) {
      throw new ModelError(`VGG cfg entry ${convIndex} of ${spec.name} is ${item}; expected a positive integer or 'M'`);
    }
    const p = `features.${convIndex++}`;
    last = g.conv(`${p}.conv`, last, channels, item, 3);
    last = g.bn(`${p}.bn`, last, item);
    last = g.relu(`${p}.relu`, last);
    channels = item;
  }
  if (convIndex === 0) throw new ModelError(`VGG ${spec.name} has no conv layer in its cfg`);
  // Spatial size after the features decides the pool before the classifier.
  const pools = spec.cfg.filter((c) => c === 'M').length;
  const side = spec.input.height / 2 ** pools;
  if (spec.head === 'gap') {
    last = g.add({ kind: 'avgpool', name: 'pool', input: last, size: side, stride: side });
  } else {
    last = g.add({ kind: 'avgpool', name: 'pool', input: last, size: 2, stride: 2 });
  }
  last = g.add({ kind: 'flatten', name: 'flatten', input: last });
  if (spec.head === 'li2017') {
    const hidden = spec.hiddenFeatures ?? 512;
    last = g.add({ kind: 'linear', name: 'classifier.0', input: last, inFeatures: channels, outFeatures: hidden });
    last = g.bn('classifier.1', last, hidden);
    last = g.relu('classifier.2', last);
    last = g.add({ kind: 'linear', name: 'classifier.3', input: last, inFeatures: hidden, outFeatures: spec.numClasses });
  } else {
    last = g.add({ kind: 'linear', name: 'classifier', input: last, inFeatures: channels, outFeatures: spec.numClasses });
  }
  return g.build();
}

/** The conv widths of a VGG cfg, in order (the 'M's dropped). */
export function vggConvWidths(spec: VggSpec): number[] {
  return spec.cfg.filter((c): c is number => c !== 'M');
}
