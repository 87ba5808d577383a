import { ModelError } from '../util/errors.ts';
import type { InputShape } from './spec.ts';

/**
 * The layer graph every family compiles to. One executor, one counter and one surgery work on it,
 * so no family needs its own. Node names are positional (`layer1.0.conv1`), independent of widths,
 * so a pruned spec compiles to a graph with the same names and weights map across by name.
 */
export type GraphNode =
  | { kind: 'input'; name: string; channels: number }
  | {
      kind: 'conv';
      name: string;
      input: string;
      inChannels: number;
      outChannels: number;
      kernel: number;
      stride: number;
      padding: number;
      bias: boolean;
    }
  | { kind: 'bn'; name: string; input: string; channels: number }
  | { kind: 'relu'; name: string; input: string }
  | { kind: 'maxpool'; name: string; input: string; size: number; stride: number }
  | { kind: 'avgpool'; name: string; input: string; size: number; stride: number }
  | { kind: 'flatten'; name: string; input: string }
  | { kind: 'linear'; name: string; input: string; inFeatures: number; outFeatures: number }
  | { kind: 'add'; name: string; inputs: [string, string] }
  /** Option-A shortcut: 2x2 average pool with the given stride, then zero channels appended. */
  | { kind: 'shortcutA'; name: string; input: string; outChannels: number; stride: number }
  /** Channel selection: output channel j is input channel indices[j]. */
  | { kind: 'select'; name: string; input: string; indices: number[] }
  | { kind: 'concat'; name: string; inputs: string[] };

export type NodeKind = GraphNode['kind'];

export interface ModelGraph {
  input: InputShape;
  nodes: GraphNode[];
  output: string;
}

/** Output shape of a node: [height, width, channels], or [1, 1, features] after flatten/linear. */
export type NodeShape = [number, number, number];

export function nodeInputs(node: GraphNode): string[] {
  switch (node.kind) {
    case 'input':
      return [];
    case 'add':
    case 'concat':
      return node.inputs;
    default:
      return [node.input];
  }
}

