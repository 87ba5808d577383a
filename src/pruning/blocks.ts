import * as tf from '@tensorflow/tfjs-core';
import { compileGraph, Model, type ModelSpec, type NamedWeights, type PreResNetSpec, type ResNetSpec } from '../models/index.ts';
import { ConfigError, PlanError } from '../util/errors.ts';

/**
 * Layer granularity: remove whole residual blocks, giving a shallower ResNet / PreResNet.
 * A block whose shortcut is the identity computes x + f(x); removing it leaves x, so a block
 * scored by the scale of its branch's last BN can go without touching any other layer. Blocks
 * that change the stream's shape (stride 2 or a width change: an option-A shortcut or a
 * downsample conv) cannot be removed.
 */
export interface BlockScore {
  /** Positional block name, e.g. `layer2.3`. */
  block: string;
  /** 1-based stage number (the `2` of `layer2.3`). */
  stage: number;
  /** 0-based block index inside the stage. */
  index: number;
  /** L1 norm of the gamma of the block's last BN (ResNet `bn2`, PreResNet `bn3`). */
  score: number;
  removable: boolean;
  reason?: string;
}

type BlockSpec = ResNetSpec | PreResNetSpec;

function blockSpec(spec: ModelSpec): BlockSpec {
  if (spec.family !== 'resnet' && spec.family !== 'preresnet') {
    throw new PlanError(`Block removal needs a ResNet or PreResNet, but model ${spec.name} is a ${spec.family}`);
  }
  return spec;
}

function stageBlockCounts(spec: BlockSpec): number[] {
  return spec.stages.map((s) => s.blocks.length);
}

/** Every block's removability, read from the graph: a shortcut or downsample node means a shape change. */
function blockFacts(model: Pick<Model, 'spec' | 'graph'>): { block: string; stage: number; index: number; removable: boolean; reason?: string }[] {
  const spec = blockSpec(model.spec);
  const names = new Set(model.graph.nodes.map((n) => n.name));
  const out: { block: string; stage: number; index: number; removable: boolean; reason?: string }[] = [];
  stageBlockCounts(spec).forEach((count, s) => {
    for (let b = 0; b < count; b++) {
      const block = `layer${s + 1}.${b}`;
      const changer = [`${block}.shortcut`, `${block}.downsample`].find((n) => names.has(n));
      out.push({
        block,
        stage: s + 1,
        index: b,
        removable: changer === undefined,
        ...(changer !== undefined ? { reason: `changes the stream's shape (has ${changer})` } : {}),
      });
    }
  });
  return out;
}

function lastBn(spec: BlockSpec, block: string): string {
  return spec.family === 'resnet' ? `${block}.bn2` : `${block}.bn3`;
}

/** One score per block: the L1 norm of the gamma of the block's last BN. */
export function blockImportance(model: Model): BlockScore[] {
  const spec = blockSpec(model.spec);
  return blockFacts(model).map((f) => {
    const gamma = model.param(`${lastBn(spec, f.block)}.gamma`);
    const score = tf.tidy(() => tf.sum(tf.abs(gamma)).dataSync()[0]!);
    return { ...f, score };
  });
}

/**
 * The lowest-scoring removable blocks, `count` of them or `ratio` x (all blocks), rounded down.
 * Never removes the last block of a stage. Ties go to the earlier block. Returned in network order.
 */
