import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { BN_EPSILON, type GraphNode, type Model } from '../models/index.ts';

/**
 * TensorFlow.js graph-model export: model.json (a TensorFlow GraphDef in JSON, format
 * "graph-model") plus one weight shard, which `tf.loadGraphModel` loads in Node and in a browser.
 * The layout stays ours (NHWC input `input` [batch, H, W, C], output `logits`), since that is
 * TensorFlow's own; BN is FusedBatchNormV3 with the running statistics, select is GatherV2 on
 * the channel axis, the option-A shortcut AvgPool + Pad. Weights keep prunebench's names.
 */
export const TFJS_INPUT = 'input';
export const TFJS_OUTPUT = 'logits';
export const TFJS_WEIGHTS_FILE = 'group1-shard1of1.bin';
export const TFJS_MODEL_FILE = 'model.json';

type AttrValue =
  | { type: string }
  | { s: string }
  | { i: string }
  | { f: number }
  | { b: boolean }
  | { list: { i: string[] } }
  | { shape: { dim: { size: string }[] } }
  | { tensor: { dtype: string; tensorShape: { dim: { size: string }[] } } };
interface NodeDef {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, AttrValue>;
}

export interface TfjsGraphModel {
  /** The content of model.json. */
  modelJson: {
    format: 'graph-model';
    generatedBy: string;
    convertedBy: string;
    modelTopology: { node: NodeDef[]; library: Record<string, never>; versions: { producer: number } };
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
    userDefinedMetadata: Record<string, unknown>;
  };
  /** The weight shard (the manifest's one path). */
  weightData: Uint8Array;
}

const str = (s: string): AttrValue => ({ s: Buffer.from(s).toString('base64') });
const ints = (v: number[]): AttrValue => ({ list: { i: v.map(String) } });
const DT_FLOAT: AttrValue = { type: 'DT_FLOAT' };

