import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
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
    expect(r.dir).toBe(join(out, 'rethinking-l1'));
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

    // verdicts: the one-seed magnitude cell is inconclusive for the stated reason
    const mag = r.verdicts.find((v) => v.hypothesisId === 'scratchE-vs-fineTune' && v.cell.method === 'magnitude')!;
    expect(mag.verdict).toBe('inconclusive');
    expect(mag.reason).toMatch(/Scratch-E has 1 seed, Fine-tuned has 1 seed/);
    // the failed scratch-B seed is excluded: 2 seeds remain in that cell
    const b = r.verdicts.find((v) => v.hypothesisId === 'scratchB-vs-fineTune' && v.cellLabel === 'resnet56 l1 B')!;
    expect(b.nA).toBe(2);
    expect(b.seedsA).toEqual([1, 2]);
  });

  it('a missing results CSV is an error naming the file', async () => {
    const out = mkdtempSync(join(tmpdir(), 'pb-report-'));
    await expect(buildReport({ experiment: 'nope', resultsDir: FIXTURES, outDir: out, logger: silentLogger })).rejects.toThrow(
      /nope\.csv: results file not found/,
    );
  });
});
