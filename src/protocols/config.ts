import type { BudgetTarget, Criterion, GlobalNorm, GradualOptions, Scope, ThresholdRule, VectorCriterion, WeightCriterion } from '../pruning/index.ts';
import { defaultScope, type Granularity, type LatencyRuntime, type Method, type Protocol, type RatioStyle } from '../results/columns.ts';
import type { LrSchedule } from '../train/index.ts';

import { isPreset, PRESETS, type PresetName } from './preset-names.ts';
export { isPreset, PRESETS, type PresetName };

export interface DataConfig {
  /** cifar10 | cifar100 | synthetic (in-memory; only for smoke presets and tests). */
  dataset: 'cifar10' | 'cifar100' | 'synthetic';
  /** Class-balanced training subset size (0 = the whole training set). */
  trainSubset: number;
  /** Class-balanced test subset size (0 = the whole test set). */
  testSubset: number;
  /** Size of the synthetic set's images and counts (dataset 'synthetic' only). */
  synthetic?: { trainCount: number; testCount: number; imageSize: number };
}

/** One training phase (baseline, fine-tune, ...). */
export interface PhaseConfig {
  epochs: number;
  lr: number;
  schedule: LrSchedule;
  batchSize: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  augment: boolean;
}

/** One pruned model of an experiment: a model, a method and its ratio, and what to run on it. */
export interface Arm {
  id: string;
  model: string;
  method: Method;
  /**
   * Channel criterion, weight criterion (magnitude, lamp, grad-magnitude: weight granularity),
   * fibre criterion (l1, magnitude: vector granularity), or the method's own ranking.
   */
  criterion: Criterion | WeightCriterion | VectorCriterion | 'reconstruction' | 'none';
  granularity: Granularity;
  ratioStyle: RatioStyle;
  /** A published profile (Li et al. A/B); otherwise `pruneRatio` applies uniformly or globally. */
  profile?: string;
  pruneRatio: number;
  /** Network Slimming: the baseline is trained with the L1 penalty on BN gammas. */
  sparsity: boolean;
  /** Protocols run after pruning (fine-tune, scratch-E, scratch-B, lottery-ticket, uniform-scratch, iterative). */
  protocols: Protocol[];
  minChannels: number;
  /** iterative: number of prune-fine-tune rounds to reach the target. */
  iterativeRounds?: number;
  /** gradual (AGP): mask updates, the fraction of the steps they span, s_i; left out = GRADUAL_DEFAULTS. */
  gradual?: Partial<GradualOptions>;
  /**
   * slimming: how the global |gamma| threshold is placed; left out = 'floor' (floor(ratio x total)
   * channels pruned), 'reference' = the reference scripts' rule (one more). See THRESHOLD_RULES.
   */
  thresholdRule?: ThresholdRule;
  /** Channel criteria: layerwise (default) or global ranking; masks: global (default) or layerwise. */
  scope?: Scope;
  /** An exact budget (MACs or parameter ratio) searched instead of `pruneRatio` (which must then be 0). */
  target?: BudgetTarget;
  /** Global channel scope: per-layer score normalisation (default DEFAULT_GLOBAL_NORM, 'mean'). */
  globalNorm?: GlobalNorm;
  /** Channel criteria: no group loses more than this fraction (default 1). */
  maxLayerRatio?: number;
  /** Criteria that read data: batches of 64 training images (default 8). */
  calibrationBatches?: number;
}

/**
 * The scope recorded for an arm: its own, or what its method does (channel criteria layerwise,
 * slimming and masks global; block removal and reconstruction have none).
 */
export function armScope(arm: Pick<Arm, 'method' | 'scope'>): Scope | 'none' {
  return arm.scope ?? defaultScope(arm.method);
}

/**
 * Methods the gradual protocol can schedule: weight and fibre magnitude masks, and channels by a
 * filter criterion at predefined (uniform or profile) ratios. Network Slimming's global threshold,
 * reconstruction and block removal choose their units by other rules and are refused.
 */
export const GRADUAL_METHODS = ['magnitude', 'vector', 'l1', 'l2', 'random'] as const;

export interface ExperimentConfig {
  experiment: string;
  preset: PresetName;
  description: string;
  data: DataConfig;
  /** Scales every width of the named models (the reduced-width networks of `small`). */
  widthMultiplier: number;
  /** Per-model width multipliers that replace `widthMultiplier` for those models (`cpu`: VGG at 1/4, ResNet-56 at 1/2). */
  modelWidths?: Record<string, number>;
  baseline: PhaseConfig;
  fineTune: PhaseConfig;
  /** Network Slimming's lambda per model family (1e-4 VGG, 1e-5 ResNet/DenseNet). */
  sparsityLambda: { vgg: number; other: number };
  seeds: number[];
  arms: Arm[];
  /**
   * Runtimes on which every cell after the baselines also times its final model against the
   * unpruned one (batch-1 latency, batch-64 throughput), besides its own backend: see
   * LATENCY_RUNTIMES. Absent or empty: only the cell's backend. Not part of any baseline's hash.
   */
  latencyRuntimes?: LatencyRuntime[];
}

export interface ExperimentDef {
  name: string;
  /** The paper table or claim it reproduces. */
  description: string;
  presets: Record<PresetName, ExperimentConfig>;
}

export const BASELINE_PHASE: PhaseConfig = { epochs: 160, lr: 0.1, schedule: { kind: 'step' }, batchSize: 64, momentum: 0.9, nesterov: false, weightDecay: 1e-4, augment: true };
export const FINETUNE_PHASE: PhaseConfig = { ...BASELINE_PHASE, epochs: 40, lr: 0.001, schedule: { kind: 'constant' } };

/** The width multiplier a model of this config is built at. */
export function widthOf(c: Pick<ExperimentConfig, 'widthMultiplier' | 'modelWidths'>, model: string): number {
  return c.modelWidths?.[model] ?? c.widthMultiplier;
}

/** "vgg16 x0.25, resnet56 x0.5": the width of each model the arms use, for summaries and listings. */
export function widthsLabel(c: Pick<ExperimentConfig, 'widthMultiplier' | 'modelWidths' | 'arms'>): string {
  return [...new Set(c.arms.map((a) => a.model))].map((m) => `${m} x${widthOf(c, m)}`).join(', ');
}

/** Iterative pruning's rounds (default 3) and the fine-tuning epochs of each: the fine-tune budget split evenly, at least 1. */
export function iterativeSchedule(arm: Pick<Arm, 'iterativeRounds'>, fineTuneEpochs: number): { rounds: number; epochsPerRound: number } {
  const rounds = arm.iterativeRounds ?? 3;
  return { rounds, epochsPerRound: Math.max(1, Math.floor(fineTuneEpochs / rounds)) };
}
