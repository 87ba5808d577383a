import type { TopLevelSpec } from 'vega-lite';
import { describe, expect, it } from 'vitest';
import { noDataSpec } from './figures/common.ts';
import { rasterize, renderSpec, renderSvg } from './render.ts';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Number of distinct RGBA colours and of "dark" pixels (all channels < 100). */
function pixelStats(pixels: Buffer): { colours: number; dark: number } {
  const colours = new Set<number>();
  let dark = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    colours.add(pixels.readUInt32BE(i));
    if (pixels[i]! < 100 && pixels[i + 1]! < 100 && pixels[i + 2]! < 100 && pixels[i + 3]! > 200) dark++;
  }
  return { colours: colours.size, dark };
}

const bars: TopLevelSpec = {
  data: { values: [{ a: 'x', b: 3 }, { a: 'y', b: 7 }] },
  mark: 'bar',
  encoding: { x: { field: 'a', type: 'nominal' }, y: { field: 'b', type: 'quantitative' } },
};

describe('render', () => {
  it('renders a spec to a non-empty SVG with the marks and axis text in it', async () => {
    const svg = await renderSvg(bars);
    expect(svg.startsWith('<svg')).toBe(true);
    expect((svg.match(/<path/g) ?? []).length).toBeGreaterThan(2);
    expect(svg).toContain('>y</text>');
  });

  it('gives a PNG with the PNG signature, the SVG size x scale and non-uniform pixels', async () => {
    const { svg, png } = await renderSpec(bars, { scale: 2 });
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    const w = Number(/width="(\d+(?:\.\d+)?)"/.exec(svg)![1]);
    const r = rasterize(svg, 2);
    expect(r.width).toBe(Math.round(w * 2));
    // the PNG header's width field (bytes 16..20 of IHDR) agrees
    expect(png.readUInt32BE(16)).toBe(r.width);
    const stats = pixelStats(r.pixels);
    expect(stats.colours).toBeGreaterThan(3);
  });

  it('renders text with a real font: a text-only SVG gets dark glyph pixels', () => {
    const blank = rasterize('<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"></svg>', 1);
    const text = rasterize(
      '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><text x="5" y="28" font-family="sans-serif" font-size="24" fill="black">Hello 93.1%</text></svg>',
      1,
    );
    expect(pixelStats(blank.pixels).dark).toBe(0);
    expect(pixelStats(text.pixels).dark).toBeGreaterThan(100);
  });

  it('renders the no-data panel with its message as visible text', async () => {
    const { svg, png } = await renderSpec(noDataSpec('Title', 'nothing here'));
    expect(svg).toContain('No data: nothing here');
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  });
});
