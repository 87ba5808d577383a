import * as tf from '@tensorflow/tfjs-core';
import { compileGraph, inferShapes, Model, type ModelSpec, type NamedWeights } from '../models/index.ts';
import { PlanError } from '../util/errors.ts';
import { prunableGroups } from './groups.ts';
import { validatePlan, type KeepPlan } from './plan.ts';

/** The smaller spec a plan describes: kept widths written back into the family's cfg. */
export function compactSpec(spec: ModelSpec, planIn: KeepPlan): ModelSpec {
  const graph = compileGraph(spec);
  const plan = validatePlan(graph, planIn);
  const shapes = inferShapes(graph);
  const selectIndices = new Map<string, { indices: number[]; inputChannels: number }>();
  for (const n of graph.nodes) {
    if (n.kind === 'select') selectIndices.set(n.name, { indices: n.indices, inputChannels: shapes.get(n.input)![2] });
  }
  const width = (id: string): number => plan.groups[id]!.length;
  // New selection = the old selection's kept positions; all channels in order is stored as null.
  const select = (id: string): number[] | null => {
    const { indices, inputChannels } = selectIndices.get(id)!;
    const kept = plan.groups[id]!.map((k) => indices[k]!);
    return kept.length === inputChannels && kept.every((v, i) => v === i) ? null : kept;
  };
  const unhandled = (id: string): never => {
    throw new PlanError(`No rule maps channel group ${id} back into a ${spec.family} spec`, id);
  };
  const next = structuredClone(spec);
  for (const id of Object.keys(plan.groups)) {
    let m: RegExpMatchArray | null;
    switch (next.family) {
      case 'vgg': {
        m = id.match(/^features\.(\d+)\.conv$/);
        if (!m) unhandled(id);
        let convIndex = -1;
        next.cfg = next.cfg.map((c) => (c === 'M' ? c : ++convIndex === Number(m![1]) ? width(id) : c));
        break;
      }
      case 'resnet':
        m = id.match(/^layer(\d+)\.(\d+)\.conv1$/);
        if (!m) unhandled(id);
        next.stages[Number(m![1]) - 1]!.blocks[Number(m![2])] = width(id);
        break;
      case 'preresnet':
        if (id === 'select') {
          next.finalSelect = select(id);
          break;
        }
        m = id.match(/^layer(\d+)\.(\d+)\.(conv1|conv2|select)$/);
        if (!m) unhandled(id);
        {
          const block = next.stages[Number(m![1]) - 1]!.blocks[Number(m![2])]!;
          if (m![3] === 'select') block.select = select(id);
          else block[m![3] as 'conv1' | 'conv2'] = width(id);
        }
        break;
      case 'densenet':
        if (id === 'final.select') {
          next.finalSelect = select(id);
          break;
        }
        m = id.match(/^(?:dense(\d+)\.(\d+)|trans(\d+))\.select$/);
        if (!m) unhandled(id);
        if (m![1] !== undefined) next.blocks[Number(m![1]) - 1]![Number(m![2])]!.select = select(id);
        else next.transitions[Number(m![3]) - 1]!.select = select(id);
        break;
    }
  }
  return next;
}

/** Copy the kept slices of every weight whose axes lie in a pruned group. */
export function sliceWeights(model: Model, plan: KeepPlan): NamedWeights {
  const groups = prunableGroups(model.graph);
  const slices = new Map<string, [number, number[]][]>();
  for (const g of groups) {
    const keep = plan.groups[g.id]!;
    if (keep.length === g.channels) continue;
    for (const [name, axis] of g.weightAxes) slices.set(name, [...(slices.get(name) ?? []), [axis, keep]]);
  }
  const out: NamedWeights = new Map();
  for (const [name, value] of model.namedWeights()) {
    const todo = slices.get(name);
    if (!todo) {
      out.set(name, value.clone());
      continue;
    }
    out.set(
      name,
      tf.tidy(() => todo.reduce<tf.Tensor>((t, [axis, keep]) => tf.gather(t, tf.tensor1d(keep, 'int32'), axis), value)),
    );
  }
  return out;
}

/**
 * Physically smaller model: the plan's spec with weights copied from the kept slices (conv
 * filters, BN gamma/beta/mean/variance, input channels of every consumer). The input model is
 * not changed.
 */
export function compactModel(model: Model, planIn: KeepPlan): Model {
  const plan = validatePlan(model.graph, planIn);
  const spec = compactSpec(model.spec, plan);
  const weights = sliceWeights(model, plan);
  try {
    return Model.fromWeights(spec, weights);
  } finally {
    for (const t of weights.values()) t.dispose();
  }
}

/**
 * The same architecture with the pruned channels zeroed: the BN scale and shift of every pruned
 * channel (so the channel outputs exactly zero after the BN) and a pruned conv's filters.
 * Equal outputs to compactModel in inference mode is the surgery's central property.
 */
export function maskedModel(model: Model, planIn: KeepPlan): Model {
  const plan = validatePlan(model.graph, planIn);
  const weights = new Map<string, tf.Tensor>();
  for (const [name, value] of model.namedWeights()) weights.set(name, value.clone());
  const zeroAlong = (name: string, axis: number, keep: number[]): void => {
    const old = weights.get(name)!;
    const size = old.shape[axis]!;
    const maskValues = new Float32Array(size);
    for (const k of keep) maskValues[k] = 1;
    const shape = old.shape.map((_, i) => (i === axis ? size : 1));
    weights.set(name, tf.tidy(() => tf.mul(old, tf.tensor(maskValues, shape))));
    old.dispose();
  };
  for (const g of prunableGroups(model.graph)) {
    const keep = plan.groups[g.id]!;
    if (keep.length === g.channels) continue;
    if (g.bns.length === 0) {
      throw new PlanError(`Channel group ${g.id} has no BN layer, so it cannot be masked`, g.id);
    }
    for (const bn of g.bns) {
      zeroAlong(`${bn}.gamma`, 0, keep);
      zeroAlong(`${bn}.beta`, 0, keep);
    }
    if (g.producerKind === 'conv') zeroAlong(`${g.id}.weight`, 3, keep);
  }
  try {
    return Model.fromWeights(model.spec, weights);
  } finally {
    for (const t of weights.values()) t.dispose();
  }
}
