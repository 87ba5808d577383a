import type { LatencyRuntime, Protocol } from '../results/columns.ts';
import { BASELINE_PHASE, FINETUNE_PHASE, type Arm, type DataConfig, type ExperimentConfig, type ExperimentDef, type PhaseConfig, type PresetName, PRESETS } from './config.ts';
export type { Arm, ExperimentDef };

/**
 * Shorthand for declaring experiments: arms in the paper's terms, plus what each preset
 * changes. The result is plain typed data (ExperimentDef), resolved once and frozen by the runner.
 */
export type ArmSpec = Omit<Arm, 'minChannels' | 'sparsity' | 'ratioStyle' | 'granularity' | 'criterion'> & Partial<Pick<Arm, 'minChannels' | 'sparsity' | 'ratioStyle' | 'granularity' | 'criterion'>>;

export function arm(a: ArmSpec): Arm {
  const structured = !['magnitude', 'vector'].includes(a.method);
  return {
    sparsity: a.method === 'slimming',
    ratioStyle: a.method === 'slimming' || a.method === 'reconstruction' ? 'automatic' : 'predefined',
    granularity: a.method === 'magnitude' ? 'weight' : a.method === 'vector' ? 'vector' : a.method === 'block' ? 'layer' : 'channel',
    criterion: a.method === 'slimming' ? 'bn-gamma' : a.method === 'block' ? 'bn-gamma' : a.method === 'vector' ? 'l1' : (a.method as Arm['criterion']),
    minChannels: structured ? 1 : 0,
    ...a,
  };
}

export interface PresetSpec {
  data: DataConfig;
  widthMultiplier: number;
  /** Per-model widths replacing `widthMultiplier` (see ExperimentConfig.modelWidths). */
  modelWidths?: Record<string, number>;
  baseline: Partial<PhaseConfig>;
  fineTune: Partial<PhaseConfig>;
  seeds: number[];
  /** Arms of this preset (default: all). */
  armIds?: string[];
  /** Network Slimming's lambda for this preset (default: the experiment's, i.e. the paper's). */
  sparsityLambda?: { vgg: number; other: number };
}

/** Smoke: seconds, synthetic data, tiny widths, one epoch. Used by the tests. */
export const SMOKE_PRESET: PresetSpec = {
  data: { dataset: 'synthetic', trainSubset: 0, testSubset: 0, synthetic: { trainCount: 64, testCount: 32, imageSize: 32 } },
  widthMultiplier: 1 / 16,
  baseline: { epochs: 1, batchSize: 32 },
  fineTune: { epochs: 1, batchSize: 32 },
  seeds: [1],
};

export function defineExperiment(opts: {
  name: string;
  description: string;
  arms: Arm[];
  presets: Record<PresetName, PresetSpec>;
  /** Fine-tuning protocol of the paper preset (Rethinking: 40 epochs at lr 0.001). */
  sparsityLambda?: { vgg: number; other: number };
  /** Runtimes every preset's cells also time their models on (ExperimentConfig.latencyRuntimes). */
  latencyRuntimes?: LatencyRuntime[];
}): ExperimentDef {
  const resolve = (preset: PresetName): ExperimentConfig => {
    const p = opts.presets[preset];
    const arms = p.armIds ? opts.arms.filter((a) => p.armIds!.includes(a.id)) : opts.arms;
    return {
      experiment: opts.name,
      preset,
      description: opts.description,
      data: p.data,
      widthMultiplier: p.widthMultiplier,
      ...(p.modelWidths ? { modelWidths: { ...p.modelWidths } } : {}),
      baseline: { ...BASELINE_PHASE, ...p.baseline },
      fineTune: { ...FINETUNE_PHASE, ...p.fineTune },
      sparsityLambda: p.sparsityLambda ?? opts.sparsityLambda ?? { vgg: 1e-4, other: 1e-5 },
      seeds: p.seeds,
      arms,
      ...(opts.latencyRuntimes?.length ? { latencyRuntimes: [...opts.latencyRuntimes] } : {}),
    };
  };
  const presets = Object.fromEntries(PRESETS.map((p) => [p, resolve(p)])) as Record<PresetName, ExperimentConfig>;
  return { name: opts.name, description: opts.description, presets };
}

export const RETHINKING_PROTOCOLS: Protocol[] = ['fine-tune', 'scratch-E', 'scratch-B'];
