import { balancedSubset, loadDataset, syntheticDataset, type ImageDataset } from '../data/index.ts';
import type { DatasetInfo, ExperimentConfig } from '../protocols/index.ts';
import type { TrainData } from '../train/index.ts';
import { ConfigError } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';

/**
 * The data an experiment trains on: the configured data set, reduced to class-balanced subsets
 * with a fixed seed so every cell of a sweep sees the same images.
 */
export async function loadExperimentData(config: ExperimentConfig, opts: { dataDir?: string; logger: Logger; download?: boolean }): Promise<{ data: TrainData; dataset: DatasetInfo }> {
  let ds: ImageDataset;
  if (config.data.dataset === 'synthetic') {
    const s = config.data.synthetic ?? { trainCount: 256, testCount: 64, imageSize: 32 };
    ds = syntheticDataset({ numClasses: 10, trainCount: s.trainCount, testCount: s.testCount, seed: 0, height: s.imageSize, width: s.imageSize });
  } else {
    ds = await loadDataset({ name: config.data.dataset, logger: opts.logger, ...(opts.dataDir ? { dataDir: opts.dataDir } : {}), ...(opts.download === false ? { download: false } : {}) });
  }
  // A subset larger than the set would be the whole (shorter) set, while the plan and the row say
  // the subset: refused, as the numbers the results are compared on would not be the ones stated.
  for (const [split, key, asked, have] of [['training', 'data.trainSubset', config.data.trainSubset, ds.train.count], ['test', 'data.testSubset', config.data.testSubset, ds.test.count]] as const) {
    if (asked > have) throw new ConfigError(`${key} asks for ${asked} ${split} images, but ${ds.name} (${ds.source}) has only ${have}; set ${key} to at most ${have} (--set ${key}=${have}) or use the full data set`, key);
  }
  const train = config.data.trainSubset > 0 && config.data.trainSubset < ds.train.count ? balancedSubset(ds.train, { total: config.data.trainSubset, seed: 0 }) : ds.train;
  const test = config.data.testSubset > 0 && config.data.testSubset < ds.test.count ? balancedSubset(ds.test, { total: config.data.testSubset, seed: 0 }) : ds.test;
  return {
    data: { train, test, shape: { h: ds.height, w: ds.width, c: ds.channels }, mean: ds.mean, std: ds.std },
    dataset: { name: ds.name, fingerprint: ds.fingerprint, numClasses: ds.numClasses, trainCount: train.count, testCount: test.count },
  };
}
