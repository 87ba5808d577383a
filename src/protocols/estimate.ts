/**
 * Wall-time estimate of a preset before anything trains (`prunebench list`): every cell's epochs
 * (Scratch-B's from the FLOPs ratio of the pruned architecture it will really get) times the
 * measured seconds per epoch of the network it trains. Speeds come from the caller (a short
 * `bench` on the chosen backend), and so do the pruned shapes (shape-compute.ts, or a table of
 * them): this module does no timing, loads no TensorFlow.js and is testable.
 */
import { scratchBudgetEpochs } from '../metrics/budget.ts';
import { countSpec } from '../metrics/count.ts';
import { ConfigError } from '../util/errors.ts';
import { modelSpec } from '../models/registry.ts';
import type { ModelSpec } from '../models/spec.ts';
import type { Protocol } from '../results/columns.ts';
import { expandCells, runOrder, type Cell } from './cells.ts';
import { iterativeSchedule, widthOf, type Arm, type ExperimentConfig } from './config.ts';
import type { PrunedShape, ShapeOf } from './shape.ts';

/** Measured throughput of one architecture on the chosen backend. */
export interface SpecSpeed {
  trainImagesPerSec: number;
  /** Evaluation throughput (inference at batch 64). */
  evalImagesPerSec: number;
}

export type SpeedOf = (spec: ModelSpec) => SpecSpeed;

export interface CellEstimate {
  cell: string;
  protocol: Protocol;
  epochs: number;
  seconds: number;
  /** The pruned architecture is a stand-in (automatic ratios are only known after the prune). */
  approximate: boolean;
}

export interface PresetEstimate {
  cells: CellEstimate[];
  /** Wall time on `jobs` parallel jobs (one core each), started in the runner's order; when asked for. */
  parallel?: { jobs: number; seconds: number };
  /** All cells one after another (`--jobs 1`). */
  serialSeconds: number;
  /** The longest dependency chain: no number of jobs finishes sooner. */
  criticalPathSeconds: number;
  approximate: boolean;
}

export function imageCounts(config: ExperimentConfig): { train: number; test: number } {
  const d = config.data;
  if (d.dataset === 'synthetic') return { train: d.synthetic?.trainCount ?? 0, test: d.synthetic?.testCount ?? 0 };
  return { train: d.trainSubset || 50_000, test: d.testSubset || 10_000 };
}

/** The unpruned spec a cell of this config trains (input shape and classes of its dataset). */
export function estimateSpec(config: ExperimentConfig, model: string): ModelSpec {
  const side = config.data.dataset === 'synthetic' ? (config.data.synthetic?.imageSize ?? 32) : 32;
  return modelSpec(model, {
    numClasses: config.data.dataset === 'cifar100' ? 100 : 10,
    widthMultiplier: widthOf(config, model),
    input: { height: side, width: side, channels: 3 },
  });
}

/** Every architecture the preset trains, unpruned and pruned, for the caller to measure. */
export function specsToMeasure(config: ExperimentConfig, shapeOf: ShapeOf): ModelSpec[] {
  const specs = new Map<string, ModelSpec>();
  for (const arm of config.arms) {
    const full = estimateSpec(config, arm.model);
    specs.set(JSON.stringify(full), full);
    const pruned = shapeOf(full, arm).spec;
    specs.set(JSON.stringify(pruned), pruned);
  }
  return [...specs.values()];
}

/** Epochs each protocol trains, Scratch-B's from the real FLOPs ratio. */
export function cellEpochs(config: ExperimentConfig, protocol: Protocol, arm: Arm | undefined, macsFull: number, macsPruned: number): number {
  const E = config.baseline.epochs;
  switch (protocol) {
    case 'baseline':
    case 'sparsity-train':
    case 'scratch-E':
    case 'lottery-ticket':
    case 'uniform-scratch':
      return E;
    case 'scratch-B':
      return scratchBudgetEpochs(E, macsFull, macsPruned);
    case 'fine-tune':
    case 'gradual':
      return config.fineTune.epochs;
    case 'iterative': {
      const { rounds, epochsPerRound } = iterativeSchedule(arm ?? {}, config.fineTune.epochs);
      return rounds * epochsPerRound;
    }
    case 'prune':
      return 0;
  }
}

/**
 * Wall time of the cells on `jobs` slots, started as the local runner starts them (ready cells
 * in `runOrder`, each as soon as a slot is free and its dependencies finished). Assumes each cell
 * keeps its own speed beside the others, i.e. one core per job.
 */
