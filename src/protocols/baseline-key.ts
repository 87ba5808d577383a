import { configHash } from '../util/hash.ts';
import { widthOf, type ExperimentConfig, type PresetName } from './config.ts';
import { estimateSpec } from './estimate.ts';

/**
 * Which trained baseline a cell can reuse (the model zoo, `run --baselines DIR`). A baseline's
 * weights depend on the data, the architecture, the baseline phase, the sparsity penalty and the
 * seed, and on nothing else of its experiment (not the arms, not fine-tuning, not the name), so
 * the baseline trained by one experiment's `cpu` preset serves every experiment whose `cpu`
 * preset trains the same network. The key names it for people; the hash checks it.
 */
export interface BaselineKey {
  model: string;
  width: number;
  dataset: ExperimentConfig['data']['dataset'];
  trainSubset: number;
  preset: PresetName;
  seed: number;
  /** Trained with Network Slimming's L1 penalty on BN gammas (a sparsity-train cell). */
  sparsity: boolean;
  /** That penalty's lambda; null without sparsity training. */
  sparsityLambda: number | null;
}

/** Network Slimming's lambda for a model of this config (VGG or the others), as the cell uses it. */
function lambdaOf(config: ExperimentConfig, model: string): number {
  return estimateSpec(config, model).family === 'vgg' ? config.sparsityLambda.vgg : config.sparsityLambda.other;
}

export function baselineKey(config: ExperimentConfig, model: string, sparsity: boolean, seed: number): BaselineKey {
  return {
    model,
    width: widthOf(config, model),
    dataset: config.data.dataset,
    trainSubset: config.data.trainSubset,
    preset: config.preset,
    seed,
    sparsity,
    sparsityLambda: sparsity ? lambdaOf(config, model) : null,
  };
}

/**
 * Hash of exactly what determines a baseline's trained weights: the data config, the model's
 * resolved spec (width, classes and input included), the baseline phase, the sparsity lambda
 * (when sparsity-trained) and the seed.
 */
export function baselineHash(config: ExperimentConfig, model: string, sparsity: boolean, seed: number): string {
  return configHash({
    data: config.data,
    spec: estimateSpec(config, model),
    baseline: config.baseline,
    sparsityLambda: sparsity ? lambdaOf(config, model) : null,
    seed,
  });
}

/** The key fields in which two keys differ ("preset cpu vs smoke, width 0.25 vs 0.0625"), empty when equal. */
export function keyDifferences(have: BaselineKey, want: BaselineKey): string[] {
  const out: string[] = [];
  for (const k of Object.keys(want) as (keyof BaselineKey)[]) {
    if (have[k] !== want[k]) out.push(`${k} ${String(have[k])} vs ${String(want[k])}`);
  }
  return out;
}

/**
 * What a baseline cell needs to take its trained model from the zoo instead of training it:
 * set on the cell in the run's plan by `run --baselines DIR` (see src/zoo), read by runCell.
 */
export interface ZooBaseline {
  /** The zoo folder and the entry's id in its index. */
  zooDir: string;
  entry: string;
  /** The entry's folder: `trained/` (a saved model) and `record.json` (its result record). */
  dir: string;
  /** Every file of the entry, relative to `dir`, with its sha256: checked again before use. */
  files: { path: string; sha256: string }[];
  baselineHash: string;
  /** sha256 of the initial weights' weights.bin it was trained from (regenerated from the seed; lottery tickets need them). */
  initSha256?: string;
}
