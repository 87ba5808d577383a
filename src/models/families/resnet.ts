import { ModelError } from '../../util/errors.ts';
import { GraphBuilder, type ModelGraph } from '../graph.ts';
import type { ResNetSpec } from '../spec.ts';

/**
 * CIFAR ResNet as in Li et al.'s reference code: stem conv3x3(16) + BN + ReLU, three stages of
 * basic blocks (conv-BN-ReLU-conv-BN, + shortcut, ReLU), 8x8 average pool, linear. The shortcut
 * of a block that changes width or stride is option A: 2x2 average pool, then zero channels.
 * (The reference code detaches that shortcut from the graph; we keep its gradient.)
 */
export function compileResNet(spec: ResNetSpec): ModelGraph {
  const g = new GraphBuilder(spec.input);
  let last = g.conv('conv1', 'input', spec.input.channels, spec.stemWidth, 3);
  last = g.bn('bn1', last, spec.stemWidth);
  last = g.relu('relu', last);
  let channels = spec.stemWidth;
  spec.stages.forEach((stage, s) => {
    if (stage.blocks.length === 0) throw new ModelError(`ResNet ${spec.name}: stage ${s + 1} has no blocks`);
    stage.blocks.forEach((mid, b) => {
      if (!Number.isInteger(mid) || mid < 1) {
        throw new ModelError(`ResNet ${spec.name}: block layer${s + 1}.${b} has first-conv width ${mid}`);
      }
      const stride = s > 0 && b === 0 ? 2 : 1;
      const p = `layer${s + 1}.${b}`;
      const blockIn = last;
      let out = g.conv(`${p}.conv1`, blockIn, channels, mid, 3, stride);
      out = g.bn(`${p}.bn1`, out, mid);
      out = g.relu(`${p}.relu1`, out);
      out = g.conv(`${p}.conv2`, out, mid, stage.width, 3);
      out = g.bn(`${p}.bn2`, out, stage.width);
      let shortcut = blockIn;
      if (stride !== 1 || channels !== stage.width) {
        shortcut = g.add({ kind: 'shortcutA', name: `${p}.shortcut`, input: blockIn, outChannels: stage.width, stride });
      }
      out = g.add({ kind: 'add', name: `${p}.add`, inputs: [out, shortcut] });
      last = g.relu(`${p}.relu2`, out);
      channels = stage.width;
    });
  });
  const side = spec.input.height / 4;
  last = g.add({ kind: 'avgpool', name: 'avgpool', input: last, size: side, stride: side });
  last = g.add({ kind: 'flatten', name: 'flatten', input: last });
  g.add({ kind: 'linear', name: 'fc', input: last, inFeatures: channels, outFeatures: spec.numClasses });
  return g.build();
}

/** Depth 6n+2 from the block counts (a block-pruned ResNet has fewer). */
export function resnetDepth(spec: ResNetSpec): number {
  return 2 + 2 * spec.stages.reduce((n, s) => n + s.blocks.length, 0);
}
