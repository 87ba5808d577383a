/**
 * The fixed, documented column set of every results CSV (`results/<experiment>.csv`).
 * One row per cell run. Reports read only these columns; renaming one is a breaking change.
 */
export const RUN_COLUMNS = [
  'run_id', // unique id of this run: <cell>@<timestamp>
  'experiment', // experiment name, e.g. rethinking-l1
  'preset', // smoke | small | paper
  'cell', // cell id inside the experiment (config x seed), stable across runs
  'protocol', // see PROTOCOLS
  'model', // model name, e.g. vgg16, resnet56
  'dataset', // cifar10 | cifar100 | fashion-mnist | synthetic
  'dataset_fingerprint', // sha256 prefix of the data files
  'train_subset', // number of training images used (0 = all)
  'test_images', // number of test images the accuracies are measured on ('' in rows written before it was recorded)
  'method', // see METHODS; 'none' for unpruned runs
  'granularity', // see GRANULARITIES
  'ratio_style', // predefined | automatic | none
  'criterion', // importance criterion: l1 | l2 | bn-gamma | random | reconstruction | magnitude | none
  'scope', // where the criterion's scores are compared: layerwise | global | none (block, reconstruction, unpruned)
  'profile', // named published profile (A, B) or '' for a uniform ratio
  'prune_ratio', // fraction removed (0 for unpruned); channel fraction or weight fraction
  'target_kind', // exact budget the prune searched for: speedup (MACs base / pruned) | compression (params base / pruned) | '' (a ratio)
  'target', // the budget's value, e.g. 2 ('' without a target)
  'achieved', // the pruned model's value of target_kind (within 1% of target, or the nearest whole units allow): on the prune row and on the rows that train its model further (fine-tune, Scratch; for rows written before 2026-12-07 the CSV rebuild counts it from the row's own columns); '' elsewhere
  'criterion_seconds', // seconds the criterion took to score the channels, weights, kernel fibres or blocks, by the prune cell (repeated on its fine-tune and Scratch rows like achieved; for older rows the CSV rebuild copies it from the prune row); '' elsewhere
  'calibration_batches', // batches of data the criterion read (0 for weight-only criteria)
  'seed',
  'epochs_configured', // epochs from the config
  'epochs_derived', // epochs actually trained (Scratch-B's budget-scaled count); = configured otherwise
  'params', // parameters of the final model, BN included (physical count)
  'params_without_bn',
  'macs', // multiply-accumulates of conv + linear layers per image (forward)
  'flops', // = 2 x macs
  'params_effective', // non-zero weights (differs from params for masked/unstructured models)
  'macs_effective', // MACs counting only non-zero weights
  'params_base', // params of the unpruned model of the same cell
  'macs_base', // macs of the unpruned model of the same cell
  'params_reduction_pct', // 100 * (1 - params_effective / params_base)
  'macs_reduction_pct', // 100 * (1 - macs_effective / macs_base)
  'top1_before_finetune', // test accuracy right after pruning ('' when not applicable)
  'top1_final', // test accuracy (%) after the last epoch: THE result
  'top1_best', // best test accuracy over epochs (%), what the reference code reports; selection on test
  'best_epoch',
  'wall_time_s', // the cell's wall time; a resumed cell's includes the epochs trained before the resume (older records count only the last process)
  'train_images_per_sec',
  'latency_ms_b1', // median inference latency at batch 1 on the run's backend
  'infer_images_per_sec_b64', // inference throughput at batch 64 on the run's backend
  // Per-runtime inference cost (experiments with latencyRuntimes, see LATENCY_RUNTIMES): the model
  // and the unpruned model of its spec timed alternately on that runtime ('' where not measured).
  'latency_ms_b1_onednn', // median batch-1 latency on prunebench's onednn backend (1 thread)
  'base_latency_ms_b1_onednn', // the same, of the unpruned model
  'infer_images_per_sec_b64_onednn', // batch-64 throughput on onednn
  'base_infer_images_per_sec_b64_onednn',
  'latency_ms_b1_wasm', // ... on tfjs's wasm backend (with prunebench's kernels)
  'base_latency_ms_b1_wasm',
  'infer_images_per_sec_b64_wasm',
  'base_infer_images_per_sec_b64_wasm',
  'latency_ms_b1_ort', // ... in ONNX Runtime (CPU execution provider, 1 thread) on the ONNX export
  'base_latency_ms_b1_ort',
  'infer_images_per_sec_b64_ort',
  'base_infer_images_per_sec_b64_ort',
  'backend', // wasm | cpu | tensorflow | tensorflow-gpu
  'tfjs_version',
  'node_version',
  'git_commit',
  'git_dirty', // true | false
  'config_hash',
  'status', // ok | failed
  'error', // error message when failed
  'started_at', // ISO time
  'finished_at', // ISO time
] as const;

