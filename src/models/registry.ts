import { ConfigError, ModelError } from '../util/errors.ts';
import { compileDenseNet } from './families/densenet.ts';
import { compilePreResNet } from './families/preresnet.ts';
import { compileResNet } from './families/resnet.ts';
import { compileVgg } from './families/vgg.ts';
import { inferShapes, type ModelGraph } from './graph.ts';
import { specSchemaProblems } from './schema.ts';
import type { InputShape, ModelSpec, VggCfgItem } from './spec.ts';

export const MODEL_NAMES = [
  'vgg16',
  'vgg19',
  'resnet20',
  'resnet56',
  'resnet110',
  'preresnet164',
  'densenet40',
  'vgg-tiny',
  'vgg-tiny-wide',
] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export const MODEL_DESCRIPTIONS: Record<ModelName, string> = {
  vgg16: "Li et al.'s CIFAR VGG-16 (conv widths 64..512, Linear-BN-ReLU-Linear head)",
  vgg19: "Network Slimming's CIFAR VGG-19 (avg-pool, one linear layer)",
  resnet20: 'CIFAR ResNet-20, basic blocks, option-A shortcuts',
  resnet56: 'CIFAR ResNet-56, basic blocks, option-A shortcuts',
  resnet110: 'CIFAR ResNet-110, basic blocks, option-A shortcuts',
  preresnet164: "Network Slimming's PreResNet-164, bottleneck blocks with channel selection",
  densenet40: "Network Slimming's DenseNet-40 (growth 12) with channel selection",
  'vgg-tiny': 'benchmark VGG: convs 16,16,M,32,32,M,64,64,M, global average pool, linear',
  'vgg-tiny-wide': 'vgg-tiny with 4x the channels',
};

export const VGG16_CFG: VggCfgItem[] = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512];
export const VGG19_CFG: VggCfgItem[] = [
  64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512,
];
const VGG_TINY_CFG: VggCfgItem[] = [16, 16, 'M', 32, 32, 'M', 64, 64, 'M'];

export interface ModelSpecOptions {
  numClasses?: number;
  input?: InputShape;
  /** Scales every width (rounded, at least 1): the reduced-width networks of the `small` presets. */
  widthMultiplier?: number;
}

const CIFAR_INPUT: InputShape = { height: 32, width: 32, channels: 3 };

export function isModelName(name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name);
}

/** The unpruned spec of a named model. */
export function modelSpec(name: string, opts: ModelSpecOptions = {}): ModelSpec {
  if (!isModelName(name)) {
    throw new ConfigError(`Unknown model "${name}"; expected one of ${MODEL_NAMES.join(', ')}`, 'model');
  }
  const numClasses = opts.numClasses ?? 10;
  const input = opts.input ?? CIFAR_INPUT;
  const m = opts.widthMultiplier ?? 1;
  if (!(m > 0)) throw new ConfigError(`widthMultiplier must be > 0, got ${m}`, 'widthMultiplier');
  const w = (c: number): number => Math.max(1, Math.round(c * m));
  const scaleCfg = (cfg: VggCfgItem[]): VggCfgItem[] => cfg.map((c) => (c === 'M' ? c : w(c)));
  switch (name) {
    case 'vgg16':
      return { family: 'vgg', name, cfg: scaleCfg(VGG16_CFG), head: 'li2017', hiddenFeatures: w(512), numClasses, input, bnGammaInit: 0.5 };
    case 'vgg19':
      return { family: 'vgg', name, cfg: scaleCfg(VGG19_CFG), head: 'slimming', numClasses, input, bnGammaInit: 0.5 };
    case 'vgg-tiny':
      return { family: 'vgg', name, cfg: scaleCfg(VGG_TINY_CFG), head: 'gap', numClasses, input, bnGammaInit: 0.5 };
    case 'vgg-tiny-wide':
      return { family: 'vgg', name, cfg: scaleCfg(VGG_TINY_CFG.map((c) => (c === 'M' ? c : c * 4))), head: 'gap', numClasses, input, bnGammaInit: 0.5 };
    case 'resnet20':
    case 'resnet56':
    case 'resnet110': {
      const depth = Number(name.slice('resnet'.length));
      const n = (depth - 2) / 6;
      return {
        family: 'resnet',
        name,
        stemWidth: w(16),
        stages: [16, 32, 64].map((c) => ({ width: w(c), blocks: Array<number>(n).fill(w(c)) })),
        numClasses,
        input,
        bnGammaInit: 1, // the L1-norm reference ResNet initialises BN gamma to 1
      };
    }
    case 'preresnet164': {
      const n = (164 - 2) / 9;
      return {
        family: 'preresnet',
        name,
        stemWidth: w(16),
        stages: [16, 32, 64].map((p) => ({
          planes: w(p),
          blocks: Array.from({ length: n }, () => ({ select: null, conv1: w(p), conv2: w(p) })),
        })),
        finalSelect: null,
        numClasses,
        input,
        bnGammaInit: 0.5,
      };
    }
    case 'densenet40': {
      const n = (40 - 4) / 3;
      const growth = w(12);
      return {
        family: 'densenet',
        name,
        growthRate: growth,
        stemWidth: 2 * growth,
        blocks: [0, 1, 2].map(() => Array.from({ length: n }, () => ({ select: null }))),
        transitions: [{ select: null }, { select: null }],
        finalSelect: null,
        numClasses,
        input,
        bnGammaInit: 0.5,
      };
    }
  }
}

/** Compile a spec to its layer graph (validated: shapes are inferred by callers that need them). */
export function compileGraph(spec: ModelSpec): ModelGraph {
  switch (spec.family) {
    case 'vgg':
      return compileVgg(spec);
    case 'resnet':
      return compileResNet(spec);
    case 'preresnet':
      return compilePreResNet(spec);
    case 'densenet':
      return compileDenseNet(spec);
    default:
      throw new ModelError(`Unknown model family ${(spec as { family: string }).family}`);
  }
}

/**
 * Validate a value read from JSON (a saved spec.json, a --cfg) as a spec: first against its
 * family's JSON schema (schema.ts), then by compiling it, which checks what a schema cannot
 * (channel counts that chain, selections inside their input, pools that fit). Errors name the
 * source, the field and what was expected.
 */
export function parseModelSpec(value: unknown, source: string): ModelSpec {
  const problems = specSchemaProblems(value);
  if (problems.length > 0) {
    const shown = problems.slice(0, 5);
    const more = problems.length > shown.length ? `; and ${problems.length - shown.length} more` : '';
    throw new ModelError(`${source}: not a valid model spec: ${shown.join('; ')}${more}`);
  }
  const spec = value as ModelSpec;
  try {
    inferShapes(compileGraph(spec));
  } catch (e) {
    if (e instanceof ModelError) throw new ModelError(`${source}: ${e.message}`);
    throw e;
  }
  return spec;
}
