import { ModelError } from '../../util/errors.ts';
import { GraphBuilder, type ModelGraph } from '../graph.ts';
import type { PreResNetSpec } from '../spec.ts';

const EXPANSION = 4;

/**
 * Network Slimming's PreResNet (bottleneck, pre-activation): stem conv3x3(16); per block
 * select -> BN -> ReLU -> conv1x1 -> BN -> ReLU -> conv3x3(stride) -> BN -> ReLU -> conv1x1(4x),
 * plus the raw input (or a 1x1 strided conv of it where the shape changes); after the stages
 * select -> BN -> ReLU -> 8x8 average pool -> linear.
 */
export function compilePreResNet(spec: PreResNetSpec): ModelGraph {
  const g = new GraphBuilder(spec.input);
  let last = g.conv('conv1', 'input', spec.input.channels, spec.stemWidth, 3);
  let channels = spec.stemWidth;
  spec.stages.forEach((stage, s) => {
    if (stage.blocks.length === 0) throw new ModelError(`PreResNet ${spec.name}: stage ${s + 1} has no blocks`);
    const outC = stage.planes * EXPANSION;
    stage.blocks.forEach((block, b) => {
      const stride = s > 0 && b === 0 ? 2 : 1;
      const p = `layer${s + 1}.${b}`;
      const blockIn = last;
      let out = g.select(`${p}.select`, blockIn, block.select, channels);
      const selected = block.select?.length ?? channels;
      out = g.bn(`${p}.bn1`, out, selected);
      out = g.relu(`${p}.relu1`, out);
      out = g.conv(`${p}.conv1`, out, selected, block.conv1, 1);
      out = g.bn(`${p}.bn2`, out, block.conv1);
      out = g.relu(`${p}.relu2`, out);
      out = g.conv(`${p}.conv2`, out, block.conv1, block.conv2, 3, stride);
      out = g.bn(`${p}.bn3`, out, block.conv2);
      out = g.relu(`${p}.relu3`, out);
      out = g.conv(`${p}.conv3`, out, block.conv2, outC, 1);
      let shortcut = blockIn;
      if (stride !== 1 || channels !== outC) {
        shortcut = g.conv(`${p}.downsample`, blockIn, channels, outC, 1, stride);
      }
      last = g.add({ kind: 'add', name: `${p}.add`, inputs: [out, shortcut] });
      channels = outC;
    });
  });
  last = g.select('select', last, spec.finalSelect, channels);
  const selected = spec.finalSelect?.length ?? channels;
  last = g.bn('bn', last, selected);
  last = g.relu('relu', last);
  const side = spec.input.height / 4;
  last = g.add({ kind: 'avgpool', name: 'avgpool', input: last, size: side, stride: side });
  last = g.add({ kind: 'flatten', name: 'flatten', input: last });
  g.add({ kind: 'linear', name: 'fc', input: last, inFeatures: selected, outFeatures: spec.numClasses });
  return g.build();
}
