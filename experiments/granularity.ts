import { arm, defineExperiment, SMOKE_PRESET, type Arm } from '../src/protocols/define.ts';
import type { BudgetTarget } from '../src/pruning/index.ts';
import type { LatencyRuntime } from '../src/results/index.ts';
import { CPU_PRESET, PAPER_PRESET, SMALL_PRESET } from './presets.ts';

/**
 * The tradeoff study, granularities (issue 30): the design notes' taxonomy on ResNet-56, whose
 * residual blocks make all four levels possible, at matched parameter compression 2x / 4x / 8x
 * (exact targets; non-zero parameters for masks), each fine-tuned with the same budget:
 * - weight (unstructured): global magnitude and LAMP;
 * - vector: 1x1xC kernel fibres by their mean |w| (global magnitude pooled over fibres), one
 *   global threshold. Their plain L1 norm (the `l1` fibre criterion) grows with Cin, so one
 *   threshold removed ~95% of the first stage's fibres at 2x (seed 1, superseded: see
 *   results/granularity/superseded/README.md);
 * - channel: L1 filter norms, layerwise and global;
 * - layer: whole residual blocks (block removal).
 * The prune and fine-tune cells measure each model's inference latency (batch 1 and 64, compacted
 * where the structure allows, masked dense otherwise) against the unpruned model, on their own
 * backend and on every one of GRANULARITY_LATENCY_RUNTIMES: prunebench's onednn and wasm, and
 * ONNX Runtime (CPU, 1 thread) as the existing library of the seed's claim that only layer and
 * channel pruning speed up without special kernels.
 */
export const GRANULARITY_LATENCY_RUNTIMES: LatencyRuntime[] = ['onednn', 'wasm', 'ort'];
export const GRANULARITY_COMPRESSIONS = [2, 4, 8] as const;

export function granularityArms(model: string, compressions: readonly number[] = GRANULARITY_COMPRESSIONS): Arm[] {
  const arms: Arm[] = [];
  for (const value of compressions) {
    const target: BudgetTarget = { kind: 'compression', value };
    const at = (id: string, a: Omit<Parameters<typeof arm>[0], 'id' | 'model' | 'pruneRatio' | 'protocols' | 'target'>): Arm =>
      arm({ id: `${model}-${id}-c${value}`, model, pruneRatio: 0, protocols: ['fine-tune'], target, ...a });
    arms.push(
      at('weight-magnitude', { method: 'magnitude', criterion: 'magnitude', scope: 'global' }),
      at('weight-lamp', { method: 'magnitude', criterion: 'lamp', scope: 'global' }),
      at('vector-magnitude', { method: 'vector', criterion: 'magnitude', scope: 'global' }),
      at('channel-l1-layerwise', { method: 'l1', scope: 'layerwise' }),
      at('channel-l1-global', { method: 'l1', scope: 'global' }),
      at('layer-block', { method: 'block' }),
    );
  }
  return arms;
}

const RESNET = granularityArms('resnet56');

export default defineExperiment({
  name: 'granularity',
  description: 'Tradeoff study: weight (magnitude, LAMP), vector, channel (l1 layerwise/global) and layer (block) pruning of ResNet-56 at parameter compression 2x/4x/8x (exact), fine-tuned; measured latency per granularity',
  arms: RESNET,
  latencyRuntimes: GRANULARITY_LATENCY_RUNTIMES,
  presets: {
    smoke: { ...SMOKE_PRESET, armIds: ['resnet56-weight-lamp-c2', 'resnet56-channel-l1-global-c2', 'resnet56-layer-block-c2'] },
    small: { ...SMALL_PRESET, seeds: [1, 2, 3], armIds: RESNET.filter((a) => a.id.endsWith('-c2') || a.id.endsWith('-c4')).map((a) => a.id) },
    cpu: { ...CPU_PRESET },
    paper: PAPER_PRESET,
  },
});