export type RunColumn = (typeof RUN_COLUMNS)[number];

/** A result row as read from / written to CSV: every column present, values as strings or numbers. */
export type RunRow = Record<RunColumn, string | number | boolean>;

export const PROTOCOLS = [
  'baseline', // train the unpruned model
  'sparsity-train', // Network Slimming's L1-on-gamma training of the unpruned model
  'prune', // pruned model evaluated without any training
  'fine-tune', // pruned model with inherited weights, trained further
  'scratch-E', // pruned architecture, random init, same epochs as the baseline
  'scratch-B', // pruned architecture, random init, the baseline's compute budget
  'iterative', // prune a fraction, fine-tune, repeat to the target
  'gradual', // Zhu & Gupta's AGP: from the baseline, masks tightened on a cubic schedule during the fine-tune budget
  'uniform-scratch', // uniformly pruned architecture at equal params to an automatic one, from scratch
  'lottery-ticket', // pruned architecture / mask re-initialised with the original initial weights
] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** Protocols whose rows hold the unpruned model: nothing was pruned, so nothing is achieved or re-measured per runtime. */
export const UNPRUNED_PROTOCOLS: ReadonlySet<string> = new Set<Protocol>(['baseline', 'sparsity-train']);

export const METHODS = [
  'none',
  'l1', // Li et al. 2017 L1-norm filter pruning
  'l2',
  'random',
  'slimming', // Liu et al. 2017 Network Slimming
  'magnitude', // unstructured weight magnitude pruning
  'reconstruction', // ThiNet-style greedy selection minimising next-layer error
  'block', // whole residual blocks (layer granularity)
  'vector', // 1x1xC kernel fibres
  'channel', // channels ranked by the arm's criterion (any of the pruning criteria), layerwise or global
] as const;
export type Method = (typeof METHODS)[number];

/**
 * The scope column's value for a method whose arm does not set one: channel criteria rank
 * layerwise, slimming and masks globally; block removal and reconstruction have no scope.
 */
export function defaultScope(method: string): 'layerwise' | 'global' | 'none' {
  if (method === 'none' || method === 'block' || method === 'reconstruction') return 'none';
  return method === 'slimming' || method === 'magnitude' || method === 'vector' ? 'global' : 'layerwise';
}