/** The model as a TensorFlow.js graph model (model.json + one shard). */
export async function modelToTfjs(model: Model): Promise<TfjsGraphModel> {
  const nodes: NodeDef[] = [];
  const consts: tf.NamedTensorMap = {};
  const tensorOf = new Map<string, string>();
  const inp = (name: string): string => tensorOf.get(name)!;
  const constNode = (name: string, value: tf.Tensor): string => {
    consts[name] = value;
    const dtype = value.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT';
    nodes.push({ name, op: 'Const', attr: { dtype: { type: dtype }, value: { tensor: { dtype, tensorShape: { dim: value.shape.map((d) => ({ size: String(d) })) } } } } });
    return name;
  };
  const param = (name: string): string => constNode(name, model.param(name));
  // Index and shape constants are made here (weights are the model's own): disposed at the end.
  const owned: tf.Tensor[] = [];
  const intConst = (name: string, values: number[], shape = [values.length]): string => {
    const t = tf.tensor(values, shape, 'int32');
    owned.push(t);
    return constNode(name, t);
  };
  const add = (name: string, op: string, input: string[], attr: Record<string, AttrValue> = {}): string => {
    nodes.push({ name, op, input, attr: { T: DT_FLOAT, ...attr } });
    return name;
  };
  const pool = (name: string, op: string, x: string, size: number, stride: number): string =>
    add(name, op, [x], { ksize: ints([1, size, size, 1]), strides: ints([1, stride, stride, 1]), padding: str('VALID'), data_format: str('NHWC') });

  for (const n of model.graph.nodes as GraphNode[]) {
    let out: string;
    switch (n.kind) {
      case 'input':
        nodes.push({ name: TFJS_INPUT, op: 'Placeholder', attr: { dtype: DT_FLOAT, shape: { shape: { dim: [-1, model.spec.input.height, model.spec.input.width, n.channels].map((d) => ({ size: String(d) })) } } } });
        out = TFJS_INPUT;
        break;
      case 'conv': {
        const conv = add(n.bias ? `${n.name}.conv` : n.name, 'Conv2D', [inp(n.input), param(`${n.name}.weight`)], {
          strides: ints([1, n.stride, n.stride, 1]),
          padding: str('EXPLICIT'),
          explicit_paddings: ints([0, 0, n.padding, n.padding, n.padding, n.padding, 0, 0]),
          dilations: ints([1, 1, 1, 1]),
          data_format: str('NHWC'),
        });
        out = n.bias ? add(n.name, 'BiasAdd', [conv, param(`${n.name}.bias`)], { data_format: str('NHWC') }) : conv;
        break;
      }
      case 'bn':
        out = add(n.name, 'FusedBatchNormV3', [inp(n.input), ...(['gamma', 'beta', 'mean', 'variance'] as const).map((f) => param(`${n.name}.${f}`))], {
          epsilon: { f: BN_EPSILON },
          data_format: str('NHWC'),
          is_training: { b: false },
        });
        break;
      case 'relu':
        out = add(n.name, 'Relu', [inp(n.input)]);
        break;
      case 'maxpool':
        out = pool(n.name, 'MaxPool', inp(n.input), n.size, n.stride);
        break;
      case 'avgpool':
        out = pool(n.name, 'AvgPool', inp(n.input), n.size, n.stride);
        break;
      case 'flatten': {
        const c = model.shapes.get(n.input)![2];
        out = add(n.name, 'Reshape', [inp(n.input), intConst(`${n.name}.shape`, [-1, c])]);
        break;
      }
      case 'linear': {
        const mm = add(`${n.name}.matmul`, 'MatMul', [inp(n.input), param(`${n.name}.weight`)], { transpose_a: { b: false }, transpose_b: { b: false } });
        out = add(n.name, 'BiasAdd', [mm, param(`${n.name}.bias`)], { data_format: str('NHWC') });
        break;
      }
      case 'add':
        out = add(n.name, 'AddV2', [inp(n.inputs[0]), inp(n.inputs[1])]);
        break;
      case 'shortcutA': {
        let x = inp(n.input);
        if (n.stride > 1) x = pool(`${n.name}.pool`, 'AvgPool', x, n.stride, n.stride);
        const extra = n.outChannels - model.shapes.get(n.input)![2];
        out = extra > 0 ? add(n.name, 'Pad', [x, intConst(`${n.name}.paddings`, [0, 0, 0, 0, 0, 0, 0, extra], [4, 2])]) : x;
        break;
      }
      case 'select': {
        const inC = model.shapes.get(n.input)![2];
        if (n.indices.length === inC && n.indices.every((v, i) => v === i)) {
          out = inp(n.input);
          break;
        }
        out = add(n.name, 'GatherV2', [inp(n.input), intConst(`${n.name}.indices`, n.indices), intConst(`${n.name}.axis`, [3], [])], { batch_dims: { i: '0' } });
        break;
      }
      case 'concat':
        out = add(n.name, 'ConcatV2', [...n.inputs.map(inp), intConst(`${n.name}.axis`, [3], [])], { N: { i: String(n.inputs.length) } });
        break;
    }
    tensorOf.set(n.name, out);
  }
  add(TFJS_OUTPUT, 'Identity', [inp(model.graph.output)]);
  try {
    const { data, specs } = await tf.io.encodeWeights(consts);
    return {
      modelJson: {
        format: 'graph-model',
        generatedBy: 'prunebench',
        convertedBy: 'prunebench',
        modelTopology: { node: nodes, library: {}, versions: { producer: 1 } },
        weightsManifest: [{ paths: [TFJS_WEIGHTS_FILE], weights: specs }],
        userDefinedMetadata: { prunebenchSpec: model.spec },
      },
      weightData: new Uint8Array(data as ArrayBuffer),
    };
  } finally {
    for (const t of owned) t.dispose();
  }
}

/** model.json + shard as the ModelArtifacts a `tf.io.fromMemory` handler gives `tf.loadGraphModel`. */
export function tfjsArtifacts(m: TfjsGraphModel): tf.io.ModelArtifacts {
  const data = m.weightData;
  return {
    modelTopology: m.modelJson.modelTopology,
    format: m.modelJson.format,
    generatedBy: m.modelJson.generatedBy,
    convertedBy: m.modelJson.convertedBy,
    weightSpecs: m.modelJson.weightsManifest.flatMap((g) => g.weights),
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer,
    userDefinedMetadata: m.modelJson.userDefinedMetadata as Record<string, {}>,
  };
}

/** A folder written by `prunebench export --format tfjs`, read back (for loading in Node without tfjs-node). */
export async function readTfjsFolder(dir: string): Promise<TfjsGraphModel> {
  const modelJson = JSON.parse(await readFile(join(dir, TFJS_MODEL_FILE), 'utf8')) as TfjsGraphModel['modelJson'];
  const shards = await Promise.all(modelJson.weightsManifest.flatMap((g) => g.paths).map((p) => readFile(join(dir, p))));
  return { modelJson, weightData: new Uint8Array(Buffer.concat(shards)) };
}
