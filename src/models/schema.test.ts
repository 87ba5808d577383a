import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCpuBackend } from '../testing/tf.ts';
import { CheckpointError, ModelError } from '../util/errors.ts';
import { loadModel, loadSpec, saveModel, SPEC_FILE, WEIGHTS_MANIFEST } from './io.ts';
import { Model } from './model.ts';
import { MODEL_NAMES, modelSpec, parseModelSpec } from './registry.ts';
import { MODEL_FAMILIES, SPEC_SCHEMAS, specSchemaProblems } from './schema.ts';
import type { ModelSpec } from './spec.ts';

beforeAll(useCpuBackend);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prunebench-schema-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A saved model folder whose spec.json holds `content` (weights of vgg-tiny, for the cases that get that far). */
async function savedWith(name: string, content: string): Promise<string> {
  const d = join(dir, name);
  const m = Model.init(modelSpec('vgg-tiny'), 0);
  await saveModel(d, m);
  m.dispose();
  await writeFile(join(d, SPEC_FILE), content);
  return d;
}

describe('spec schemas', () => {
  it('accept every built-in spec, at every width and class count, and its JSON round trip', () => {
    for (const name of MODEL_NAMES) {
      for (const opts of [{}, { widthMultiplier: 1 / 16, numClasses: 100 }, { input: { height: 16, width: 16, channels: 1 } }]) {
        const spec = modelSpec(name, opts);
        expect(specSchemaProblems(spec), name).toEqual([]);
        expect(specSchemaProblems(JSON.parse(JSON.stringify(spec))), name).toEqual([]);
      }
    }
  });

  it("list each family's required fields as the fields of its built-in spec (the optional hiddenFeatures aside)", () => {
    const example: Record<string, ModelSpec> = { vgg: modelSpec('vgg19'), resnet: modelSpec('resnet20'), preresnet: modelSpec('preresnet164'), densenet: modelSpec('densenet40') };
    for (const f of MODEL_FAMILIES) {
      expect([...(SPEC_SCHEMAS[f].required as string[])].sort(), f).toEqual(Object.keys(example[f]!).sort());
    }
    expect(Object.keys(SPEC_SCHEMAS.vgg.properties as object).sort()).toEqual([...Object.keys(modelSpec('vgg19')), 'hiddenFeatures'].sort());
  });

  it('{"family": "vgg"} names every missing field with what was expected', () => {
    const problems = specSchemaProblems({ family: 'vgg' });
    const missing = Object.keys(modelSpec('vgg19')).filter((k) => k !== 'family');
    expect(problems).toHaveLength(missing.length);
    for (const k of missing) expect(problems.some((p) => p.startsWith(`spec.${k} is missing (expected `))).toBe(true);
    expect(problems).toContain('spec.cfg is missing (expected a VGG cfg: a list of conv widths (positive integers) and "M" (max-pool))');
  });

  it('names the nested field of a wrong value, an unknown field and an unknown family', () => {
    const vgg = modelSpec('vgg-tiny');
    expect(specSchemaProblems({ ...vgg, cfg: [16, 'X', 32] })).toEqual(['spec.cfg[1] is "X"; expected a conv width (a positive integer) or "M"']);
    expect(specSchemaProblems({ ...vgg, input: { height: '32', width: 32, channels: 3 } })).toEqual(['spec.input.height is "32"; expected the image height, a positive integer']);
    expect(specSchemaProblems({ ...vgg, head: 'mlp' })).toEqual(['spec.head is "mlp"; expected the classifier head: li2017, slimming or gap']);
    expect(specSchemaProblems({ ...vgg, stemWidth: 16 })).toEqual(['spec has an unknown field "stemWidth"']);
    const resnet = modelSpec('resnet20') as Extract<ModelSpec, { family: 'resnet' }>;
    const bad = structuredClone(resnet);
    bad.stages[1]!.blocks[2] = 0;
    expect(specSchemaProblems(bad)).toEqual(["spec.stages[1].blocks[2] is 0; expected a block's first-conv width, a positive integer"]);
    const pre = structuredClone(modelSpec('preresnet164')) as Extract<ModelSpec, { family: 'preresnet' }>;
    (pre.stages[0]!.blocks[3] as { select: unknown }).select = [];
    expect(specSchemaProblems(pre)[0]).toMatch(/^spec\.stages\[0\]\.blocks\[3\]\.select is \[\]; expected the kept channel indices/);
    expect(specSchemaProblems({ family: 'mobilenet' })).toEqual(['spec.family is "mobilenet"; expected one of vgg, resnet, preresnet, densenet']);
    expect(specSchemaProblems({})).toEqual(['spec.family is missing; expected one of vgg, resnet, preresnet, densenet']);
    expect(specSchemaProblems([1])).toEqual(['spec is [1]; expected an object with a "family" field (vgg, resnet, preresnet, densenet)']);
  });

  it('parseModelSpec: schema problems, then what only compiling finds, both naming the source', () => {
    expect(() => parseModelSpec({ family: 'vgg' }, 'x.json')).toThrow(ModelError);
    expect(() => parseModelSpec({ family: 'vgg' }, 'x.json')).toThrow(/^x\.json: not a valid model spec: spec\.name is missing/);
    // Valid by the schema, but the selection reads channel 99 of a 6-channel stream.
    const dn = structuredClone(modelSpec('densenet40', { widthMultiplier: 0.25 })) as Extract<ModelSpec, { family: 'densenet' }>;
    dn.blocks[0]![0]!.select = [0, 99];
    expect(specSchemaProblems(dn)).toEqual([]);
    expect(() => parseModelSpec(dn, 'y.json')).toThrow(/^y\.json: Layer dense1\.0\.select selects channel 99 of an input with 6 channels$/);
  });
});

