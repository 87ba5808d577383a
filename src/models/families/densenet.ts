import { GraphBuilder, type ModelGraph } from '../graph.ts';
import type { DenseNetSpec } from '../spec.ts';

/**
 * Network Slimming's DenseNet (basic layers, compression 1): stem conv3x3(2k); dense layers
 * select -> BN -> ReLU -> conv3x3(k), concatenated to their input; transitions
 * select -> BN -> ReLU -> conv1x1(same width) -> 2x2 average pool; then select -> BN -> ReLU ->
 * 8x8 average pool -> linear.
 */
export function compileDenseNet(spec: DenseNetSpec): ModelGraph {
  const g = new GraphBuilder(spec.input);
  let last = g.conv('conv1', 'input', spec.input.channels, spec.stemWidth, 3);
  let channels = spec.stemWidth;
  const layer = (p: string, select: number[] | null): { out: string; selected: number } => {
    let out = g.select(`${p}.select`, last, select, channels);
    const selected = select?.length ?? channels;
    out = g.bn(`${p}.bn1`, out, selected);
    out = g.relu(`${p}.relu`, out);
    return { out, selected };
  };
  spec.blocks.forEach((block, d) => {
    block.forEach((l, i) => {
      const p = `dense${d + 1}.${i}`;
      const { out, selected } = layer(p, l.select);
      const conv = g.conv(`${p}.conv1`, out, selected, spec.growthRate, 3);
      last = g.add({ kind: 'concat', name: `${p}.concat`, inputs: [last, conv] });
      channels += spec.growthRate;
    });
    const t = spec.transitions[d];
    if (t) {
      const p = `trans${d + 1}`;
      const { out, selected } = layer(p, t.select);
      const conv = g.conv(`${p}.conv1`, out, selected, channels, 1);
      last = g.add({ kind: 'avgpool', name: `${p}.pool`, input: conv, size: 2, stride: 2 });
    }
  });
  const { out, selected } = layer('final', spec.finalSelect);
  const side = spec.input.height / 4;
  last = g.add({ kind: 'avgpool', name: 'avgpool', input: out, size: side, stride: side });
  last = g.add({ kind: 'flatten', name: 'flatten', input: last });
  g.add({ kind: 'linear', name: 'fc', input: last, inFeatures: selected, outFeatures: spec.numClasses });
  return g.build();
}
