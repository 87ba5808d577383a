import { graphParams, inferShapes, nodeInputs, type ModelGraph } from '../models/index.ts';

/**
 * Channel groups derived from the graph (no hard-coded layer indices). Every conv and every
 * channel selection starts a channel space; BN, ReLU, pooling and flatten carry their input's
 * space; residual additions tie the spaces they add (coupled); concatenations, option-A
 * shortcuts, linear outputs and the input image fix the spaces they touch.
 * A group is prunable when its space is neither coupled nor fixed: block-internal channels, as
 * Li et al. (first conv of a block) and Network Slimming (channel selections) prune them.
 */
export interface ChannelGroup {
  /** The node that creates the space: a conv or a select. */
  id: string;
  producerKind: 'conv' | 'select' | 'other';
  channels: number;
  prunable: boolean;
  /** Why a group is not prunable. */
  reason?: string;
  /** BN layers that normalise this space (masking point; slimming's gamma). */
  bns: string[];
  /** Every weight with an axis in this space: [weight name, axis]. */
  weightAxes: [string, number][];
  /** Nodes that read this space. */
  consumers: string[];
}

export function channelGroups(graph: ModelGraph): ChannelGroup[] {
  const shapes = inferShapes(graph);
  // Union-find over space ids.
  const parent = new Map<string, string>();
  const find = (a: string): string => {
    let r = a;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(a, r);
    return r;
  };
  const newSpace = (id: string): string => {
    parent.set(id, id);
    return id;
  };
  const union = (a: string, b: string): void => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(rb, ra);
  };
  const spaceOf = new Map<string, string>(); // node output -> space id
  const fixed = new Map<string, string>(); // space id -> reason
  const coupled = new Set<string>();
  const producerKind = new Map<string, ChannelGroup['producerKind']>();

  for (const node of graph.nodes) {
    switch (node.kind) {
      case 'input':
        spaceOf.set(node.name, newSpace(node.name));
        fixed.set(node.name, 'the input image');
        producerKind.set(node.name, 'other');
        break;
      case 'conv':
      case 'select':
        spaceOf.set(node.name, newSpace(node.name));
        producerKind.set(node.name, node.kind);
        break;
      case 'linear':
        spaceOf.set(node.name, newSpace(node.name));
        fixed.set(node.name, 'linear layer outputs are not pruned');
        producerKind.set(node.name, 'other');
        break;
      case 'add': {
        const [a, b] = node.inputs.map((i) => spaceOf.get(i)!);
        union(a!, b!);
        coupled.add(a!);
        coupled.add(b!);
        spaceOf.set(node.name, a!);
        break;
      }
      case 'shortcutA':
      case 'concat':
        for (const i of nodeInputs(node)) fixed.set(spaceOf.get(i)!, `read by ${node.kind} ${node.name}`);
        spaceOf.set(node.name, newSpace(node.name));
        fixed.set(node.name, `output of ${node.kind} ${node.name}`);
        producerKind.set(node.name, 'other');
        break;
      default:
        spaceOf.set(node.name, spaceOf.get(node.input)!);
    }
  }
  // Selections read whole streams by index: pruning the stream would need re-indexing them.
  for (const node of graph.nodes) {
    if (node.kind === 'select') fixed.set(spaceOf.get(node.input)!, `read by channel selection ${node.name}`);
  }
  const fixedRoots = new Map<string, string>();
  for (const [s, why] of fixed) fixedRoots.set(find(s), why);
  const coupledRoots = new Set([...coupled].map(find));

  const groups = new Map<string, ChannelGroup>();
  for (const [space] of parent) {
    if (!producerKind.has(space)) continue;
    const root = find(space);
    const reason = fixedRoots.get(root) ?? (coupledRoots.has(root) ? 'tied to other layers by a residual addition' : undefined);
    groups.set(space, {
      id: space,
      producerKind: producerKind.get(space)!,
      channels: shapes.get(space)![2],
      prunable: reason === undefined,
      ...(reason !== undefined ? { reason } : {}),
      bns: [],
      weightAxes: [],
      consumers: [],
    });
  }
  const nodeByName = new Map(graph.nodes.map((n) => [n.name, n]));
  for (const p of graphParams(graph)) {
    const node = nodeByName.get(p.node)!;
    p.axes.forEach((role, axis) => {
      if (role === 'none') return;
      const space = role === 'out' ? spaceOf.get(node.name)! : spaceOf.get(nodeInputs(node)[0]!)!;
      const g = groups.get(space);
      if (g) g.weightAxes.push([p.name, axis]);
    });
  }
  for (const node of graph.nodes) {
    for (const i of nodeInputs(node)) {
      const g = groups.get(spaceOf.get(i)!);
      if (!g) continue;
      if (!g.consumers.includes(node.name)) g.consumers.push(node.name);
      if (node.kind === 'bn') g.bns.push(node.name);
    }
  }
  return graph.nodes.filter((n) => groups.has(n.name)).map((n) => groups.get(n.name)!);
}

export function prunableGroups(graph: ModelGraph): ChannelGroup[] {
  return channelGroups(graph).filter((g) => g.prunable);
}
