/**
 * Headless rendering: Vega-Lite -> Vega (vega-lite `compile`) -> SVG (vega View with the 'none'
 * renderer, `toSVG()`) -> PNG (@resvg/resvg-js with the system fonts; DejaVu Sans where present).
 */
import { existsSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import { parse as parseVega, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** A font that exists on Debian images; resvg falls back to it for 'sans-serif' text. */
export const DEFAULT_FONT_FAMILY = 'DejaVu Sans';
const FONT_FILES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
];

export interface Rendered {
  vega: object;
  svg: string;
  png: Buffer;
}

/** Compile a Vega-Lite spec to a Vega spec, turning Vega-Lite warnings into errors when strict. */
export function compileSpec(spec: TopLevelSpec): object {
  return compile(spec).spec;
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vegaSpec = compileSpec(spec);
  const view = new View(parseVega(vegaSpec as Parameters<typeof parseVega>[0]), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface Raster {
  png: Buffer;
  /** RGBA, row-major */
  pixels: Buffer;
  width: number;
  height: number;
}

/** Rasterise an SVG. `scale` multiplies the SVG's own size (2 = crisp on high-DPI screens). */
export function rasterize(svg: string, scale = 2): Raster {
  const fontFiles = FONT_FILES.filter((f) => existsSync(f));
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: scale },
    font: {
      loadSystemFonts: true,
      fontFiles,
      defaultFontFamily: DEFAULT_FONT_FAMILY,
      sansSerifFamily: DEFAULT_FONT_FAMILY,
    },
  });
  const image = resvg.render();
  return { png: image.asPng(), pixels: image.pixels, width: image.width, height: image.height };
}

/** Rasterise an SVG to PNG bytes. */
export function svgToPng(svg: string, scale = 2): Buffer {
  return rasterize(svg, scale).png;
}

export async function renderSpec(spec: TopLevelSpec, opts: { scale?: number } = {}): Promise<Rendered> {
  const vega = compileSpec(spec);
  const svg = await renderSvg(spec);
  return { vega, svg, png: svgToPng(svg, opts.scale ?? 2) };
}
