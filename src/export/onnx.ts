import * as tf from '@tensorflow/tfjs-core';
import { BN_EPSILON, type GraphNode, type Model } from '../models/index.ts';
import { ATTR_FLOAT, ATTR_INT, ATTR_INTS, ONNX_FLOAT, ONNX_INT64, onnxModelType } from './onnx-schema.ts';

/**
 * ONNX export of a prunebench model: one ONNX node (or two) per graph node, weights as
 * initializers named like prunebench's (`features.0.conv.weight`), BN kept as
 * BatchNormalization with its running statistics (ONNX Runtime folds it into the conv when it
 * loads the model, so keeping it costs nothing at run time and keeps the file readable layer by
 * layer). The input is NCHW, `input` [batch, C, H, W] with a symbolic batch dimension, as PyTorch
 * exports are; conv weights are transposed from our [kh, kw, in, out] to ONNX's [out, in, kh, kw].
 * The output is `logits` [batch, classes]. Compacted models are just smaller graphs; masked models
 * export their dense weights with the zeros in place (no sparse format: that is the point of
 * measuring them).
 */
import { ONNX_OPSET } from './formats.ts';
export { ONNX_OPSET };
/** IR version 8 is the one that goes with opset 17 (ONNX 1.12). */
export const ONNX_IR_VERSION = 8;
export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'logits';

interface AttributeJson {
  name: string;
  type: number;
  i?: number;
  f?: number;
  ints?: number[];
}
interface NodeJson {
  name: string;
  op_type: string;
  input: string[];
  output: string[];
  attribute: AttributeJson[];
}
interface TensorJson {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}

const ints = (name: string, v: number[]): AttributeJson => ({ name, type: ATTR_INTS, ints: v });
const int = (name: string, v: number): AttributeJson => ({ name, type: ATTR_INT, i: v });
const float = (name: string, v: number): AttributeJson => ({ name, type: ATTR_FLOAT, f: v });

function floatTensor(name: string, dims: number[], values: Float32Array): TensorJson {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  // ONNX raw_data is little-endian whatever the host.
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return { name, dims, data_type: ONNX_FLOAT, raw_data: bytes };
}

function int64Tensor(name: string, values: number[]): TensorJson {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setBigInt64(i * 8, BigInt(values[i]!), true);
  return { name, dims: [values.length], data_type: ONNX_INT64, raw_data: bytes };
}

const valueInfo = (name: string, dims: (number | string)[]): object => ({
  name,
  type: { tensor_type: { elem_type: ONNX_FLOAT, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d })) } } },
});

export interface OnnxExportOptions {
  /** Written to the model's producer_version (e.g. prunebench's version). */
  producerVersion?: string;
  /** Extra metadata_props, e.g. the source folder or the pruning method. */
  metadata?: Record<string, string>;
}

