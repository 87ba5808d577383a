/**
 * Checking a resolved config and applying `--set` overrides. Apart from config.ts (plain data and
 * types, which `prunebench list` reads) because checking an arm compiles its model and asks the
 * pruning methods what they can act on, which loads TensorFlow.js.
 */
import { FASHION_MNIST_SCOPE } from '../data/names.ts';
import { modelSpec } from '../models/index.ts';
import { checkMethodApplies, CRITERIA, VECTOR_CRITERIA, findProfile, GRADUAL_DEFAULTS, resolveProfile, THRESHOLD_RULES, validateBudgetTarget, validateGlobalNorm, validateGradualOptions, validateMaxLayerRatio, validateScope, validateThresholdRule } from '../pruning/index.ts';
import { LATENCY_RUNTIMES } from '../results/columns.ts';
import { ConfigError } from '../util/errors.ts';
import { GRADUAL_METHODS, widthOf, type ExperimentConfig } from './config.ts';

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
    const gradual = key.match(/^arms\.(\d+)\.gradual\.([^.]+)$/);
    if (gradual) {
      setGradualOption(next, Number(gradual[1]), gradual[2]!, value, key);
      continue;
    }
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

/** `--set arms.N.gradual.<option>=v`: the arm's gradual options are absent until one is set (GRADUAL_DEFAULTS apply). */
function setGradualOption(config: ExperimentConfig, index: number, option: string, value: string, key: string): void {
  const a = config.arms[index];
  if (!a) throw new ConfigError(`Unknown config key "${key}" (no arm ${index}; the config has ${config.arms.length})`, key);
  if (!(option in GRADUAL_DEFAULTS)) throw new ConfigError(`Unknown config key "${key}"; gradual options: ${Object.keys(GRADUAL_DEFAULTS).join(', ')}`, key);
  const n = Number(value);
  if (value === '' || !Number.isFinite(n)) throw new ConfigError(`--set ${key}: expected a number, got "${value}"`, key);
  a.gradual = { ...a.gradual, [option]: n };
}

/** Arm fields that may be absent (their default applies) and can still be set with --set. */
const OPTIONAL_ARM_KEYS: Record<string, (value: string, key: string) => unknown> = {
  thresholdRule: (v, key) => {
    if (!(THRESHOLD_RULES as readonly string[]).includes(v)) throw new ConfigError(`--set ${key}: expected one of ${THRESHOLD_RULES.join(', ')}, got "${v}"`, key);
    return v;
  },
  scope: (v, key) => validateScope(v, key),
  // kind:value, e.g. speedup:2 (MACs ratio) or compression:4 (parameter ratio).
  target: (v, key) => {
    const [kind, value, ...rest] = v.split(':');
    if (rest.length > 0 || (kind !== 'speedup' && kind !== 'compression') || value === undefined || value.trim() === '') {
      throw new ConfigError(`--set ${key}: expected speedup:S or compression:C, got "${v}"`, key);
    }
    return validateBudgetTarget({ kind, value: Number(value) }, key);
  },
  globalNorm: (v, key) => validateGlobalNorm(v, key),
  maxLayerRatio: (v, key) => validateMaxLayerRatio(Number(v), key),
  calibrationBatches: (v, key) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(`--set ${key}: expected a positive integer, got "${v}"`, key);
    return n;
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
  for (const rt of c.latencyRuntimes ?? []) {
    if (!(LATENCY_RUNTIMES as readonly string[]).includes(rt)) throw new ConfigError(`Unknown latencyRuntimes entry "${rt}"; expected some of ${LATENCY_RUNTIMES.join(', ')}`, 'latencyRuntimes');
  }
  if (c.seeds.length === 0) throw new ConfigError('Expected at least one seed', 'seeds');
  c.seeds.forEach((s) => posInt(s, 'seeds', true));
  c.arms.forEach((a, i) => {
    if (!(a.pruneRatio >= 0 && a.pruneRatio < 1)) throw new ConfigError(`Expected arms.${i}.pruneRatio in [0, 1), got ${a.pruneRatio}`, `arms.${i}.pruneRatio`);
    if (a.thresholdRule !== undefined) {
      validateThresholdRule(a.thresholdRule, `arms.${i}.thresholdRule`);
      if (a.method !== 'slimming') throw new ConfigError(`arms.${i}.thresholdRule applies to slimming arms; arm ${a.id} uses ${a.method}`, `arms.${i}.thresholdRule`);
    }
    const key = (f: string): string => `arms.${i}.${f}`;
    if (a.scope !== undefined) validateScope(a.scope, key('scope'));
    if (a.globalNorm !== undefined) validateGlobalNorm(a.globalNorm, key('globalNorm'));
    if (a.maxLayerRatio !== undefined) validateMaxLayerRatio(a.maxLayerRatio, key('maxLayerRatio'));
    if (a.calibrationBatches !== undefined && !(Number.isInteger(a.calibrationBatches) && a.calibrationBatches >= 1)) {
      throw new ConfigError(`Expected ${key('calibrationBatches')} to be a positive integer, but got ${a.calibrationBatches}`, key('calibrationBatches'));
    }
    if (a.method === 'channel' && !(CRITERIA as readonly string[]).includes(a.criterion)) {
      throw new ConfigError(`arms.${i} (${a.id}): method channel needs a criterion, one of ${CRITERIA.join(', ')}; got ${a.criterion}`, key('criterion'));
    }
    if (a.method === 'vector' && !(VECTOR_CRITERIA as readonly string[]).includes(a.criterion)) {
      throw new ConfigError(`arms.${i} (${a.id}): method vector scores kernel fibres by one of ${VECTOR_CRITERIA.join(', ')}; got ${a.criterion}`, key('criterion'));
    }
    if (a.target !== undefined) {
      validateBudgetTarget(a.target, key('target'));
      if (a.pruneRatio !== 0 || a.profile) throw new ConfigError(`arms.${i} (${a.id}): a target replaces pruneRatio and profile; set pruneRatio to 0 and drop the profile`, key('target'));
      if (a.protocols.includes('iterative')) throw new ConfigError(`arms.${i} (${a.id}): the iterative protocol prunes by ratio per round; an exact budget target is not supported with it`, key('target'));
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
    if (a.protocols.includes('gradual')) {
      if (!(GRADUAL_METHODS as readonly string[]).includes(a.method)) {
        throw new ConfigError(`arms.${i} (${a.id}): the gradual protocol prunes by ${GRADUAL_METHODS.join(', ')}; ${a.method} chooses its units another way`, `arms.${i}.protocols`);
      }
      validateGradualOptions(a.gradual ?? {}, a.pruneRatio, `arms.${i}.gradual`);
    } else if (a.gradual !== undefined) {
      throw new ConfigError(`arms.${i}.gradual applies to arms that list the gradual protocol; arm ${a.id} does not`, `arms.${i}.gradual`);
    }
  });
}
