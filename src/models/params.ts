import type { GraphNode, ModelGraph } from './graph.ts';

/** Which channel space an axis of a parameter belongs to: the node's input or its output. */
export type AxisRole = 'in' | 'out' | 'none';

export interface ParamInfo {
  /** `${node}.${field}`, e.g. `features.0.conv.weight`, `layer1.0.bn1.gamma`. */
  name: string;
  node: string;
  field: 'weight' | 'bias' | 'gamma' | 'beta' | 'mean' | 'variance';
  shape: number[];
  /** Learned by gradient descent (BN running statistics are buffers). */
  trainable: boolean;
  /** BN parameters are counted separately: the papers quote counts with and without them. */
  isBn: boolean;
  /** Role of each axis, for surgery. */
  axes: AxisRole[];
  /** Inputs feeding one output unit (k*k*Cin for a conv, in-features for a linear), for init. */
  fanIn: number;
}

export function nodeParams(node: GraphNode): ParamInfo[] {
  const fanIn = node.kind === 'conv' ? node.kernel * node.kernel * node.inChannels : node.kind === 'linear' ? node.inFeatures : 1;
  const p = (field: ParamInfo['field'], shape: number[], axes: AxisRole[], trainable = true, isBn = false): ParamInfo => ({
    name: `${node.name}.${field}`,
    node: node.name,
    field,
    shape,
    trainable,
    isBn,
    axes,
    fanIn,
  });
  switch (node.kind) {
    case 'conv': {
      const list = [p('weight', [node.kernel, node.kernel, node.inChannels, node.outChannels], ['none', 'none', 'in', 'out'])];
      if (node.bias) list.push(p('bias', [node.outChannels], ['out']));
      return list;
    }
    case 'bn':
      // BN acts on its input's channel space; its output is the same space.
      return [
        p('gamma', [node.channels], ['in'], true, true),
        p('beta', [node.channels], ['in'], true, true),
        p('mean', [node.channels], ['in'], false, true),
        p('variance', [node.channels], ['in'], false, true),
      ];
    case 'linear':
      return [p('weight', [node.inFeatures, node.outFeatures], ['in', 'out']), p('bias', [node.outFeatures], ['out'])];
    default:
      return [];
  }
}

export function graphParams(graph: ModelGraph): ParamInfo[] {
  return graph.nodes.flatMap(nodeParams);
}
