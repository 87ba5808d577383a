import { readFile, stat } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import {
  BN_EPSILON,
  compileGraph,
  inferShapes,
  Model,
  modelSpec,
  saveModel,
  type GraphNode,
  type ModelSpec,
  type NodeShape,
} from '../models/index.ts';
import { CheckpointError, ConfigError, fsErrorReason, ModelError } from '../util/errors.ts';
import { ONNX_FLOAT, onnxModelType } from './onnx-schema.ts';

/**
 * ONNX import: the weights of an ONNX file exported by PyTorch (or by `prunebench export`) from
 * one of our families' reference definitions, mapped onto a prunebench spec by structure, not by
 * name. The spec's layer graph is walked in order; each layer must find, among the readers of the
 * ONNX tensor that its input maps to, the ONNX node that computes it (Conv, BatchNormalization,
 * Relu, MaxPool, AveragePool, Flatten or Reshape, Gemm, Add, Concat, Gather for a channel
 * selection, AveragePool + Pad or Concat with zeros for an option-A shortcut), with every shape and
 * attribute checked. The first ONNX node that does not fit ends the import with an error naming
 * it; so does any node left over.
 *
 * What PyTorch writes differently from our graph, and how it maps:
 * - Network Slimming's BN -> channel_selection order: BN over the full input, then Gather. Our
 *   spec selects first; the BN's parameters are taken at the selected channels (same outputs).
 * - The default export (eval mode, TrainingMode.EVAL) folds each BN that follows a conv into the
 *   conv's weight and bias. Such a BN is imported as gamma 1, beta = the conv's bias, mean 0,
 *   variance 1 - eps (the same function), with the scale left in the conv weight: logits match,
 *   but BN-based criteria (Network Slimming) then see gamma 1. Export with
 *   training=TrainingMode.PRESERVE on a model in eval mode to keep BN.
 * - BN epsilons other than ours (1e-5) are absorbed into the variance.
 * - Identity and Dropout nodes are skipped; shape arithmetic feeding a Reshape or the zeros of a
 *   shortcut (Shape, Gather, Unsqueeze, Concat, ...) is accepted as such.
 */

interface OnnxTensor {
  name: string;
  dims: number[];
  /** Float data (FLOAT tensors). */
  floats?: Float32Array;
  /** Integer data (INT64 / INT32 tensors). */
  ints?: number[];
}

interface OnnxNode {
  index: number;
  name: string;
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Map<string, { i?: number; f?: number; ints?: number[]; s?: string; t?: OnnxTensor }>;
}

interface DecodedGraph {
  nodes: OnnxNode[];
  constants: Map<string, OnnxTensor>;
  inputs: { name: string; dims: (number | string | undefined)[] }[];
  outputs: string[];
  producer: string;
  opset: number | undefined;
}

// protobufjs's decoded objects are untyped (any) until tensorFrom and decodeOnnx give them shape.
function tensorFrom(t: any, source: string): OnnxTensor {
  const name = String(t.name ?? '');
  const dims = ((t.dims ?? []) as unknown[]).map(Number);
  const size = dims.reduce((a, b) => a * b, 1);
  const type = Number(t.data_type ?? 0);
  const raw = t.raw_data as Uint8Array | undefined;
  if (t.data_location === 1 || (raw === undefined && size > 0 && !t.float_data?.length && !t.int64_data?.length && !t.int32_data?.length)) {
    throw new CheckpointError(`${source}: tensor "${name}" has no data in the file (external data is not supported; export with the weights inside the .onnx file)`, source);
  }
  const view = raw && raw.byteLength > 0 ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  if (type === ONNX_FLOAT) {
    const floats = new Float32Array(size);
    if (view) {
      if (raw!.byteLength !== size * 4) throw new CheckpointError(`${source}: tensor "${name}" [${dims.join(', ')}] has ${raw!.byteLength} bytes of data; expected ${size * 4}`, source);
      for (let i = 0; i < size; i++) floats[i] = view.getFloat32(i * 4, true);
    } else {
      const list = (t.float_data ?? []) as number[];
      if (list.length !== size) throw new CheckpointError(`${source}: tensor "${name}" [${dims.join(', ')}] has ${list.length} values; expected ${size}`, source);
      floats.set(list);
    }
    return { name, dims, floats };
  }
  if (type === 7 || type === 6) {
    const width = type === 7 ? 8 : 4;
    let ints: number[];
    if (view) {
      if (raw!.byteLength !== size * width) throw new CheckpointError(`${source}: tensor "${name}" has ${raw!.byteLength} bytes of data; expected ${size * width}`, source);
      ints = Array.from({ length: size }, (_, i) => (width === 8 ? Number(view.getBigInt64(i * 8, true)) : view.getInt32(i * 4, true)));
    } else {
      ints = ((type === 7 ? t.int64_data : t.int32_data) ?? []).map(Number);
    }
    return { name, dims, ints };
  }
  // Other types (e.g. the bool or float16 of other models) are kept by shape only: no layer of ours reads them.
  return { name, dims };
}

