// The model modules themselves, not models/index.ts: that would load TensorFlow.js (Model), and
// `prunebench models` and `inspect` count without it.
import { inferShapes, nodeInputs, type ModelGraph, type NodeKind } from '../models/graph.ts';
import { graphParams } from '../models/params.ts';
import { compileGraph } from '../models/registry.ts';
import type { ModelSpec } from '../models/spec.ts';

/**
 * One counter for every protocol.
 * - params: trainable parameters (conv and linear weights and biases, BN gamma and beta); BN
 *   running statistics are buffers and never counted. `paramsWithoutBn` drops BN gamma/beta.
 *   Li et al. and Network Slimming quote counts that include BN (they count model.parameters()).
 * - macs: multiply-accumulates of conv and linear layers for one image (forward); BN, ReLU,
 *   pooling, additions are not counted, as in the papers.
 * - flops = 2 x macs. Li et al. call MACs "FLOPs"; Network Slimming's 7.97e8 "FLOPs" for VGG-19
 *   is 2 x MACs. We always label which one a number is.
 * - *Effective counts only count non-zero weights (masked / unstructured models).
 */
export interface LayerCount {
  name: string;
  kind: NodeKind;
  inChannels: number;
  outChannels: number;
  outHeight: number;
  outWidth: number;
  params: number;
  macs: number;
  paramsEffective: number;
  macsEffective: number;
}

export interface ModelCount {
  model: string;
  params: number;
  paramsWithoutBn: number;
  macs: number;
  flops: number;
  paramsEffective: number;
  macsEffective: number;
  layers: LayerCount[];
}

export interface CountOptions {
  /** Non-zero entries per weight name (e.g. `features.0.conv.weight`), for masked models. */
  nonZero?: Map<string, number>;
}

const REPORTED_KINDS: ReadonlySet<NodeKind> = new Set(['conv', 'bn', 'linear', 'maxpool', 'avgpool', 'select', 'shortcutA', 'add', 'concat']);

export function countGraph(graph: ModelGraph, modelName: string, opts: CountOptions = {}): ModelCount {
  const shapes = inferShapes(graph);
  const params = graphParams(graph);
  const byNode = new Map<string, typeof params>();
  for (const p of params) byNode.set(p.node, [...(byNode.get(p.node) ?? []), p]);
  const layers: LayerCount[] = [];
  let total = 0;
  let totalNoBn = 0;
  let totalEff = 0;
  let macs = 0;
  let macsEff = 0;
  for (const node of graph.nodes) {
    if (!REPORTED_KINDS.has(node.kind)) continue;
    const [h, w, c] = shapes.get(node.name)!;
    const inputs = nodeInputs(node);
    const inC = inputs.reduce((n, i) => n + shapes.get(i)![2], 0);
    let nParams = 0;
    let nEff = 0;
    let weightSize = 0;
    let weightNonZero = 0;
    for (const p of byNode.get(node.name) ?? []) {
      if (!p.trainable) continue;
      const size = p.shape.reduce((a, b) => a * b, 1);
      const nz = Math.min(size, opts.nonZero?.get(p.name) ?? size);
      nParams += size;
      nEff += nz;
      if (p.field === 'weight') {
        weightSize = size;
        weightNonZero = nz;
      }
      if (!p.isBn) totalNoBn += size;
    }
    let layerMacs = 0;
    let layerMacsEff = 0;
    if (node.kind === 'conv') {
      layerMacs = weightSize * h * w;
      layerMacsEff = weightNonZero * h * w;
    } else if (node.kind === 'linear') {
      layerMacs = weightSize;
      layerMacsEff = weightNonZero;
    }
    total += nParams;
    totalEff += nEff;
    macs += layerMacs;
    macsEff += layerMacsEff;
    layers.push({
      name: node.name,
      kind: node.kind,
      inChannels: inC,
      outChannels: c,
      outHeight: h,
      outWidth: w,
      params: nParams,
      macs: layerMacs,
      paramsEffective: nEff,
      macsEffective: layerMacsEff,
    });
  }
  return {
    model: modelName,
    params: total,
    paramsWithoutBn: totalNoBn,
    macs,
    flops: 2 * macs,
    paramsEffective: totalEff,
    macsEffective: macsEff,
    layers,
  };
}

export function countSpec(spec: ModelSpec, opts: CountOptions = {}): ModelCount {
  return countGraph(compileGraph(spec), spec.name, opts);
}

/** Percent removed: 100 * (1 - after / before). */
export function reductionPct(before: number, after: number): number {
  return before === 0 ? 0 : 100 * (1 - after / before);
}
