import { readFileSync } from 'node:fs';
import AjvModule from 'ajv';
import { compile, type TopLevelSpec } from 'vega-lite';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SensitivityPoint, SensitivityScan } from '../../protocols/index.ts';
import { nodeModulesFile } from '../html.ts';
import { renderSpec } from '../render.ts';
import { sensitivitySpec } from './sensitivity.ts';

type Validate = ((data: unknown) => boolean) & { errors?: unknown[] | null };
let validate: Validate;

beforeAll(() => {
  const schema = JSON.parse(readFileSync(nodeModulesFile('vega-lite', 'build/vega-lite-schema.json'), 'utf8'));
  const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as new (o: object) => { compile(s: object): Validate };
  validate = new Ajv({ allowUnionTypes: true, strict: false, allErrors: false }).compile(schema);
});

/** 12 layers (so the legend must order "10 ..." after "9 ...") x 3 ratios, top-1 falling with the ratio. */
function scanOf(layers: number): SensitivityScan {
  const points: SensitivityPoint[] = [];
  for (let l = 1; l <= layers; l++) {
    for (const ratio of [0.2, 0.5, 0.8]) {
      const top1 = 90 - ratio * l * 5;
      points.push({ layer: `features.${l - 1}.conv`, layerIndex: l, channels: 16, ratio, keptChannels: Math.floor(16 * (1 - ratio)), top1, drop: 90 - top1 });
    }
  }
  return { criterion: 'l1', unprunedTop1: 90, points, testImages: 100, calibrationImages: 0, seconds: 1 };
}

function lineLayer(spec: TopLevelSpec): { data: { values: Record<string, unknown>[] }; encoding: { color: { sort: string[] } } } {
  return (spec as unknown as { layer: { data: { values: Record<string, unknown>[] }; encoding: { color: { sort: string[] } } }[] }).layer[0]!;
}

describe('sensitivity figure', () => {
  it('validates against the Vega-Lite JSON schema and compiles (12 layers, and no layer at all)', () => {
    expect(validate({ mark: 'no-such-mark', data: { values: [] } })).toBe(false);
    for (const scan of [scanOf(12), scanOf(0)]) {
      const spec = sensitivitySpec(scan, { title: 'T', subtitle: 's' });
      const ok = validate(spec);
      if (!ok) throw new Error(JSON.stringify(validate.errors?.slice(0, 3)));
      expect(() => compile(spec)).not.toThrow();
    }
  });

  it('holds one line per layer (x = ratio, y = top-1) with the scan values, legend in layer order', () => {
    const scan = scanOf(12);
    const line = lineLayer(sensitivitySpec(scan, { title: 'T' }));
    expect(line.data.values).toHaveLength(36);
    const v = line.data.values.find((x) => x.layer === '10 features.9.conv' && x.ratio === 0.5)!;
    expect(v.top1).toBeCloseTo(90 - 0.5 * 10 * 5, 6);
    expect(line.encoding.color.sort).toEqual(Array.from({ length: 12 }, (_, i) => `${i + 1} features.${i}.conv`));
  });

  it('renders to SVG and PNG with the legend labels and the unpruned line as text', async () => {
    const { svg, png } = await renderSpec(sensitivitySpec(scanOf(3), { title: 'Sensitivity' }));
    expect(svg).toContain('1 features.0.conv');
    expect(svg).toContain('3 features.2.conv');
    expect(svg).toContain('unpruned 90.00%');
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  });

  it('no prunable layer gives the explicit no-data panel', () => {
    const spec = sensitivitySpec(scanOf(0), { title: 'T' }) as { mark?: { type?: string }; data?: { values?: { message: string }[] } };
    expect(spec.mark?.type).toBe('text');
    expect(spec.data?.values?.[0]?.message).toMatch(/^No data: /);
  });
});