export const GRANULARITIES = ['none', 'layer', 'channel', 'vector', 'weight'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

export const RATIO_STYLES = ['none', 'predefined', 'automatic'] as const;
export type RatioStyle = (typeof RATIO_STYLES)[number];

export const RUN_STATUSES = ['ok', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** One epoch of a training curve. Accuracies in percent. */
export interface CurvePoint {
  epoch: number; // 1-based
  lr: number;
  trainLoss: number;
  trainAcc: number;
  testLoss: number;
  testAcc: number;
}

/** A layer's width in an architecture, for the per-layer width figure. */
export interface LayerWidth {
  layer: string; // node name, e.g. features.3.conv or layer1.0.conv1
  index: number; // order of the layer in the network
  channels: number;
}

/**
 * Runtimes an experiment can time its models on besides the cell's own backend (ExperimentConfig
 * latencyRuntimes): prunebench's onednn and wasm backends, and ONNX Runtime (CPU) on the ONNX
 * export, the 'existing library' of the seed's claim that only layer and channel pruning speed up
 * without special kernels. Each has four columns (see RUN_COLUMNS and runtimeColumns).
 */
export const LATENCY_RUNTIMES = ['onednn', 'wasm', 'ort'] as const;
export type LatencyRuntime = (typeof LATENCY_RUNTIMES)[number];

/** The columns of the runtimes' paired inference costs. */
export type RuntimeColumn = `${'' | 'base_'}${'latency_ms_b1' | 'infer_images_per_sec_b64'}_${LatencyRuntime}`;

/** The four columns of a runtime's paired inference cost. */
export function runtimeColumns(rt: LatencyRuntime): { latency: RuntimeColumn; baseLatency: RuntimeColumn; throughput: RuntimeColumn; baseThroughput: RuntimeColumn } {
  return {
    latency: `latency_ms_b1_${rt}`,
    baseLatency: `base_latency_ms_b1_${rt}`,
    throughput: `infer_images_per_sec_b64_${rt}`,
    baseThroughput: `base_infer_images_per_sec_b64_${rt}`,
  };
}

/** Inference cost of a model and of the unpruned model of its spec, timed alternately in one process. */
export interface PairedInferenceCost {
  latencyMsBatch1: number;
  imagesPerSecBatch64: number;
  baseLatencyMsBatch1: number;
  baseImagesPerSecBatch64: number;
}

/**
 * The JSON record written next to each row, at `results/<experiment>/runs/<run_id>.json`.
 * Holds what does not fit a flat row: the resolved config, the plan, curves, architectures.
 */
export interface RunRecord {
  row: RunRow;
  config: unknown; // the fully resolved, frozen config of the cell
  keepPlan?: unknown; // the KeepPlan applied (pruned runs)
  architecture?: LayerWidth[]; // per-layer widths of the final model
  curve: CurvePoint[];
  /** |gamma| of every BN channel of the final model (baseline and sparsity-train runs). */
  bnGammas?: number[];
  /**
   * Inference cost of the final model and of the unpruned model of the same spec, timed
   * alternately in the same process (so the speedup is not an artefact of machine load).
   */
  cost?: PairedInferenceCost;
  /**
   * Experiments with latencyRuntimes: the same paired cost on each listed runtime (the cell's own
   * backend's is `cost` again), or why that runtime could not be measured in this process.
   */
  runtimes?: Partial<Record<LatencyRuntime, PairedInferenceCost | { missing: string }>>;
  /** Layers saved by the minimum-channels guard during pruning. */
  guardedLayers?: string[];
  /**
   * Prune cells: the fraction of the method's units removed and, for Network Slimming, the
   * global |gamma| threshold and the rule that placed it ('floor' or 'reference').
   */
  prune?: {
    removedFraction: number;
    thresholdRule?: string;
    threshold?: number;
    removedBlocks?: string[];
    /** With an exact budget: target, achieved, exact (within 1%) or nearest, and the searched setting (ratio or block count). */
    budget?: { kind: string; target: number; achieved: number; status: string; setting: number };
  };
  error?: { message: string; stack?: string };
  /** The native library behind the backend column, where there is one (onednn: version, ISA, threads). */
  backendDetail?: string;
  /**
   * Baseline cells taken from a model zoo (`run --baselines DIR`) rather than trained: where the
   * weights came from. The row's measurements, backend and commit are then the source run's
   * (they describe how the weights were trained); its identity (run_id, experiment, cell,
   * config_hash, times) is this run's.
   */
  baselineSource?: { zoo: string; entry: string; baselineHash: string; experiment: string; cell: string; runId: string; startedAt: string; finishedAt: string };
}
