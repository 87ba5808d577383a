import type { TrainData } from '../train/index.ts';
import type { Logger } from '../util/log.ts';
import type { ExperimentConfig } from './config.ts';

/** Facts every result row carries about where and how it ran. */
export interface RunEnvironment {
  backend: string;
  tfjsVersion: string;
  nodeVersion: string;
  gitCommit: string;
  gitDirty: boolean;
}

export interface DatasetInfo {
  name: string;
  fingerprint: string;
  numClasses: number;
  trainCount: number;
  /** Test images the cell is measured on (the subset, or the whole test set). */
  testCount: number;
}

/** Everything a cell needs; built once per process by the runner. */
export interface RunContext {
  config: ExperimentConfig;
  configHash: string;
  /** Artifacts (trained and pruned models), checkpoints and cell status live here. */
  runDir: string;
  resultsDir: string;
  data: TrainData;
  dataset: DatasetInfo;
  env: RunEnvironment;
  logger: Logger;
  progressStream?: (NodeJS.WritableStream & { isTTY?: boolean }) | null;
}
