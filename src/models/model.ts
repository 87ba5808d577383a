import * as tf from '@tensorflow/tfjs-core';
import { ModelError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { BN_EPSILON, BN_MOMENTUM, batchNormInference, batchNormTrain } from './bn.ts';
import { inferShapes, nodeInputs, type GraphNode, type ModelGraph, type NodeShape } from './graph.ts';
import { graphParams, type ParamInfo } from './params.ts';
import { compileGraph } from './registry.ts';
import type { ModelSpec } from './spec.ts';

/** Batch statistics of one BN layer from a training-mode forward pass. */
export interface BnBatchStat {
  node: string;
  mean: tf.Tensor1D;
  variance: tf.Tensor1D; // biased (divided by n)
  count: number; // n = N*H*W, for the unbiased running variance
}

export type NamedWeights = Map<string, tf.Tensor>;

/**
 * A spec compiled to a graph plus its weights. Trainable parameters are tf.Variables; BN running
 * statistics are non-trainable variables. The model owns its tensors: call dispose().
 */
export class Model {
  readonly graph: ModelGraph;
  readonly shapes: Map<string, NodeShape>;
  readonly paramInfo: ParamInfo[];
  readonly params = new Map<string, tf.Variable>();
  readonly buffers = new Map<string, tf.Variable>();
  /** select nodes whose indices are 0..C-1 of a C-channel input: skipped at run time. */
  private readonly identitySelects = new Set<string>();
  private readonly selectIndices = new Map<string, tf.Tensor1D>();
  /**
   * BN nodes whose only consumer is a ReLU, and those ReLUs: the forward pass runs each pair as one
   * batch norm with ReLU (one native kernel on onednn, forward and backward).
   */
  private readonly bnWithRelu = new Set<string>();
  private readonly fusedRelus = new Set<string>();

  private constructor(
    readonly spec: ModelSpec,
    weights: (info: ParamInfo) => tf.Tensor,
  ) {
    this.graph = compileGraph(spec);
    this.shapes = inferShapes(this.graph);
    this.paramInfo = graphParams(this.graph);
    for (const info of this.paramInfo) {
      const value = weights(info);
      if (value.shape.join() !== info.shape.join()) {
        throw new ModelError(`Weight ${info.name} has shape [${value.shape}] but the spec needs [${info.shape}]`);
      }
      const v = tf.variable(value, info.trainable, `${info.name}#${nextVariableId++}`);
      value.dispose();
      (info.trainable ? this.params : this.buffers).set(info.name, v);
    }
    const consumers = new Map<string, GraphNode[]>();
    for (const node of this.graph.nodes) {
      for (const input of nodeInputs(node)) consumers.set(input, [...(consumers.get(input) ?? []), node]);
    }
    for (const node of this.graph.nodes) {
      const users = consumers.get(node.name) ?? [];
      if (node.kind === 'bn' && node.name !== this.graph.output && users.length === 1 && users[0]!.kind === 'relu') {
        this.bnWithRelu.add(node.name);
        this.fusedRelus.add(users[0]!.name);
      }
    }
    for (const node of this.graph.nodes) {
      if (node.kind !== 'select') continue;
      const inC = this.shapes.get(node.input)![2];
      if (node.indices.length === inC && node.indices.every((v, i) => v === i)) {
        this.identitySelects.add(node.name);
      } else {
        this.selectIndices.set(node.name, tf.keep(tf.tensor1d(node.indices, 'int32')));
      }
    }
  }

  /** Fresh random weights, initialised as the reference code does, from a seed. */
  static init(spec: ModelSpec, seed: number | Rng): Model {
    const rng = typeof seed === 'number' ? new Rng(seed) : seed;
    return new Model(spec, (info) => tf.tensor(initValues(spec, info, rng), info.shape));
  }

  /** A model from named weights (copied; the caller keeps ownership of `weights`). */
  static fromWeights(spec: ModelSpec, weights: NamedWeights): Model {
    return new Model(spec, (info) => {
      const w = weights.get(info.name);
      if (!w) throw new ModelError(`Missing weight ${info.name} for model ${spec.name}`);
      return w.clone();
    });
  }

  get trainableVariables(): tf.Variable[] {
    return [...this.params.values()];
  }

  param(name: string): tf.Variable {
    const v = this.params.get(name) ?? this.buffers.get(name);
    if (!v) throw new ModelError(`Model ${this.spec.name} has no weight ${name}`);
    return v;
  }

  /** Every weight (trainable and buffer) by name. The tensors are the model's own: do not dispose. */
  namedWeights(): NamedWeights {
    return new Map<string, tf.Tensor>([...this.params, ...this.buffers]);
  }

  clone(): Model {
    return Model.fromWeights(this.spec, this.namedWeights());
  }

  /**
   * Forward pass. In training mode BN uses batch statistics and returns them (kept, caller
   * disposes, usually through updateRunningStats) so running averages are updated outside any
   * gradient tape.
   */
  forward(x: tf.Tensor4D, training: boolean): { logits: tf.Tensor2D; bnStats: BnBatchStat[] } {
    const bnStats: BnBatchStat[] = [];
    const logits = tf.tidy(() => {
      const values = new Map<string, tf.Tensor>();
      for (const node of this.graph.nodes) values.set(node.name, this.runNode(node, values, x, training, bnStats, true));
      return values.get(this.graph.output) as tf.Tensor2D;
    });
    return { logits, bnStats };
  }

  /**
   * Inference-mode forward that also returns the outputs of the named nodes (kept: the caller
   * disposes them). Used by data-driven criteria such as the reconstruction criterion.
   */
  activations(x: tf.Tensor4D, names: string[]): Map<string, tf.Tensor> {
    const wanted = new Set(names);
    for (const n of names) if (!this.shapes.has(n)) throw new ModelError(`Model ${this.spec.name} has no layer ${n}`);
    const out = new Map<string, tf.Tensor>();
    tf.tidy(() => {
      const values = new Map<string, tf.Tensor>();
      for (const node of this.graph.nodes) {
        // No BN+ReLU fusion here: a BN node's own output may be asked for.
        const v = this.runNode(node, values, x, false, [], false);
        values.set(node.name, v);
        if (wanted.has(node.name)) out.set(node.name, tf.keep(v));
      }
    });
    return out;
  }

  /** Multiplies named weights by fixed 0/1 masks (unstructured and vector pruning). */
  applyMasks(masks: Map<string, tf.Tensor>): void {
    tf.tidy(() => {
      for (const [n, m] of masks) this.param(n).assign(tf.mul(this.param(n), m));
    });
  }

  /** Running averages as PyTorch keeps them (momentum 0.1, unbiased batch variance); disposes the stats. */
  updateRunningStats(stats: BnBatchStat[], momentum = BN_MOMENTUM): void {
    tf.tidy(() => {
      for (const s of stats) {
        const mean = this.buffers.get(`${s.node}.mean`)!;
        const variance = this.buffers.get(`${s.node}.variance`)!;
        const unbiased = tf.mul(s.variance, s.count / Math.max(1, s.count - 1));
        mean.assign(tf.add(tf.mul(mean, 1 - momentum), tf.mul(s.mean, momentum)));
        variance.assign(tf.add(tf.mul(variance, 1 - momentum), tf.mul(unbiased, momentum)));
      }
    });
    for (const s of stats) {
      s.mean.dispose();
      s.variance.dispose();
    }
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    for (const v of this.buffers.values()) v.dispose();
    for (const t of this.selectIndices.values()) t.dispose();
    this.params.clear();
    this.buffers.clear();
  }

  private runNode(
    node: GraphNode,
    values: Map<string, tf.Tensor>,
    x: tf.Tensor4D,
    training: boolean,
    bnStats: BnBatchStat[],
    fuse: boolean,
  ): tf.Tensor {
    const get = (name: string): tf.Tensor => values.get(name)!;
    switch (node.kind) {
      case 'input':
        return x;
      case 'conv': {
        const w = this.param(`${node.name}.weight`) as tf.Tensor4D;
        const pad = node.padding === 0 ? 'valid' : node.padding;
        let y: tf.Tensor = tf.conv2d(get(node.input) as tf.Tensor4D, w, node.stride, pad);
        if (node.bias) y = tf.add(y, this.param(`${node.name}.bias`));
        return y;
      }
      case 'bn': {
        const input = get(node.input);
        const gamma = this.param(`${node.name}.gamma`) as tf.Tensor1D;
        const beta = this.param(`${node.name}.beta`) as tf.Tensor1D;
        const relu = fuse && this.bnWithRelu.has(node.name);
        if (!training) {
          const mean = this.param(`${node.name}.mean`) as tf.Tensor1D;
          return batchNormInference(input, gamma, beta, mean, this.param(`${node.name}.variance`) as tf.Tensor1D, BN_EPSILON, { relu });
        }
        // BN1d on [N, C] runs as BN2d on [N, 1, 1, C].
        const x4 = (input.rank === 2 ? tf.reshape(input, [input.shape[0]!, 1, 1, input.shape[1]!]) : input) as tf.Tensor4D;
        const { y, mean, variance } = batchNormTrain(x4, gamma, beta, BN_EPSILON, { relu });
        bnStats.push({
          node: node.name,
          mean: tf.keep(mean),
          variance: tf.keep(variance),
          count: x4.shape[0] * x4.shape[1] * x4.shape[2],
        });
        return input.rank === 2 ? tf.reshape(y, input.shape) : y;
      }
      case 'relu':
        // Already applied by the batch norm before it.
        if (fuse && this.fusedRelus.has(node.name)) return get(node.input);
        return tf.relu(get(node.input));
      case 'maxpool':
        return tf.maxPool(get(node.input) as tf.Tensor4D, node.size, node.stride, 'valid');
      case 'avgpool':
        return tf.avgPool(get(node.input) as tf.Tensor4D, node.size, node.stride, 'valid');
      case 'flatten': {
        const t = get(node.input);
        return tf.reshape(t, [t.shape[0]!, -1]);
      }
      case 'linear':
        return tf.add(tf.matMul(get(node.input) as tf.Tensor2D, this.param(`${node.name}.weight`) as tf.Tensor2D), this.param(`${node.name}.bias`));
      case 'add':
        return tf.add(get(node.inputs[0]), get(node.inputs[1]));
      case 'shortcutA': {
        let t = get(node.input) as tf.Tensor4D;
        if (node.stride > 1) t = tf.avgPool(t, node.stride, node.stride, 'valid');
        const extra = node.outChannels - t.shape[3];
        return extra > 0 ? tf.pad(t, [[0, 0], [0, 0], [0, 0], [0, extra]]) : t;
      }
      case 'select': {
        const t = get(node.input);
        if (this.identitySelects.has(node.name)) return t;
        return tf.gather(t, this.selectIndices.get(node.name)!, 3);
      }
      case 'concat':
        return tf.concat(node.inputs.map(get), 3);
    }
  }
}

let nextVariableId = 0;

/** Initial values as the papers' reference code draws them (He-normal convs, BN gamma from the spec). */
function initValues(spec: ModelSpec, info: ParamInfo, rng: Rng): Float32Array {
  const size = info.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(size);
  const fill = (f: () => number): Float32Array => {
    for (let i = 0; i < size; i++) out[i] = f();
    return out;
  };
  switch (info.field) {
    case 'weight':
      if (info.shape.length === 4) {
        const [k, , , outC] = info.shape as [number, number, number, number];
        const std = Math.sqrt(2 / (k * k * outC));
        return fill(() => rng.normal() * std);
      }
      if (spec.family === 'vgg') return fill(() => rng.normal() * 0.01);
      // PyTorch's default Linear init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
      return fill(() => (rng.next() * 2 - 1) / Math.sqrt(info.fanIn));
    case 'bias':
      if (spec.family === 'vgg') return out;
      return fill(() => (rng.next() * 2 - 1) / Math.sqrt(info.fanIn));
    case 'gamma':
      return out.fill(spec.bnGammaInit);
    case 'variance':
      return out.fill(1);
    case 'beta':
    case 'mean':
      return out;
  }
}