/** The model as an ONNX file (ModelProto bytes). */
export function modelToOnnx(model: Model, o: OnnxExportOptions = {}): Uint8Array {
  const nodes: NodeJson[] = [];
  const initializers: TensorJson[] = [];
  // The ONNX tensor holding each graph node's output (identity selections alias their input).
  const tensorOf = new Map<string, string>();
  const out = (n: GraphNode): string => n.name;
  const inp = (name: string): string => tensorOf.get(name)!;
  const weight = (name: string): Float32Array => model.param(name).dataSync() as Float32Array;
  const node = (n: GraphNode, op: string, inputs: string[], attribute: AttributeJson[] = [], output = out(n)): void => {
    nodes.push({ name: output, op_type: op, input: inputs, output: [output], attribute });
  };

  for (const n of model.graph.nodes) {
    switch (n.kind) {
      case 'input':
        tensorOf.set(n.name, ONNX_INPUT);
        continue;
      case 'conv': {
        const w = model.param(`${n.name}.weight`);
        const oihw = tf.tidy(() => tf.transpose(w, [3, 2, 0, 1]).dataSync() as Float32Array);
        initializers.push(floatTensor(`${n.name}.weight`, [n.outChannels, n.inChannels, n.kernel, n.kernel], oihw));
        const inputs = [inp(n.input), `${n.name}.weight`];
        if (n.bias) {
          initializers.push(floatTensor(`${n.name}.bias`, [n.outChannels], weight(`${n.name}.bias`)));
          inputs.push(`${n.name}.bias`);
        }
        node(n, 'Conv', inputs, [
          ints('kernel_shape', [n.kernel, n.kernel]),
          ints('strides', [n.stride, n.stride]),
          ints('pads', [n.padding, n.padding, n.padding, n.padding]),
          ints('dilations', [1, 1]),
          int('group', 1),
        ]);
        break;
      }
      case 'bn': {
        const fields = ['gamma', 'beta', 'mean', 'variance'] as const;
        for (const f of fields) initializers.push(floatTensor(`${n.name}.${f}`, [n.channels], weight(`${n.name}.${f}`)));
        node(n, 'BatchNormalization', [inp(n.input), ...fields.map((f) => `${n.name}.${f}`)], [float('epsilon', BN_EPSILON)]);
        break;
      }
      case 'relu':
        node(n, 'Relu', [inp(n.input)]);
        break;
      case 'maxpool':
      case 'avgpool':
        node(n, n.kind === 'maxpool' ? 'MaxPool' : 'AveragePool', [inp(n.input)], [ints('kernel_shape', [n.size, n.size]), ints('strides', [n.stride, n.stride])]);
        break;
      case 'flatten':
        // The graph only flattens 1x1 maps, so NCHW and NHWC flatten to the same order.
        node(n, 'Flatten', [inp(n.input)], [int('axis', 1)]);
        break;
      case 'linear':
        initializers.push(floatTensor(`${n.name}.weight`, [n.inFeatures, n.outFeatures], weight(`${n.name}.weight`)));
        initializers.push(floatTensor(`${n.name}.bias`, [n.outFeatures], weight(`${n.name}.bias`)));
        node(n, 'Gemm', [inp(n.input), `${n.name}.weight`, `${n.name}.bias`]);
        break;
      case 'add':
        node(n, 'Add', [inp(n.inputs[0]), inp(n.inputs[1])]);
        break;
      case 'shortcutA': {
        let x = inp(n.input);
        const inC = model.shapes.get(n.input)![2];
        if (n.stride > 1) {
          node(n, 'AveragePool', [x], [ints('kernel_shape', [n.stride, n.stride]), ints('strides', [n.stride, n.stride])], `${n.name}.pool`);
          x = `${n.name}.pool`;
        }
        const extra = n.outChannels - inC;
        if (extra > 0) {
          // Zero channels appended: pads are [begin per axis..., end per axis...] over NCHW.
          initializers.push(int64Tensor(`${n.name}.pads`, [0, 0, 0, 0, 0, extra, 0, 0]));
          node(n, 'Pad', [x, `${n.name}.pads`], [], out(n));
        } else if (x !== inp(n.input)) {
          tensorOf.set(n.name, x);
          continue;
        } else {
          node(n, 'Identity', [x]);
        }
        break;
      }
      case 'select': {
        const inC = model.shapes.get(n.input)![2];
        if (n.indices.length === inC && n.indices.every((v, i) => v === i)) {
          tensorOf.set(n.name, inp(n.input));
          continue;
        }
        initializers.push(int64Tensor(`${n.name}.indices`, n.indices));
        node(n, 'Gather', [inp(n.input), `${n.name}.indices`], [int('axis', 1)]);
        break;
      }
      case 'concat':
        node(n, 'Concat', n.inputs.map(inp), [int('axis', 1)]);
        break;
    }
    tensorOf.set(n.name, out(n));
  }
  nodes.push({ name: ONNX_OUTPUT, op_type: 'Identity', input: [inp(model.graph.output)], output: [ONNX_OUTPUT], attribute: [] });

  const { input, numClasses } = model.spec;
  const type = onnxModelType();
  const message = type.fromObject({
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: 'prunebench',
    producer_version: o.producerVersion ?? '',
    doc_string: `${model.spec.name} (${model.spec.family}); input NCHW [batch, ${input.channels}, ${input.height}, ${input.width}], output logits [batch, ${numClasses}]`,
    metadata_props: [
      { key: 'prunebench.spec', value: JSON.stringify(model.spec) },
      ...Object.entries(o.metadata ?? {}).map(([key, value]) => ({ key, value })),
    ],
    graph: {
      name: model.spec.name,
      node: nodes,
      initializer: initializers,
      input: [valueInfo(ONNX_INPUT, ['batch', input.channels, input.height, input.width])],
      output: [valueInfo(ONNX_OUTPUT, ['batch', numClasses])],
    },
  });
  return type.encode(message).finish();
}