export function makespanSeconds(cells: Cell[], seconds: (id: string) => number, jobs: number): number {
  if (!(Number.isInteger(jobs) && jobs >= 1)) throw new ConfigError(`jobs must be a positive integer, got ${jobs}`, 'jobs');
  const finish = new Map<string, number>();
  const pending = [...cells];
  const running: { id: string; end: number }[] = [];
  let now = 0;
  for (;;) {
    const ready = pending.filter((c) => c.dependsOn.every((d) => finish.has(d))).sort(runOrder);
    for (const c of ready.slice(0, jobs - running.length)) {
      pending.splice(pending.indexOf(c), 1);
      running.push({ id: c.id, end: now + seconds(c.id) });
    }
    if (running.length === 0) break;
    running.sort((a, b) => a.end - b.end);
    now = running[0]!.end;
    while (running.length > 0 && running[0]!.end <= now) finish.set(running.shift()!.id, now);
  }
  if (pending.length > 0) throw new ConfigError(`cells wait for cells not in the plan: ${pending.map((c) => c.id).join(', ')}`, 'cells');
  return now;
}

/**
 * `shapeOf`: each arm's pruned shape (shape-compute.ts's prunedShape, or a ShapeTable's).
 * `fromZoo`: ids of the baseline cells a model zoo serves (`--baselines DIR`); they train
 * nothing (0 epochs, 0 s: a copy of a few MB).
 */
export function estimatePreset(config: ExperimentConfig, speedOf: SpeedOf, shapeOf: ShapeOf, jobs?: number, opts: { fromZoo?: ReadonlySet<string> } = {}): PresetEstimate {
  const { train, test } = imageCounts(config);
  const cells = expandCells(config);
  const shapes = new Map<string, ArmShape>();
  // MACs counted once per arm, not per cell: counting a graph was most of `prunebench list`'s time.
  for (const arm of config.arms) {
    const full = estimateSpec(config, arm.model);
    shapes.set(arm.id, { full, macsFull: countSpec(full).macs, pruned: shapeOf(full, arm) });
  }
  const epochSeconds = (spec: ModelSpec): number => {
    const s = speedOf(spec);
    return train / s.trainImagesPerSec + test / s.evalImagesPerSec;
  };
  const estimates = new Map<string, CellEstimate>();
  for (const cell of cells) {
    const zoo = opts.fromZoo?.has(cell.id) ?? false;
    estimates.set(cell.id, zoo ? { cell: cell.id, protocol: cell.protocol, epochs: 0, seconds: 0, approximate: false } : estimateCell(config, cell, shapes, epochSeconds, test, speedOf));
  }
  const secondsOf = (id: string): number => estimates.get(id)!.seconds;
  const list = [...estimates.values()];
  return {
    cells: list,
    ...(jobs !== undefined ? { parallel: { jobs, seconds: makespanSeconds(cells, secondsOf, jobs) } } : {}),
    serialSeconds: list.reduce((s, c) => s + c.seconds, 0),
    // With a slot for every cell, each starts as soon as its dependencies finish.
    criticalPathSeconds: makespanSeconds(cells, secondsOf, Math.max(1, cells.length)),
    approximate: list.some((c) => c.approximate),
  };
}

interface ArmShape {
  full: ModelSpec;
  macsFull: number;
  pruned: PrunedShape;
}

function estimateCell(
  config: ExperimentConfig,
  cell: Cell,
  shapes: Map<string, ArmShape>,
  epochSeconds: (spec: ModelSpec) => number,
  testImages: number,
  speedOf: SpeedOf,
): CellEstimate {
  const arm = config.arms.find((a) => a.id === cell.arm);
  const shape = arm ? shapes.get(arm.id)! : undefined;
  const full = shape?.full ?? estimateSpec(config, cell.model);
  // Gradual pruning trains the full architecture with masks (channels are compacted only at the end).
  const trained = cell.protocol === 'baseline' || cell.protocol === 'sparsity-train' || cell.protocol === 'gradual' || !shape ? full : shape.pruned.spec;
  const macsFull = shape?.macsFull ?? countSpec(full).macs;
  const epochs = cellEpochs(config, cell.protocol, arm, macsFull, shape?.pruned.macsEffective ?? macsFull);
  // The prune cell trains nothing; it evaluates the pruned model once.
  const seconds = cell.protocol === 'prune' ? testImages / speedOf(trained).evalImagesPerSec : epochs * epochSeconds(trained);
  return { cell: cell.id, protocol: cell.protocol, epochs, seconds, approximate: Boolean(shape?.pruned.approximate) && cell.protocol !== 'baseline' && cell.protocol !== 'sparsity-train' };
}