/** Shape inference that also validates channel counts, so a bad spec fails here, not inside tfjs. */
export function inferShapes(graph: ModelGraph): Map<string, NodeShape> {
  const shapes = new Map<string, NodeShape>();
  const get = (name: string, user: string): NodeShape => {
    const s = shapes.get(name);
    if (!s) throw new ModelError(`Layer ${user} reads ${name}, which is not defined before it`);
    return s;
  };
  const expectChannels = (node: GraphNode, got: number, want: number): void => {
    if (got !== want) {
      throw new ModelError(
        `Layer ${node.name} expects ${want} input channels but its input has ${got}`,
      );
    }
  };
  for (const node of graph.nodes) {
    if (shapes.has(node.name)) throw new ModelError(`Duplicate layer name ${node.name}`);
    let out: NodeShape;
    switch (node.kind) {
      case 'input':
        out = [graph.input.height, graph.input.width, node.channels];
        break;
      case 'conv': {
        const [h, w, c] = get(node.input, node.name);
        expectChannels(node, c, node.inChannels);
        if (node.outChannels < 1) throw new ModelError(`Layer ${node.name} has ${node.outChannels} output channels`);
        const ho = Math.floor((h + 2 * node.padding - node.kernel) / node.stride) + 1;
        const wo = Math.floor((w + 2 * node.padding - node.kernel) / node.stride) + 1;
        out = [ho, wo, node.outChannels];
        break;
      }
      case 'bn': {
        const s = get(node.input, node.name);
        expectChannels(node, s[2], node.channels);
        out = s;
        break;
      }
      case 'relu':
        out = get(node.input, node.name);
        break;
      case 'maxpool':
      case 'avgpool': {
        const [h, w, c] = get(node.input, node.name);
        if (h < node.size || w < node.size) {
          throw new ModelError(`Layer ${node.name}: ${node.size}x${node.size} pool on a ${h}x${w} input`);
        }
        out = [
          Math.floor((h - node.size) / node.stride) + 1,
          Math.floor((w - node.size) / node.stride) + 1,
          c,
        ];
        break;
      }
      case 'flatten': {
        const [h, w, c] = get(node.input, node.name);
        // Surgery maps linear input features to channels; that needs a 1x1 map here.
        if (h !== 1 || w !== 1) {
          throw new ModelError(`Layer ${node.name} flattens a ${h}x${w} map; pool to 1x1 first`);
        }
        out = [1, 1, c];
        break;
      }
      case 'linear': {
        const [, , c] = get(node.input, node.name);
        expectChannels(node, c, node.inFeatures);
        out = [1, 1, node.outFeatures];
        break;
      }
      case 'add': {
        const a = get(node.inputs[0], node.name);
        const b = get(node.inputs[1], node.name);
        if (a.join() !== b.join()) {
          throw new ModelError(`Layer ${node.name} adds shapes ${a.join('x')} and ${b.join('x')}`);
        }
        out = a;
        break;
      }
      case 'shortcutA': {
        const [h, w, c] = get(node.input, node.name);
        if (node.outChannels < c) throw new ModelError(`Layer ${node.name} cannot shrink ${c} to ${node.outChannels} channels`);
        out = [Math.floor(h / node.stride), Math.floor(w / node.stride), node.outChannels];
        break;
      }
      case 'select': {
        const [h, w, c] = get(node.input, node.name);
        if (node.indices.length === 0) throw new ModelError(`Layer ${node.name} selects no channels`);
        for (const i of node.indices) {
          if (!Number.isInteger(i) || i < 0 || i >= c) {
            throw new ModelError(`Layer ${node.name} selects channel ${i} of an input with ${c} channels`);
          }
        }
        out = [h, w, node.indices.length];
        break;
      }
      case 'concat': {
        const ins = node.inputs.map((n) => get(n, node.name));
        const [h, w] = ins[0]!;
        for (const s of ins) {
          if (s[0] !== h || s[1] !== w) throw new ModelError(`Layer ${node.name} concatenates maps of different sizes`);
        }
        out = [h, w, ins.reduce((acc, s) => acc + s[2], 0)];
        break;
      }
    }
    shapes.set(node.name, out);
  }
  if (!shapes.has(graph.output)) throw new ModelError(`Graph output ${graph.output} is not a layer`);
  return shapes;
}

/** Helper used by the family compilers: appends nodes and remembers the last one. */
export class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  last = 'input';

  constructor(readonly inputShape: InputShape) {
    this.nodes.push({ kind: 'input', name: 'input', channels: inputShape.channels });
  }

  add<N extends GraphNode>(node: N): string {
    this.nodes.push(node);
    this.last = node.name;
    return node.name;
  }

  conv(name: string, input: string, inC: number, outC: number, kernel: number, stride = 1): string {
    return this.add({
      kind: 'conv',
      name,
      input,
      inChannels: inC,
      outChannels: outC,
      kernel,
      stride,
      padding: (kernel - 1) / 2,
      bias: false,
    });
  }

  bn(name: string, input: string, channels: number): string {
    return this.add({ kind: 'bn', name, input, channels });
  }

  relu(name: string, input: string): string {
    return this.add({ kind: 'relu', name, input });
  }

  /**
   * A channel-selection node. `null` selects every channel: the node is still emitted, since it
   * starts the prunable channel group of the block it feeds; the executor skips identity selections.
   */
  select(name: string, input: string, indices: number[] | null, inputChannels: number): string {
    const all = indices ?? Array.from({ length: inputChannels }, (_, i) => i);
    return this.add({ kind: 'select', name, input, indices: [...all] });
  }

  build(output = this.last): ModelGraph {
    return { input: this.inputShape, nodes: this.nodes, output };
  }
}
