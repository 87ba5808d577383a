/**
 * How much of an experiment's planned sweep a report's rows cover: a report on a sweep still
 * running must say which cells have no result yet, so that a reader does not take a hypothesis
 * left untested, or tested on fewer seeds, for the study's answer.
 */
import { EXPERIMENTS } from '../../experiments/index.ts';
import { expandCells } from '../protocols/index.ts';
import { isPreset } from '../protocols/preset-names.ts';
import type { RunRow } from '../results/columns.ts';
import { isOk } from './stats.ts';

export interface Coverage {
  /** Cells the preset plans over `seeds`. */
  planned: number;
  /** Of those, the cells with an ok row. */
  covered: number;
  /** The preset's seeds plus any other seed the rows hold. */
  seeds: number[];
  /** Cells without an ok row, as "protocol:arm" with the seeds they lack. */
  missing: { group: string; seeds: number[] }[];
}

/**
 * The planned cells of `experiment`'s `preset` (its seeds and any other seed found in the rows)
 * against the ok rows. Null when the experiment or preset is not declared (results of an
 * experiment since removed): then nothing is known to be missing.
 */
export function planCoverage(experiment: string, preset: string, rows: RunRow[]): Coverage | null {
  const def = EXPERIMENTS.find((e) => e.name === experiment);
  if (!def || !isPreset(preset)) return null;
  const config = def.presets[preset];
  if (!config) return null;
  const mine = rows.filter((r) => String(r.preset) === preset);
  const seeds = [...new Set([...config.seeds, ...mine.map((r) => Number(r.seed)).filter((s) => Number.isInteger(s))])].sort((a, b) => a - b);
  const cells = expandCells({ ...config, seeds });
  const done = new Set(mine.filter(isOk).map((r) => String(r.cell)));
  const missingBy = new Map<string, number[]>();
  for (const c of cells) {
    if (done.has(c.id)) continue;
    const group = c.id.replace(/:s\d+$/, '');
    missingBy.set(group, [...(missingBy.get(group) ?? []), c.seed]);
  }
  return {
    planned: cells.length,
    covered: cells.filter((c) => done.has(c.id)).length,
    seeds,
    missing: [...missingBy].map(([group, s]) => ({ group, seeds: s })),
  };
}

/** The missing cells per protocol (in the order first met): how many, and of which seeds. */
export function missingByProtocol(c: Coverage): Map<string, { cells: number; seeds: Set<number> }> {
  const byProtocol = new Map<string, { cells: number; seeds: Set<number> }>();
  for (const m of c.missing) {
    const p = m.group.split(':')[0]!;
    const e = byProtocol.get(p) ?? { cells: 0, seeds: new Set<number>() };
    e.cells += m.seeds.length;
    for (const s of m.seeds) e.seeds.add(s);
    byProtocol.set(p, e);
  }
  return byProtocol;
}

/** One sentence for a summary: complete, or what is still to run (named per arm up to `maxGroups` arms, else counted per protocol). */
export function coverageSentence(c: Coverage, preset: string, maxGroups = 8): string {
  const seedList = (s: number[]): string => `seed${s.length === 1 ? '' : 's'} ${s.join(', ')}`;
  if (c.missing.length === 0) return `Coverage: all ${c.planned} planned cells of the ${preset} preset (${seedList(c.seeds)}) have a result.`;
  let left: string;
  if (c.missing.length <= maxGroups) {
    left = c.missing.map((m) => `\`${m.group}\` (${seedList(m.seeds)})`).join(', ');
  } else {
    left = [...missingByProtocol(c)].map(([p, e]) => `${e.cells} ${p} cells (${seedList([...e.seeds].sort((a, b) => a - b))})`).join(', ');
  }
  return (
    `**Coverage: ${c.covered} of ${c.planned} planned cells of the ${preset} preset (${seedList(c.seeds)}) have a result**; ` +
    `still to run: ${left}. Verdicts that need those cells are missing or rest on fewer seeds until they run.`
  );
}

/** One plain line for a terminal: "89 of 111 planned cells have a result; to run: 10 prune, 12 fine-tune (seed 3)". */
export function coverageLine(c: Coverage): string {
  if (c.missing.length === 0) return `all ${c.planned} planned cells have a result (seeds ${c.seeds.join(', ')})`;
  const byProtocol = [...missingByProtocol(c)];
  const left = byProtocol.map(([p, e]) => `${e.cells} ${p}`).join(', ');
  const which = [...new Set(byProtocol.flatMap(([, e]) => [...e.seeds]))].sort((a, b) => a - b);
  return `${c.covered} of ${c.planned} planned cells have a result; to run: ${left} (seed${which.length === 1 ? '' : 's'} ${which.join(', ')})`;
}