export function selectBlocksToRemove(scores: BlockScore[], opts: { count?: number; ratio?: number }): string[] {
  if ((opts.count === undefined) === (opts.ratio === undefined)) {
    throw new ConfigError('selectBlocksToRemove needs exactly one of count and ratio', opts.count === undefined ? '--prune-ratio' : 'count');
  }
  let count: number;
  if (opts.ratio !== undefined) {
    const r = opts.ratio;
    if (!(Number.isFinite(r) && r >= 0 && r < 1)) {
      throw new ConfigError(`Expected --prune-ratio to be a fraction in [0, 1) (the fraction of blocks removed), but got ${r}`, '--prune-ratio');
    }
    count = Math.floor(r * scores.length);
  } else {
    count = opts.count!;
    if (!(Number.isInteger(count) && count >= 0)) {
      throw new ConfigError(`Expected the number of blocks to remove to be a non-negative integer, but got ${count}`, 'count');
    }
  }
  const left = new Map<number, number>();
  for (const s of scores) left.set(s.stage, (left.get(s.stage) ?? 0) + 1);
  const order = scores
    .map((s, i) => ({ s, i }))
    .filter(({ s }) => s.removable)
    .sort((a, b) => a.s.score - b.s.score || a.i - b.i);
  const chosen = new Set<number>();
  for (const { s, i } of order) {
    if (chosen.size === count) break;
    if (left.get(s.stage)! <= 1) continue;
    left.set(s.stage, left.get(s.stage)! - 1);
    chosen.add(i);
  }
  if (chosen.size < count) {
    throw new ConfigError(
      `Asked to remove ${count} blocks, but only ${chosen.size} can go (shape-changing blocks and the last block of each stage stay)`,
      opts.ratio !== undefined ? '--prune-ratio' : 'count',
    );
  }
  return [...chosen].sort((a, b) => a - b).map((i) => scores[i]!.block);
}

/**
 * A shallower model: the listed blocks dropped from the spec, every remaining weight copied under
 * its new positional name (`layer2.5.*` becomes `layer2.4.*` once `layer2.3` is gone). The input
 * model is not changed.
 */
export function removeBlocks(model: Model, blocks: string[]): Model {
  const spec = blockSpec(model.spec);
  const facts = new Map(blockFacts(model).map((f) => [f.block, f]));
  const removed = new Map<number, Set<number>>(); // stage (1-based) -> removed indices
  for (const block of blocks) {
    const f = facts.get(block);
    if (!f) {
      throw new PlanError(`Model ${spec.name} has no residual block ${block}; blocks are named layer<stage>.<index>, e.g. layer1.0`, block);
    }
    if (!f.removable) throw new PlanError(`Block ${block} of ${spec.name} cannot be removed: it ${f.reason}`, block);
    const set = removed.get(f.stage) ?? new Set<number>();
    if (set.has(f.index)) throw new PlanError(`Block ${block} is listed twice for removal`, block);
    set.add(f.index);
    removed.set(f.stage, set);
  }
  const counts = stageBlockCounts(spec);
  for (const [stage, set] of removed) {
    if (set.size >= counts[stage - 1]!) throw new PlanError(`Removing ${[...set].map((b) => `layer${stage}.${b}`).join(', ')} would empty stage ${stage}`, `layer${stage}`);
  }
  // Old index -> new index per stage (undefined = removed).
  const newIndex = counts.map((n, s) => {
    const gone = removed.get(s + 1) ?? new Set<number>();
    let next = 0;
    return Array.from({ length: n }, (_, b) => (gone.has(b) ? undefined : next++));
  });
  const next = structuredClone(spec);
  const keepBlock = (s: number) => (_: unknown, b: number): boolean => !removed.get(s + 1)?.has(b);
  if (next.family === 'resnet') next.stages.forEach((st, s) => (st.blocks = st.blocks.filter(keepBlock(s))));
  else next.stages.forEach((st, s) => (st.blocks = st.blocks.filter(keepBlock(s))));
  const weights: NamedWeights = new Map();
  for (const [name, value] of model.namedWeights()) {
    const m = name.match(/^layer(\d+)\.(\d+)\.(.+)$/);
    if (!m) {
      weights.set(name, value);
      continue;
    }
    const to = newIndex[Number(m[1]) - 1]![Number(m[2])];
    if (to !== undefined) weights.set(`layer${m[1]}.${to}.${m[3]}`, value);
  }
  // fromWeights copies, so the input model's tensors are only read.
  return Model.fromWeights(next, weights);
}

/**
 * How many blocks block removal could take out of a spec: the removable ones, less one per stage
 * (the last block of a stage stays). 0 for families without residual blocks.
 */
export function removableBlockCount(spec: ModelSpec): { total: number; removable: number } {
  if (spec.family !== 'resnet' && spec.family !== 'preresnet') return { total: 0, removable: 0 };
  const facts = blockFacts({ spec, graph: compileGraph(spec) });
  let removable = 0;
  for (const stage of new Set(facts.map((f) => f.stage))) {
    const inStage = facts.filter((f) => f.stage === stage);
    removable += Math.min(inStage.filter((f) => f.removable).length, inStage.length - 1);
  }
  return { total: facts.length, removable };
}
