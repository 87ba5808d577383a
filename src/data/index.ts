/** The data module's public face: data sets, readers, checks, subsets and the batch pipeline. */
export {
  DATASET_NAMES,
  parseDatasetName,
  FASHION_MNIST_SCOPE,
  CIFAR10_CLASSES,
  CIFAR100_FINE_CLASSES,
  CIFAR100_COARSE_CLASSES,
  FASHION_MNIST_CLASSES,
  CIFAR_MEAN,
  CIFAR_STD,
  CIFAR10_SPEC,
  CIFAR100_SPEC,
  FASHION_MNIST_SPEC,
  type DatasetName,
} from './names.ts';
export type { ImageSplit, ImageDataset, ImageShape } from './types.ts';
export type { DataFileInfo } from './files.ts';
export { loadDataset, DEFAULT_SYNTHETIC, type LoadDatasetOptions, type LoadedDataset } from './load.ts';
export { DEFAULT_DATASETS_DIR } from './locate.ts';
export { checkDataset, formatDatasetCheck, type DatasetCheckReport, type SplitCheck, type CheckDatasetOptions } from './check.ts';
export {
  balancedSubset,
  balancedIndices,
  splitValidation,
  takeIndices,
  type BalancedSubsetOptions,
  type ValidationSplitOptions,
} from './subset.ts';
export { batches, numBatches, normalisationTable, type BatchOptions, type Batch } from './batches.ts';
export {
  writeSyntheticCifar,
  writeSyntheticFashionMnist,
  syntheticDataset,
  type WriteSyntheticCifarOptions,
  type SyntheticDatasetOptions,
} from './synthetic.ts';
export { channelStats, classCounts } from './stats.ts';
export { downloadFile, type ProgressSink } from './download.ts';