describe('saved models read from disk', () => {
  it('a malformed spec.json is a CheckpointError naming the file and the field, not a TypeError', async () => {
    const d = await savedWith('family-only', '{"spec": {"family": "vgg"}}');
    const e = await loadModel(d).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CheckpointError);
    expect((e as CheckpointError).file).toBe(join(d, SPEC_FILE));
    expect((e as Error).message).toMatch(new RegExp(`^${join(d, SPEC_FILE).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a valid model spec: .*spec\\.cfg is missing \\(expected a VGG cfg`));
  });

  it('no "spec" field, not JSON, no file, a folder where spec.json should be: CheckpointErrors naming the path', async () => {
    await expect(loadSpec(await savedWith('no-spec', '{"cfg": [1]}'))).rejects.toThrow(/spec\.json: no "spec" field/);
    await expect(loadSpec(await savedWith('not-json', '{"spec": '))).rejects.toThrow(/spec\.json is not valid JSON/);
    await expect(loadSpec(join(dir, 'nowhere'))).rejects.toThrow(`No saved model at ${join(dir, 'nowhere')}: ${join(dir, 'nowhere', SPEC_FILE)} is missing`);
    const isDir = join(dir, 'spec-is-dir');
    await mkdir(join(isDir, SPEC_FILE), { recursive: true });
    const e = await loadSpec(isDir).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CheckpointError);
    expect((e as Error).message).toMatch(/^Cannot read .*spec-is-dir\/spec\.json: .*\(EISDIR\)$/);
  });

  it('loadSpec reads a spec.json given directly', async () => {
    const d = await savedWith('direct', `${JSON.stringify({ spec: modelSpec('resnet20') })}\n`);
    expect(await loadSpec(join(d, SPEC_FILE))).toEqual(modelSpec('resnet20'));
  });

  it('weights of another architecture and a manifest that is no manifest are CheckpointErrors naming weights.json', async () => {
    const wide = Model.init(modelSpec('vgg-tiny-wide'), 0);
    const d = join(dir, 'other-weights');
    await saveModel(d, wide);
    wide.dispose();
    await writeFile(join(d, SPEC_FILE), JSON.stringify({ spec: modelSpec('vgg-tiny') }));
    const e = await loadModel(d).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CheckpointError);
    expect((e as CheckpointError).file).toBe(join(d, WEIGHTS_MANIFEST));
    // vgg-tiny-wide's first conv has 4 x 16 = 64 filters where vgg-tiny has 16.
    expect((e as Error).message).toContain('Weight features.0.conv.weight has shape [3,3,3,64] but the spec needs [3,3,3,16]');
    const d2 = await savedWith('bad-manifest', JSON.stringify({ spec: modelSpec('vgg-tiny') }));
    await writeFile(join(d2, WEIGHTS_MANIFEST), '{"not": "a list"}');
    await expect(loadModel(d2)).rejects.toThrow(/weights\.json: not a weights manifest: its top level/);
    const manifest = JSON.parse(await readFile(join(d, WEIGHTS_MANIFEST), 'utf8')) as { shape: unknown }[];
    manifest[0]!.shape = ['3'];
    await writeFile(join(d2, WEIGHTS_MANIFEST), JSON.stringify(manifest));
    await expect(loadModel(d2)).rejects.toThrow(/weights\.json: not a weights manifest: entry 0 /);
  });
});