function decodeOnnx(bytes: Uint8Array, source: string): DecodedGraph {
  let m: any;
  try {
    const type = onnxModelType();
    m = type.toObject(type.decode(bytes), { longs: Number, defaults: false, arrays: true });
  } catch (e) {
    throw new CheckpointError(`${source}: not a readable ONNX model (${(e as Error).message}); is the file truncated or not an .onnx file?`, source);
  }
  const g = m.graph;
  if (!g || !Array.isArray(g.node) || g.node.length === 0) {
    throw new CheckpointError(`${source}: not an ONNX model with a graph (no nodes); is the file truncated or not an .onnx file?`, source);
  }
  const constants = new Map<string, OnnxTensor>();
  for (const t of g.initializer ?? []) constants.set(String(t.name), tensorFrom(t, source));
  const nodes: OnnxNode[] = (g.node as any[]).map((n, index) => {
    const attrs: OnnxNode['attrs'] = new Map();
    for (const a of n.attribute ?? []) {
      attrs.set(String(a.name), {
        ...(a.i !== undefined ? { i: Number(a.i) } : {}),
        ...(a.f !== undefined ? { f: Number(a.f) } : {}),
        ...(a.ints?.length ? { ints: (a.ints as unknown[]).map(Number) } : {}),
        ...(a.s !== undefined ? { s: Buffer.from(a.s as Uint8Array).toString('utf8') } : {}),
        ...(a.t !== undefined ? { t: tensorFrom(a.t, source) } : {}),
      });
    }
    const domain = String(n.domain ?? '');
    return {
      index,
      name: String(n.name ?? ''),
      op: domain === '' || domain === 'ai.onnx' ? String(n.op_type ?? '') : `${domain}.${String(n.op_type ?? '')}`,
      inputs: ((n.input ?? []) as unknown[]).map(String),
      outputs: ((n.output ?? []) as unknown[]).map(String),
      attrs,
    };
  });
  const inputs = ((g.input ?? []) as any[])
    .filter((v) => !constants.has(String(v.name)))
    .map((v) => ({
      name: String(v.name),
      dims: ((v.type?.tensor_type?.shape?.dim ?? []) as any[]).map((d) => (d.dim_value !== undefined ? Number(d.dim_value) : d.dim_param !== undefined ? String(d.dim_param) : undefined)),
    }));
  const opset = ((m.opset_import ?? []) as any[]).find((o) => !o.domain || o.domain === 'ai.onnx')?.version;
  return {
    nodes,
    constants,
    inputs,
    outputs: ((g.output ?? []) as any[]).map((v) => String(v.name)),
    producer: `${String(m.producer_name ?? '')} ${String(m.producer_version ?? '')}`.trim(),
    opset: opset === undefined ? undefined : Number(opset),
  };
}

/** Ops that only compute shapes (of a Reshape's target, of a shortcut's zeros). */
const SHAPE_OPS = new Set(['Shape', 'Gather', 'Unsqueeze', 'Squeeze', 'Concat', 'Slice', 'Cast', 'Constant', 'Mul', 'Div', 'Add', 'Sub', 'Reshape']);

