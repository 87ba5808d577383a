import { createRequire } from 'node:module';
import type { ErrorObject, SchemaObject, ValidateFunction } from 'ajv';
import type { DenseNetSpec, InputShape, ModelFamily, PreResNetBlock, PreResNetSpec, ResNetSpec, VggSpec } from './spec.ts';

/**
 * JSON schemas of the architecture specs, one per family, for specs read from disk. Each object
 * schema is built by `object<T>()`, whose `properties` must name exactly the fields of the spec
 * type T (a field added to or removed from spec.ts fails to type-check here until the schema
 * follows); the tests check that every built-in and every pruned spec passes. Each property's
 * `description` is what an error message says was expected there.
 */

/** Schemas of exactly T's fields; `optional` lists the ones that may be left out. */
function object<T>(description: string, properties: { [K in keyof Required<T>]: SchemaObject }, optional: (keyof T & string)[] = []): SchemaObject {
  return {
    type: 'object',
    description,
    properties,
    required: Object.keys(properties).filter((k) => !(optional as string[]).includes(k)),
    additionalProperties: false,
  };
}

const count = (description: string): SchemaObject => ({ type: 'integer', minimum: 1, description });
const list = (items: SchemaObject, description: string, minItems = 1): SchemaObject => ({ type: 'array', items, minItems, description });
const selection: SchemaObject = {
  type: ['array', 'null'],
  items: { type: 'integer', minimum: 0 },
  minItems: 1,
  description: 'the kept channel indices (a non-empty list of integers), or null for all',
};
const family = (f: string): SchemaObject => ({ const: f, description: `"${f}"` });

const input = object<InputShape>('the input image shape {height, width, channels}', {
  height: count('the image height, a positive integer'),
  width: count('the image width, a positive integer'),
  channels: count('the image channels, a positive integer'),
});

const common = {
  name: { type: 'string', minLength: 1, description: 'the model name, e.g. vgg16' },
  numClasses: count('the number of classes, a positive integer'),
  input,
  bnGammaInit: { type: 'number', description: 'the initial BN scale, a number' },
};

const vgg = object<VggSpec>(
  'a VGG spec',
  {
    family: family('vgg'),
    ...common,
    cfg: list({ anyOf: [{ type: 'integer', minimum: 1 }, { const: 'M' }], description: 'a conv width (a positive integer) or "M"' }, 'a VGG cfg: a list of conv widths (positive integers) and "M" (max-pool)'),
    head: { enum: ['li2017', 'slimming', 'gap'], description: 'the classifier head: li2017, slimming or gap' },
    hiddenFeatures: count('the hidden linear width of the li2017 head, a positive integer'),
  },
  ['hiddenFeatures'],
);

const resnet = object<ResNetSpec>('a ResNet spec', {
  family: family('resnet'),
  ...common,
  stemWidth: count('the stem conv width, a positive integer'),
  stages: list(
    object<ResNetSpec['stages'][number]>('a stage {width, blocks}', {
      width: count("the stage's output width, a positive integer"),
      blocks: list(count("a block's first-conv width, a positive integer"), "the blocks' first-conv widths, a non-empty list of positive integers"),
    }),
    'the stages, a non-empty list of {width, blocks}',
  ),
});

const preresnet = object<PreResNetSpec>('a PreResNet spec', {
  family: family('preresnet'),
  ...common,
  stemWidth: count('the stem conv width, a positive integer'),
  stages: list(
    object<PreResNetSpec['stages'][number]>('a stage {planes, blocks}', {
      planes: count("the stage's bottleneck planes, a positive integer"),
      blocks: list(
        object<PreResNetBlock>('a block {select, conv1, conv2}', {
          select: selection,
          conv1: count('the 1x1 conv width, a positive integer'),
          conv2: count('the 3x3 conv width, a positive integer'),
        }),
        'the blocks, a non-empty list of {select, conv1, conv2}',
      ),
    }),
    'the stages, a non-empty list of {planes, blocks}',
  ),
  finalSelect: selection,
});

const layerSelect = object<DenseNetSpec['transitions'][number]>('a layer {select}', { select: selection });

const densenet = object<DenseNetSpec>('a DenseNet spec', {
  family: family('densenet'),
  ...common,
  growthRate: count('the growth rate, a positive integer'),
  stemWidth: count('the stem conv width, a positive integer'),
  blocks: list(list(layerSelect, 'a dense block, a list of {select}', 0), 'the dense blocks, a non-empty list of lists of {select}'),
  transitions: list(layerSelect, 'the transitions, a list of {select}', 0),
  finalSelect: selection,
});

export const MODEL_FAMILIES = ['vgg', 'resnet', 'preresnet', 'densenet'] as const satisfies readonly ModelFamily[];

/** The schema of each family's spec (plain JSON Schema, draft-07). */
export const SPEC_SCHEMAS: Record<ModelFamily, SchemaObject> = { vgg, resnet, preresnet, densenet };

let validators: Map<ModelFamily, ValidateFunction> | undefined;

function validatorFor(family: ModelFamily): ValidateFunction {
  if (!validators) {
    // Loaded here, on the first spec read from disk, not at import: ajv takes longer to load than
    // `prunebench --help` or `models` take to answer. (A CommonJS package: require is synchronous.)
    const { Ajv } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
    // verbose: errors carry the schema they failed, whose description says what was expected.
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true });
    validators = new Map(MODEL_FAMILIES.map((f) => [f, ajv.compile(SPEC_SCHEMAS[f])]));
  }
  return validators.get(family)!;
}

/** `/stages/0/blocks/2` -> `spec.stages[0].blocks[2]`. */
function fieldName(root: string, instancePath: string): string {
  return (
    root +
    instancePath
      .split('/')
      .slice(1)
      .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p.replace(/~1/g, '/').replace(/~0/g, '~')}`))
      .join('')
  );
}

function shown(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function describeError(e: ErrorObject, root: string): string {
  const field = fieldName(root, e.instancePath);
  const expected = (e.parentSchema as { description?: string } | undefined)?.description;
  switch (e.keyword) {
    case 'required': {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      const props = (e.parentSchema as { properties?: Record<string, { description?: string }> } | undefined)?.properties;
      const what = props?.[missing]?.description;
      return `${field}.${missing} is missing${what ? ` (expected ${what})` : ''}`;
    }
    case 'additionalProperties':
      return `${field} has an unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`;
    default:
      return `${field} is ${shown(e.data)}${expected ? `; expected ${expected}` : `; ${e.message ?? 'invalid'}`}`;
  }
}

/**
 * Problems of a value read as a spec, one line each, naming the field (`spec.cfg[3]`) and what
 * was expected there; [] when it matches its family's schema. Unknown or missing families are
 * one problem.
 */
export function specSchemaProblems(value: unknown, root = 'spec'): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return [`${root} is ${shown(value)}; expected an object with a "family" field (${MODEL_FAMILIES.join(', ')})`];
  }
  const family = (value as { family?: unknown }).family;
  if (!(MODEL_FAMILIES as readonly unknown[]).includes(family)) {
    return [`${root}.family is ${family === undefined ? 'missing' : shown(family)}; expected one of ${MODEL_FAMILIES.join(', ')}`];
  }
  const validate = validatorFor(family as ModelFamily);
  if (validate(value)) return [];
  const problems: string[] = [];
  for (const e of validate.errors ?? []) {
    // anyOf reports each branch and then itself: the anyOf line alone says it all.
    if (e.schemaPath.includes('/anyOf/')) continue;
    const line = describeError(e, root);
    if (!problems.includes(line)) problems.push(line);
  }
  return problems;
}
