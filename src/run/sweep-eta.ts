/**
 * Time left for a whole sweep, for the line `run` prints as each cell finishes: "7 of 61 cells
 * done, ~4:10:00 left at this run's pace".
 *
 * Each cell's share of the work is what `prunebench list` estimates with every network's speed
 * taken as proportional to 1 / MACs (epochs x images x MACs of what it trains), so no bench runs
 * before the sweep. The cells this run completes calibrate the scale: seconds per unit of work,
 * measured on this machine under its load. Prune cells train nothing and cost mostly their
 * latency measurements: they count at their own measured mean, not through the scale. A cell that
 * resumes from a checkpoint has only the rest of its epochs to train: its work (for the scale and
 * for the time left) is that remaining share.
 */
import type { ModelSpec } from '../models/index.ts';
import { countSpec } from '../metrics/count.ts';
import { estimatePreset, imageCounts, makespanSeconds } from '../protocols/estimate.ts';
import type { Cell } from '../protocols/cells.ts';
import type { ExperimentConfig } from '../protocols/config.ts';
import { readShapeTable, shapeTableFile, type ShapeOf } from '../protocols/shape.ts';

/** A prune cell's seconds until this run has timed one (an evaluation and the latency measurements). */
const PRUNE_SECONDS_DEFAULT = 30;

/**
 * Work units per MAC of the model a fine-tune cell trains (its epochs of training and evaluation
 * at the speed cellWork assumes): once the prune cell has run, the pruned model's MACs give the
 * fine-tune's work exactly, where the estimate had only a stand-in architecture or none.
 */
export function fineTuneWorkPerMac(config: ExperimentConfig, cells: Cell[]): Map<string, number> {
  const { train, test } = imageCounts(config);
  // As in cellWork: train images at 1e9 / MACs per second, evaluation three times as fast.
  const perEpoch = (train + test / 3) / 1e9;
  return new Map(cells.filter((c) => c.protocol === 'fine-tune').map((c) => [c.id, config.fineTune.epochs * perEpoch]));
}

/** Work units per cell: estimatePreset's seconds at a speed of 1e9 / MACs images per second. */
export function cellWork(config: ExperimentConfig, shapeOf: ShapeOf, fromZoo: ReadonlySet<string>): Map<string, number> {
  const macs = new Map<string, number>();
  const speed = (spec: ModelSpec): number => {
    const k = JSON.stringify(spec);
    let m = macs.get(k);
    if (m === undefined) macs.set(k, (m = countSpec(spec).macs));
    return 1e9 / Math.max(1, m);
  };
  const est = estimatePreset(config, (spec) => ({ trainImagesPerSec: speed(spec), evalImagesPerSec: 3 * speed(spec) }), shapeOf, undefined, { fromZoo });
  return new Map(est.cells.map((c) => [c.cell, c.seconds]));
}

export class SweepEta {
  private trainedWork = 0;
  private trainedSeconds = 0;
  private pruneSeconds: number[] = [];
  /** Share of a cell's epochs trained before this run started it (resumed from a checkpoint). */
  private doneAtStart = new Map<string, number>();

  private readonly work: Map<string, number>;

  constructor(
    private readonly cells: Cell[],
    work: ReadonlyMap<string, number>,
    private readonly jobs: number,
    /** fineTuneWorkPerMac: lets refine() replace a fine-tune's estimated work by its pruned model's. */
    private readonly workPerMac: ReadonlyMap<string, number> = new Map(),
  ) {
    this.work = new Map(work);
  }

  /**
   * A prune cell has run: its pruned model trains at `macs` (dense MACs: masked models train
   * dense), so the fine-tunes that read it get their exact work. Before any of them completes, so
   * that the pace they calibrate is measured against what they really trained.
   */
  refine(pruneCellId: string, macs: number): void {
    if (!(macs > 0)) return;
    for (const c of this.cells) {
      const perMac = this.workPerMac.get(c.id);
      if (perMac !== undefined && c.dependsOn.includes(pruneCellId)) this.work.set(c.id, perMac * macs);
    }
  }

  /** A cell this run starts, with the share (0-1) of its epochs a checkpoint already holds. */
  start(cellId: string, doneShare: number): void {
    if (doneShare > 0) this.doneAtStart.set(cellId, Math.min(Math.max(doneShare, 0), 1));
  }

  /** The work a cell has left as this run started it. */
  private workLeft(id: string): number {
    return (this.work.get(id) ?? 0) * (1 - (this.doneAtStart.get(id) ?? 0));
  }

  /** A cell this run completed, with the wall time this run spent on it. */
  complete(cell: Cell, seconds: number): void {
    if (cell.protocol === 'prune') this.pruneSeconds.push(seconds);
    else if (this.workLeft(cell.id) > 0) {
      this.trainedWork += this.workLeft(cell.id);
      this.trainedSeconds += seconds;
    }
  }

  /** Seconds per work unit on this machine, once a training cell has completed in this run. */
  get scale(): number | null {
    return this.trainedWork > 0 ? this.trainedSeconds / this.trainedWork : null;
  }

  /**
   * Seconds until the cells not yet done are: those pending, and those running (counted from
   * `runningFor` seconds in). Null until a training cell calibrated the scale.
   */
  remainingSeconds(pending: ReadonlySet<string>, runningFor: ReadonlyMap<string, number>): number | null {
    const scale = this.scale;
    if (scale === null) return null;
    const prune = this.pruneSeconds.length ? this.pruneSeconds.reduce((a, b) => a + b, 0) / this.pruneSeconds.length : PRUNE_SECONDS_DEFAULT;
    const left = new Map(this.cells.filter((c) => pending.has(c.id) || runningFor.has(c.id)).map((c) => [c.id, c]));
    const seconds = (id: string): number => {
      const whole = left.get(id)!.protocol === 'prune' ? prune : this.workLeft(id) * scale;
      return Math.max(0, whole - (runningFor.get(id) ?? 0));
    };
    // Dependencies already done are met; the schedule is the runner's (runOrder, `jobs` at once).
    const open = [...left.values()].map((c) => ({ ...c, dependsOn: c.dependsOn.filter((d) => left.has(d)) }));
    return makespanSeconds(open, seconds, this.jobs);
  }
}

/** Pruned shapes from the shape table the build made; an arm it lacks counts at full size (the estimate is rough, not wrong). */
export function tableShapeOf(): ShapeOf {
  const table = readShapeTable(shapeTableFile());
  return (full, arm) => table.get(full, arm) ?? { spec: full, macsEffective: countSpec(full).macs, approximate: true };
}