const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
const fmt = (dims: readonly (number | string | undefined)[]): string => `[${dims.map((d) => d ?? '?').join(', ')}]`;

export interface OnnxWeights {
  /** Float32 values by prunebench parameter name, in prunebench's layouts. */
  values: Map<string, { shape: number[]; data: Float32Array }>;
  /** BN layers that PyTorch had folded into the preceding conv (imported as gamma 1, beta = bias). */
  foldedBatchNorms: string[];
  producer: string;
  nodes: number;
}

/**
 * The weights of `spec` read from the ONNX bytes, matched by structure (see the top of this file).
 * Throws a CheckpointError naming `source` and the first ONNX node that does not fit.
 */
export function onnxWeightsForSpec(bytes: Uint8Array, spec: ModelSpec, source: string, label = spec.name): OnnxWeights {
  const d = decodeOnnx(bytes, source);
  const graph = compileGraph(spec);
  const shapes = inferShapes(graph);
  const used = new Set<OnnxNode>();
  const fail = (node: OnnxNode | undefined, what: string): never => {
    const where = node ? `node ${node.index} "${node.name || node.outputs[0]}" (${node.op})` : 'the graph';
    throw new CheckpointError(`${source}: ${where} does not fit ${label}: ${what}`, source);
  };

  // Constant nodes are tensors; Identity and Dropout pass their input through.
  const alias = new Map<string, string>();
  const resolve = (t: string): string => {
    let x = t;
    while (alias.has(x)) x = alias.get(x)!;
    return x;
  };
  for (const n of d.nodes) {
    if (n.op === 'Constant') {
      const t = n.attrs.get('value')?.t;
      if (t && n.outputs[0]) d.constants.set(n.outputs[0], t);
      used.add(n);
    }
  }
  // PyTorch writes an average pool as a Pad of zero width before the AveragePool.
  const zeroPad = (n: OnnxNode): boolean => {
    if (n.op !== 'Pad') return false;
    const pads = n.inputs[1] ? d.constants.get(n.inputs[1])?.ints : n.attrs.get('pads')?.ints;
    return !!pads && pads.every((v) => v === 0);
  };
  for (const n of d.nodes) {
    if (n.op === 'Identity' || n.op === 'Dropout' || zeroPad(n)) {
      if (n.outputs[0] && n.inputs[0]) alias.set(n.outputs[0], n.inputs[0]);
      used.add(n);
    }
  }
  const producer = new Map<string, OnnxNode>();
  const readers = new Map<string, OnnxNode[]>();
  for (const n of d.nodes) {
    if (used.has(n)) continue;
    n.inputs = n.inputs.map((t) => (t === '' ? t : resolve(t)));
    for (const o of n.outputs) producer.set(o, n);
    for (const t of new Set(n.inputs)) {
      if (!readers.has(t)) readers.set(t, []);
      readers.get(t)!.push(n);
    }
  }
  const unusedReaders = (t: string): OnnxNode[] => (readers.get(t) ?? []).filter((n) => !used.has(n));

  /** The unused reader of `t` with one of `ops` (and passing `test`), or the error naming what reads `t` instead. */
  const reader = (t: string, ops: string[], layer: string, test: (n: OnnxNode) => boolean = () => true, hint = ''): OnnxNode => {
    const all = unusedReaders(t);
    const hit = all.find((n) => ops.includes(n.op) && test(n));
    if (hit) return hit;
    const want = `layer ${layer} expects ${ops.join(' or ')} reading "${t}"${hint}`;
    const other = all.filter((n) => n.op !== 'Shape');
    if (other.length > 0) return fail(other[0], want);
    const made = producer.get(t);
    return fail(made, `${want}, but nothing more reads it${made ? '' : ' (the graph ends there)'}`);
  };
  const constant = (node: OnnxNode, i: number, what: string): OnnxTensor => {
    const name = node.inputs[i];
    const t = name ? d.constants.get(name) : undefined;
    if (!t) fail(node, `its ${what} (input ${i}) is not a constant in the file`);
    return t!;
  };
  const floats = (node: OnnxNode, i: number, what: string, dims: number[]): Float32Array => {
    const t = constant(node, i, what);
    if (!t.floats) fail(node, `its ${what} is not float32`);
    // A [1, n] bias is the same as [n].
    const got = t.dims.length === dims.length + 1 && t.dims[0] === 1 ? t.dims.slice(1) : t.dims;
    if (!same(got, dims)) fail(node, `its ${what} has shape ${fmt(t.dims)}; expected ${fmt(dims)}`);
    return t.floats!;
  };
  const ints = (node: OnnxNode, key: string, fallback: number[]): number[] => node.attrs.get(key)?.ints ?? fallback;
  const int = (node: OnnxNode, key: string, fallback: number): number => node.attrs.get(key)?.i ?? fallback;
  const expectAttr = (node: OnnxNode, key: string, got: number | number[], want: number | number[], layer: string): void => {
    const ok = Array.isArray(want) ? same(got as number[], want) : got === want;
    if (!ok) fail(node, `${key} ${JSON.stringify(got)}; layer ${layer} has ${JSON.stringify(want)}`);
  };
  /** Marks the shape arithmetic that computes `t` (e.g. Reshape's target) as used; refuses anything else. */
  const markShapeArithmetic = (t: string, owner: OnnxNode): void => {
    if (d.constants.has(t)) return;
    const n = producer.get(t);
    if (!n) fail(owner, `its input "${t}" is neither a constant nor computed in the graph`);
    if (used.has(n!)) return;
    if (!SHAPE_OPS.has(n!.op)) fail(n, `node ${owner.index} (${owner.op}) needs a shape from it, and ${n!.op} does not compute shapes`);
    used.add(n!);
    // A Shape node reads a feature map; what it reads is matched elsewhere.
    if (n!.op !== 'Shape') for (const i of n!.inputs) if (i) markShapeArithmetic(i, owner);
  };
  const take = (n: OnnxNode): string => {
    used.add(n);
    return n.outputs[0]!;
  };

  const values = new Map<string, { shape: number[]; data: Float32Array }>();
  const put = (name: string, shape: number[], data: Float32Array): void => {
    values.set(name, { shape, data });
  };
  const tensorOf = new Map<string, string>();
  // BN layers folded into the conv before them: the conv's bias, by BN layer name.
  const folded = new Map<string, Float32Array>();
  // Selections that PyTorch applies after the BN that follows them in our graph (Network Slimming's order).
  const pendingSelect = new Map<string, number[]>();
  const nodeByName = new Map(graph.nodes.map((n) => [n.name, n]));
  const readersOfOurs = (name: string): GraphNode[] =>
    graph.nodes.filter((n) => ('input' in n && n.input === name) || ('inputs' in n && n.inputs.includes(name)));
  const inShape = (n: GraphNode & { input: string }): NodeShape => shapes.get(n.input)!;

  for (const n of graph.nodes) {
    switch (n.kind) {
      case 'input': {
        if (d.inputs.length !== 1) {
          throw new CheckpointError(`${source}: the graph has ${d.inputs.length} inputs (${d.inputs.map((i) => i.name).join(', ')}); expected one image batch`, source);
        }
        const { name, dims } = d.inputs[0]!;
        const want = [graph.input.channels, graph.input.height, graph.input.width];
        if (dims.length !== 4 || dims.slice(1).some((v, i) => typeof v === 'number' && v !== want[i])) {
          throw new CheckpointError(`${source}: input "${name}" has shape ${fmt(dims)}; ${label} takes NCHW [batch, ${want.join(', ')}]`, source);
        }
        tensorOf.set(n.name, name);
        continue;
      }
      case 'conv': {
        const c = reader(tensorOf.get(n.input)!, ['Conv'], n.name);
        const w = floats(c, 1, 'weight', [n.outChannels, n.inChannels, n.kernel, n.kernel]);
        expectAttr(c, 'strides', ints(c, 'strides', [1, 1]), [n.stride, n.stride], n.name);
        expectAttr(c, 'pads', ints(c, 'pads', [0, 0, 0, 0]), [n.padding, n.padding, n.padding, n.padding], n.name);
        expectAttr(c, 'dilations', ints(c, 'dilations', [1, 1]), [1, 1], n.name);
        expectAttr(c, 'group', int(c, 'group', 1), 1, n.name);
        const autoPad = c.attrs.get('auto_pad')?.s;
        if (autoPad && autoPad !== 'NOTSET') fail(c, `auto_pad ${autoPad}; expected explicit pads`);
        // OIHW -> our [kh, kw, in, out].
        const k = n.kernel;
        const hwio = new Float32Array(w.length);
        for (let o = 0; o < n.outChannels; o++)
          for (let i = 0; i < n.inChannels; i++)
            for (let y = 0; y < k; y++) for (let x = 0; x < k; x++) hwio[((y * k + x) * n.inChannels + i) * n.outChannels + o] = w[((o * n.inChannels + i) * k + y) * k + x]!;
        put(`${n.name}.weight`, [k, k, n.inChannels, n.outChannels], hwio);
        const hasBias = (c.inputs[2] ?? '') !== '';
        if (n.bias) {
          put(`${n.name}.bias`, [n.outChannels], hasBias ? floats(c, 2, 'bias', [n.outChannels]) : new Float32Array(n.outChannels));
        } else if (hasBias) {
          const next = readersOfOurs(n.name);
          if (next.length !== 1 || next[0]!.kind !== 'bn') fail(c, `it has a bias, and layer ${n.name} has none (and no BN after it that PyTorch could have folded in)`);
          folded.set(next[0]!.name, floats(c, 2, 'bias', [n.outChannels]));
        }
        tensorOf.set(n.name, take(c));
        continue;
      }
      case 'bn': {
        const input = tensorOf.get(n.input)!;
        const bias = folded.get(n.name);
        if (bias) {
          put(`${n.name}.gamma`, [n.channels], new Float32Array(n.channels).fill(1));
          put(`${n.name}.beta`, [n.channels], bias);
          put(`${n.name}.mean`, [n.channels], new Float32Array(n.channels));
          put(`${n.name}.variance`, [n.channels], new Float32Array(n.channels).fill(1 - BN_EPSILON));
          tensorOf.set(n.name, input);
          continue;
        }
        const b = reader(input, ['BatchNormalization'], n.name);
        // A training-mode export normalises by the batch's statistics, not the running ones.
        if (int(b, 'training_mode', 0) !== 0 || b.outputs.filter((o) => o !== '').length > 1) {
          fail(b, 'it is a training-mode BatchNormalization; export the model after model.eval() (training=TrainingMode.PRESERVE or EVAL)');
        }
        const selection = pendingSelect.get(n.input);
        const gatherAfter = selection ? unusedReaders(b.outputs[0]!).find((r) => r.op === 'Gather') : undefined;
        // Without a Gather after it, the BN has our width; with one, the full width it selects from.
        const width = gatherAfter ? shapes.get((nodeByName.get(n.input) as GraphNode & { input: string }).input)![2] : n.channels;
        const params = ['scale', 'B', 'mean', 'var'].map((what, i) => floats(b, i + 1, `${what} input`, [width]));
        let out = take(b);
        let pick = (v: Float32Array): Float32Array => v;
        if (gatherAfter) {
          const idx = constant(gatherAfter, 1, 'indices').ints;
          if (int(gatherAfter, 'axis', 0) !== 1 || !idx || !same(idx, selection!)) {
            fail(gatherAfter, `layer ${n.input} selects channels ${fmt(selection!)} along axis 1; this node gathers ${fmt(idx ?? [])} along axis ${int(gatherAfter, 'axis', 0)}`);
          }
          pick = (v) => Float32Array.from(selection!, (i) => v[i]!);
          out = take(gatherAfter);
        } else if (selection && !selection.every((v, i) => v === i)) {
          fail(b, `layer ${n.input} selects channels ${fmt(selection)}, and no Gather follows this BN`);
        }
        const eps = b.attrs.get('epsilon')?.f ?? 1e-5;
        const [gamma, beta, mean, variance] = params.map(pick) as [Float32Array, Float32Array, Float32Array, Float32Array];
        put(`${n.name}.gamma`, [n.channels], gamma);
        put(`${n.name}.beta`, [n.channels], beta);
        put(`${n.name}.mean`, [n.channels], mean);
        // (x - mean) / sqrt(var + eps): another epsilon is the same function with var + eps - ours.
        put(`${n.name}.variance`, [n.channels], variance.map((v) => v + Math.fround(eps) - BN_EPSILON));
        tensorOf.set(n.name, out);
        continue;
      }
      case 'select': {
        const input = tensorOf.get(n.input)!;
        const g = unusedReaders(input).find((r) => r.op === 'Gather');
        if (g) {
          const idx = constant(g, 1, 'indices').ints;
          if (int(g, 'axis', 0) !== 1 || !idx || !same(idx, n.indices)) fail(g, `layer ${n.name} selects channels ${fmt(n.indices)} along axis 1; this node gathers ${fmt(idx ?? [])} along axis ${int(g, 'axis', 0)}`);
          tensorOf.set(n.name, take(g));
        } else {
          pendingSelect.set(n.name, n.indices);
          tensorOf.set(n.name, input);
        }
        continue;
      }
      case 'relu':
        tensorOf.set(n.name, take(reader(tensorOf.get(n.input)!, ['Relu'], n.name)));
        continue;
      case 'maxpool':
      case 'avgpool': {
        const [h] = inShape(n);
        const op = n.kind === 'maxpool' ? 'MaxPool' : 'AveragePool';
        const global = n.kind === 'avgpool' && n.size === h;
        const p = reader(tensorOf.get(n.input)!, global ? [op, 'GlobalAveragePool'] : [op], n.name);
        if (p.op === op) {
          expectAttr(p, 'kernel_shape', ints(p, 'kernel_shape', []), [n.size, n.size], n.name);
          // The stride only matters where the pool does not cover its whole input.
          if (!global) expectAttr(p, 'strides', ints(p, 'strides', [1, 1]), [n.stride, n.stride], n.name);
          expectAttr(p, 'pads', ints(p, 'pads', [0, 0, 0, 0]), [0, 0, 0, 0], n.name);
          expectAttr(p, 'ceil_mode', int(p, 'ceil_mode', 0), 0, n.name);
        }
        tensorOf.set(n.name, take(p));
        continue;
      }
      case 'flatten': {
        const [, , c] = inShape(n);
        const f = reader(tensorOf.get(n.input)!, ['Flatten', 'Reshape'], n.name);
        if (f.op === 'Flatten') {
          expectAttr(f, 'axis', int(f, 'axis', 1), 1, n.name);
        } else {
          const target = d.constants.get(f.inputs[1] ?? '');
          if (target) {
            const s = target.ints ?? [];
            if (s.length !== 2 || !(s[1] === -1 || s[1] === c)) fail(f, `reshapes to ${fmt(s)}; layer ${n.name} flattens to [batch, ${c}]`);
          } else {
            markShapeArithmetic(f.inputs[1] ?? '', f);
          }
        }
        tensorOf.set(n.name, take(f));
        continue;
      }
      case 'linear': {
        const g = reader(tensorOf.get(n.input)!, ['Gemm'], n.name);
        expectAttr(g, 'transA', int(g, 'transA', 0), 0, n.name);
        expectAttr(g, 'alpha', g.attrs.get('alpha')?.f ?? 1, 1, n.name);
        expectAttr(g, 'beta', g.attrs.get('beta')?.f ?? 1, 1, n.name);
        const transB = int(g, 'transB', 0) === 1;
        const w = floats(g, 1, 'weight', transB ? [n.outFeatures, n.inFeatures] : [n.inFeatures, n.outFeatures]);
        let io = w;
        if (transB) {
          io = new Float32Array(w.length);
          for (let o = 0; o < n.outFeatures; o++) for (let i = 0; i < n.inFeatures; i++) io[i * n.outFeatures + o] = w[o * n.inFeatures + i]!;
        }
        put(`${n.name}.weight`, [n.inFeatures, n.outFeatures], io);
        put(`${n.name}.bias`, [n.outFeatures], (g.inputs[2] ?? '') !== '' ? floats(g, 2, 'bias', [n.outFeatures]) : new Float32Array(n.outFeatures));
        tensorOf.set(n.name, take(g));
        continue;
      }
      case 'add': {
        const [a, b] = n.inputs.map((i) => tensorOf.get(i)!) as [string, string];
        const add = reader(a, ['Add'], n.name, (r) => r.inputs.length === 2 && new Set(r.inputs).size === new Set([a, b]).size && r.inputs.includes(a) && r.inputs.includes(b));
        tensorOf.set(n.name, take(add));
        continue;
      }
      case 'concat': {
        const ins = n.inputs.map((i) => tensorOf.get(i)!);
        const c = reader(ins[0]!, ['Concat'], n.name, (r) => same(r.inputs.map((x) => ins.indexOf(x)), ins.map((_, i) => i)));
        expectAttr(c, 'axis', int(c, 'axis', 0), 1, n.name);
        tensorOf.set(n.name, take(c));
        continue;
      }
      case 'shortcutA': {
        let x = tensorOf.get(n.input)!;
        const [h, , inC] = inShape(n);
        if (n.stride > 1) {
          // The l1-norm-pruning code's shortcut (torch.cat([x.data, zeros])) is traced as a constant: the pool is missing.
          const p = reader(x, ['AveragePool', 'MaxPool'], n.name, () => true, " (an option-A shortcut; PyTorch's exporter records the reference code's `x.data` shortcut as a constant: see prunebench import --help)");
          if (p.op === 'MaxPool') fail(p, `layer ${n.name} is an option-A shortcut: a ${n.stride}x${n.stride} average pool`);
          expectAttr(p, 'kernel_shape', ints(p, 'kernel_shape', []), [n.stride, n.stride], n.name);
          expectAttr(p, 'strides', ints(p, 'strides', [1, 1]), [n.stride, n.stride], n.name);
          expectAttr(p, 'pads', ints(p, 'pads', [0, 0, 0, 0]), [0, 0, 0, 0], n.name);
          x = take(p);
        }
        const extra = n.outChannels - inC;
        if (extra > 0) {
          const side = Math.floor(h / n.stride);
          const zerosOf = (r: OnnxNode): boolean => {
            const z = r.inputs[1] ?? '';
            const k = d.constants.get(z);
            if (k) return k.dims.length === 4 && k.dims[1] === extra && !!k.floats?.every((v) => v === 0);
            const m = producer.get(z);
            if (m?.op !== 'ConstantOfShape') return false;
            const value = m.attrs.get('value')?.t;
            return !value || !!(value.floats ?? value.ints)?.every((v) => v === 0);
          };
          const pad = reader(x, ['Pad', 'Concat'], n.name, (r) => (r.op === 'Pad' ? true : r.inputs.length === 2 && r.inputs[0] === x && zerosOf(r)));
          if (pad.op === 'Pad') {
            if (pad.inputs[1] && !d.constants.has(pad.inputs[1])) {
              fail(pad, `its pads are computed in the graph (F.pad with sizes from x.size()); layer ${n.name} needs constant pads, or the zeros concatenated (see prunebench import --help)`);
            }
            const pads = pad.inputs[1] ? constant(pad, 1, 'pads').ints : ints(pad, 'pads', []);
            expectAttr(pad, 'pads', pads ?? [], [0, 0, 0, 0, 0, extra, 0, 0], n.name);
            const mode = pad.attrs.get('mode')?.s ?? 'constant';
            const value = pad.inputs[2] ? constant(pad, 2, 'constant value').floats?.[0] : 0;
            if (mode !== 'constant' || value !== 0) fail(pad, `layer ${n.name} appends zero channels; this Pad is ${mode} with value ${value}`);
          } else {
            expectAttr(pad, 'axis', int(pad, 'axis', 0), 1, n.name);
            const z = pad.inputs[1]!;
            const k = d.constants.get(z);
            if (k && (k.dims[2] !== side || k.dims[3] !== side)) fail(pad, `its zeros are ${fmt(k.dims)}; layer ${n.name} appends [batch, ${extra}, ${side}, ${side}]`);
            if (!k) {
              const m = producer.get(z)!;
              used.add(m);
              markShapeArithmetic(m.inputs[0] ?? '', m);
            }
          }
          x = take(pad);
        }
        tensorOf.set(n.name, x);
        continue;
      }
    }
  }

  const output = tensorOf.get(graph.output)!;
  const outs = d.outputs.map(resolve);
  if (outs.length !== 1 || outs[0] !== output) {
    const made = producer.get(output);
    const next = unusedReaders(output)[0];
    fail(next ?? made, `the last layer, ${graph.output}, computes "${output}", but the graph's output is ${outs.map((o) => `"${o}"`).join(', ') || 'missing'}`);
  }
  const left = d.nodes.find((n) => !used.has(n));
  if (left) fail(left, `it is not part of ${label} (every layer is matched and this node is left over)`);
  return { values, foldedBatchNorms: [...folded.keys()], producer: d.producer, nodes: d.nodes.length };
}

