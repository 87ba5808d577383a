import { FASHION_MNIST_SCOPE } from '../data/index.ts';
import { modelSpec } from '../models/index.ts';
import { checkMethodApplies, findProfile, resolveProfile, THRESHOLD_RULES, validateThresholdRule, type Criterion, type ThresholdRule } from '../pruning/index.ts';
import type { Granularity, Method, Protocol, RatioStyle } from '../results/index.ts';
import type { LrSchedule } from '../train/index.ts';
import { ConfigError } from '../util/errors.ts';

export const PRESETS = ['smoke', 'small', 'cpu', 'paper'] as const;
export type PresetName = (typeof PRESETS)[number];

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
  criterion: Criterion | 'magnitude' | 'reconstruction' | 'none';
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
  /**
   * slimming: how the global |gamma| threshold is placed; left out = 'floor' (floor(ratio x total)
   * channels pruned), 'reference' = the reference scripts' rule (one more). See THRESHOLD_RULES.
   */
  thresholdRule?: ThresholdRule;
}

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

export function isPreset(p: string): p is PresetName {
  return (PRESETS as readonly string[]).includes(p);
}

/**
 * Applies `--set key=value` overrides to a resolved config. The key is a dotted path that must
 * exist (`baseline.epochs`, `data.trainSubset`, `seeds`, `arms.0.pruneRatio`), and the value must
 * parse to the type already there; anything else is a ConfigError naming the key.
 */
export function applyOverrides(config: ExperimentConfig, overrides: string[]): ExperimentConfig {
  const next = structuredClone(config);
  for (const raw of overrides) {
    const eq = raw.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--set expects key=value, got "${raw}"`, raw);
    const key = raw.slice(0, eq).trim();
    const value = raw.slice(eq + 1).trim();
    const path = key.split('.');
    let target: Record<string, unknown> = next as unknown as Record<string, unknown>;
    for (const part of path.slice(0, -1)) {
      const child = target[part];
      if (child === null || typeof child !== 'object') throw new ConfigError(`Unknown config key "${key}" (no "${part}" here)`, key);
      target = child as Record<string, unknown>;
    }
    const leaf = path[path.length - 1]!;
    const optional = path.length === 3 && path[0] === 'arms' ? OPTIONAL_ARM_KEYS[leaf] : undefined;
    if (!(leaf in target) && !optional) {
      throw new ConfigError(`Unknown config key "${key}"; known keys here: ${Object.keys(target).join(', ')}`, key);
    }
    target[leaf] = optional ? optional(value, key) : parseLike(target[leaf], value, key);
  }
  validateConfig(next);
  return next;
}

/** Arm fields that may be absent (their default applies) and can still be set with --set. */
const OPTIONAL_ARM_KEYS: Record<string, (value: string, key: string) => unknown> = {
  thresholdRule: (v, key) => {
    if (!(THRESHOLD_RULES as readonly string[]).includes(v)) throw new ConfigError(`--set ${key}: expected one of ${THRESHOLD_RULES.join(', ')}, got "${v}"`, key);
    return v;
  },
  iterativeRounds: (v, key) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(`--set ${key}: expected a positive integer, got "${v}"`, key);
    return n;
  },
};

function parseLike(current: unknown, value: string, key: string): unknown {
  const num = (v: string): number => {
    const n = Number(v);
    if (v === '' || !Number.isFinite(n)) throw new ConfigError(`--set ${key}: expected a number, got "${v}"`, key);
    return n;
  };
  if (typeof current === 'number') return num(value);
  if (typeof current === 'boolean') {
    if (value !== 'true' && value !== 'false') throw new ConfigError(`--set ${key}: expected true or false, got "${value}"`, key);
    return value === 'true';
  }
  if (typeof current === 'string') return value;
  if (Array.isArray(current) && current.every((v) => typeof v === 'number')) return value.split(',').map((v) => num(v.trim()));
  if (Array.isArray(current) && current.every((v) => typeof v === 'string')) return value.split(',').map((v) => v.trim());
  if (current === undefined) return value;
  throw new ConfigError(`--set ${key}: this key holds a structure; set one of its fields instead`, key);
}

/** Checks a resolved config; errors name the key. */
export function validateConfig(c: ExperimentConfig): void {
  const posInt = (v: number, key: string, zero = false): void => {
    if (!Number.isInteger(v) || v < (zero ? 0 : 1)) throw new ConfigError(`Expected ${key} to be a ${zero ? 'non-negative' : 'positive'} integer, but got ${v}`, key);
  };
  for (const phase of ['baseline', 'fineTune'] as const) {
    posInt(c[phase].epochs, `${phase}.epochs`, true);
    posInt(c[phase].batchSize, `${phase}.batchSize`);
    if (!(c[phase].lr > 0)) throw new ConfigError(`Expected ${phase}.lr > 0, but got ${c[phase].lr}`, `${phase}.lr`);
  }
  posInt(c.data.trainSubset, 'data.trainSubset', true);
  posInt(c.data.testSubset, 'data.testSubset', true);
  if (!['cifar10', 'cifar100', 'synthetic'].includes(c.data.dataset)) {
    const fashion = /fashion/i.test(c.data.dataset) ? `; ${FASHION_MNIST_SCOPE}` : '';
    throw new ConfigError(`Unknown data.dataset "${c.data.dataset}"; expected cifar10, cifar100 or synthetic${fashion}`, 'data.dataset');
  }
  if (!(c.widthMultiplier > 0)) throw new ConfigError(`Expected widthMultiplier > 0, got ${c.widthMultiplier}`, 'widthMultiplier');
  for (const [model, w] of Object.entries(c.modelWidths ?? {})) {
    if (!(w > 0)) throw new ConfigError(`Expected modelWidths.${model} > 0, got ${w}`, `modelWidths.${model}`);
  }
  if (c.seeds.length === 0) throw new ConfigError('Expected at least one seed', 'seeds');
  c.seeds.forEach((s) => posInt(s, 'seeds', true));
  c.arms.forEach((a, i) => {
    if (!(a.pruneRatio >= 0 && a.pruneRatio < 1)) throw new ConfigError(`Expected arms.${i}.pruneRatio in [0, 1), got ${a.pruneRatio}`, `arms.${i}.pruneRatio`);
    if (a.thresholdRule !== undefined) {
      validateThresholdRule(a.thresholdRule, `arms.${i}.thresholdRule`);
      if (a.method !== 'slimming') throw new ConfigError(`arms.${i}.thresholdRule applies to slimming arms; arm ${a.id} uses ${a.method}`, `arms.${i}.thresholdRule`);
    }
    // Refused here, before any baseline trains, rather than in the prune cell hours later.
    let spec;
    try {
      spec = modelSpec(a.model, { widthMultiplier: widthOf(c, a.model) });
    } catch (e) {
      throw new ConfigError(`arms.${i}.model: ${(e as Error).message}`, `arms.${i}.model`);
    }
    try {
      checkMethodApplies(spec, a.method);
    } catch (e) {
      throw new ConfigError(`arms.${i} (${a.id}): ${(e as Error).message}`, `arms.${i}.method`);
    }
    if (a.profile) {
      try {
        resolveProfile(spec, findProfile(a.model, a.profile));
      } catch (e) {
        throw new ConfigError(`arms.${i} (${a.id}): ${(e as Error).message}`, `arms.${i}.profile`);
      }
    }
  });
}
