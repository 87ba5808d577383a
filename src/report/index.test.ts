import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../util/log.ts';
import { FIGURES } from './figures/index.ts';
import { buildReport } from './index.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/results/', import.meta.url));

describe('buildReport', () => {
  it('writes every figure as .vl.json/.svg/.png, an offline index.html and summary.md', async () => {
    const out = mkdtempSync(join(tmpdir(), 'pb-report-'));
    const r = await buildReport({ experiment: 'rethinking-l1', resultsDir: FIXTURES, outDir: out, logger: silentLogger });
    expect(r.dir).toBe(join(out, 'rethinking-l1', 'small'));
    for (const f of FIGURES) {
      for (const ext of ['vl.json', 'svg', 'png']) expect(r.files).toContain(join(r.dir, `${f.name}.${ext}`));
      const spec = JSON.parse(readFileSync(join(r.dir, `${f.name}.vl.json`), 'utf8'));
      expect(spec.$schema).toMatch(/vega-lite\/v6/);
      expect(readFileSync(join(r.dir, `${f.name}.svg`), 'utf8').startsWith('<svg')).toBe(true);
    }
    for (const f of r.files) expect(existsSync(f)).toBe(true);

    // offline: every script is a local file under lib/, no http(s) URL is loaded
    const html = readFileSync(join(r.dir, 'index.html'), 'utf8');
    const srcs = [...html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)].map((m) => m[1]!);
    expect(srcs).toEqual(['lib/vega.min.js', 'lib/vega-lite.min.js', 'lib/vega-embed.min.js']);
    for (const s of srcs) expect(existsSync(join(r.dir, s))).toBe(true);
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)="https?:/);

    // summary: failed run listed, verdict table present, ours vs published names its source
    const md = readFileSync(join(r.dir, 'summary.md'), 'utf8');
    expect(md).toBe(r.summaryMarkdown);
    expect(md).toContain('## Failed runs');
    expect(md).toMatch(/resnet56-l1-B-scratch-B-s3@\S+ \| resnet56 \| l1 \| B \| scratch-B \| 3 \| wasm: out of memory/);
    expect(md).toContain('Li et al. 2017 (Pruning Filters for Efficient ConvNets)');
    expect(md).toMatch(/train subset 10000 vs 50000 images/);

    // what we found: first section, generated per cell with its regime and the paper's figure
    expect(md.split('\n').slice(0, 3)).toEqual(['# Report: rethinking-l1 (preset small)', '', '## What we found']);
    const found = md.split('\n')[4]!;
    expect(found).toMatch(/^For resnet56 l1 A \(CIFAR-10 10,000 train images; 40 epochs, fine-tune 40, Scratch-B 45; width x1; 3 seeds; unpruned 85\.54%\): /);
    expect(found).toContain('Scratch-B and the unpruned model could not be told apart (-0.56 points; paper -0.09)');
    expect(found).toContain('Scratch-B vs Fine-tuned has no runs on one side (0 and 1)');
    expect(found).toMatch(/No claim was supported or contradicted/);
    // the verdict table carries the published comparison and the regime beside each verdict
    // 2-3 seeds per arm: one Scratch-B run of this cell failed and is excluded.
    expect(md).toMatch(/\| scratchB-vs-unpruned \| resnet56 l1 B \|.*\| \*\*inconclusive\*\* \| Scratch-B 93\.05 vs Unpruned 93\.14 \(-0\.09\); Liu et al\. 2019 \| CIFAR-10 10,000 train images; 40 epochs, fine-tune 40, Scratch-B 55; width x1; 2-3 seeds per arm; unpruned 85\.54% \|/);

    // Totals count a comparison with no runs on one side apart, as "what we found" does
    const empty = r.verdicts.filter((v) => v.nA === 0 || v.nB === 0).length;
    const of = (kind: string): number => r.verdicts.filter((v) => v.verdict === kind && v.nA > 0 && v.nB > 0).length;
    expect(empty).toBe(1);
    expect(md).toContain(`Totals: ${of('supported')} supported, ${of('contradicted')} contradicted, ${of('inconclusive')} inconclusive; 1 more has no runs on one side yet.`);

    // verdicts: the one-seed magnitude cell is inconclusive for the stated reason
    const mag = r.verdicts.find((v) => v.hypothesisId === 'scratchE-vs-fineTune' && v.cell.method === 'magnitude')!;
    expect(mag.verdict).toBe('inconclusive');
    expect(mag.reason).toMatch(/Scratch-E has 1 seed, Fine-tuned has 1 seed/);
    // the failed scratch-B seed is excluded: 2 seeds remain in that cell
    const b = r.verdicts.find((v) => v.hypothesisId === 'scratchB-vs-fineTune' && v.cellLabel === 'resnet56 l1 B')!;
    expect(b.nA).toBe(2);
    expect(b.seedsA).toEqual([1, 2]);
  });

  it('a report covers one preset: mixed results need --preset, and another preset is reported on its own', async () => {
    const work = mkdtempSync(join(tmpdir(), 'pb-report-'));
    const csv = readFileSync(join(FIXTURES, 'rethinking-l1.csv'), 'utf8').split('\n');
    const header = csv[0]!.split(',');
    const presetCol = header.indexOf('preset');
    // The same runs again as preset cpu, every accuracy 5 points higher.
    const top1Col = header.indexOf('top1_final');
    const cpuRows = csv.slice(1).filter((l) => l.trim()).map((l) => {
      const f = l.split(',');
      f[presetCol] = 'cpu';
      if (f[top1Col]) f[top1Col] = String(Number(f[top1Col]) + 5);
      return f.join(',');
    });
    mkdirSync(join(work, 'results'));
    writeFileSync(join(work, 'results', 'rethinking-l1.csv'), [...csv.filter((l) => l.trim()), ...cpuRows].join('\n') + '\n');
    await expect(buildReport({ experiment: 'rethinking-l1', resultsDir: join(work, 'results'), outDir: join(work, 'reports'), logger: silentLogger })).rejects.toThrow(
      /holds runs of the presets small, cpu; a report covers one: choose it with --preset/,
    );
    const small = await buildReport({ experiment: 'rethinking-l1', preset: 'small', resultsDir: join(work, 'results'), outDir: join(work, 'reports'), logger: silentLogger });
    const cpu = await buildReport({ experiment: 'rethinking-l1', preset: 'cpu', resultsDir: join(work, 'results'), outDir: join(work, 'reports'), logger: silentLogger });
    expect(cpu.dir).toBe(join(work, 'reports', 'rethinking-l1', 'cpu'));
    const g = (r: typeof small) => r.groups.find((x) => x.key.model === 'vgg16' && x.key.protocol === 'baseline')!;
    expect(g(cpu).top1.n).toBe(g(small).top1.n);
    expect(g(cpu).top1.mean).toBeCloseTo(g(small).top1.mean + 5, 6);
    await expect(buildReport({ experiment: 'rethinking-l1', preset: 'paper', resultsDir: join(work, 'results'), outDir: join(work, 'reports'), logger: silentLogger })).rejects.toThrow(/no runs of preset paper/);
  });

  it('a missing results CSV is an error naming the file', async () => {
    const out = mkdtempSync(join(tmpdir(), 'pb-report-'));
    await expect(buildReport({ experiment: 'nope', resultsDir: FIXTURES, outDir: out, logger: silentLogger })).rejects.toThrow(
      /nope\.csv: results file not found/,
    );
  });
});