export interface ImportOptions {
  /** The .onnx file. */
  file: string;
  /** A prunebench model name (vgg16, resnet56, ...). */
  model: string;
  /** Width multiplier of the model (as `--width` everywhere). */
  width?: number;
  numClasses?: number;
  /** The saved-model folder to write; must not exist. */
  out: string;
}

export interface ImportResult {
  out: string;
  model: string;
  width: number;
  params: number;
  foldedBatchNorms: string[];
  producer: string;
}

/** The model of an ONNX file, for `spec` (the weights mapped by structure). */
export function modelFromOnnx(bytes: Uint8Array, spec: ModelSpec, source: string, label?: string): { model: Model; weights: OnnxWeights } {
  const w = onnxWeightsForSpec(bytes, spec, source, label);
  const tensors = new Map([...w.values].map(([name, v]) => [name, tf.tensor(v.data, v.shape)]));
  try {
    return { model: Model.fromWeights(spec, tensors), weights: w };
  } catch (e) {
    if (e instanceof ModelError) throw new CheckpointError(`${source}: ${e.message}`, source);
    throw e;
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

/** `prunebench import --onnx`: an ONNX file to a saved-model folder (spec.json + weights). Inputs are checked before anything is written. */
export async function importOnnx(o: ImportOptions): Promise<ImportResult> {
  const width = o.width ?? 1;
  const spec = modelSpec(o.model, { widthMultiplier: width, ...(o.numClasses ? { numClasses: o.numClasses } : {}) });
  const existing = await stat(o.out).catch(() => undefined);
  if (existing) throw new ConfigError(`--out ${o.out} already exists; import writes a new saved-model folder and never replaces one`, 'out');
  let bytes: Uint8Array;
  try {
    bytes = await readFile(o.file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' || code === 'ENOTDIR' ? 'no such file' : code === 'EISDIR' ? 'a folder, not an .onnx file' : `cannot be read (${fsErrorReason(e)})`;
    throw new ConfigError(`--onnx ${o.file}: ${why}`, 'onnx');
  }
  const label = `${o.model}${width === 1 ? '' : ` at --width ${width}`}`;
  const { model, weights } = modelFromOnnx(bytes, spec, o.file, label);
  try {
    try {
      await saveModel(o.out, model, {
        importedFrom: { onnx: o.file, producer: weights.producer, ...(weights.foldedBatchNorms.length ? { foldedBatchNorms: weights.foldedBatchNorms } : {}) },
      });
    } catch (e) {
      throw new ConfigError(`--out ${o.out}: cannot write (${fsErrorReason(e)})`, 'out');
    }
    const params = model.paramInfo.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
    return { out: o.out, model: spec.name, width, params, foldedBatchNorms: weights.foldedBatchNorms, producer: weights.producer };
  } finally {
    model.dispose();
  }
}
