/**
 * The data sets prunebench knows, and the facts about each one's official files: layout, record
 * size and count, archive, checksum, class names and normalisation.
 */
import { ConfigError } from '../util/errors.ts';

export const DATASET_NAMES = ['cifar10', 'cifar100', 'fashion-mnist', 'synthetic'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

/** Where Fashion-MNIST is supported: the models take 32x32 RGB images, its files hold 28x28 grey ones. */
export const FASHION_MNIST_SCOPE = 'Fashion-MNIST is read and validated by `prunebench data check` only; the models (and so run, prune and inspect) take 32x32 RGB CIFAR images';

/** Accepts the canonical names plus common spellings ('cifar-10', 'CIFAR100', 'fashion_mnist'). */
export function parseDatasetName(name: string, key = 'dataset'): DatasetName {
  const norm = name.trim().toLowerCase().replace(/_/g, '-');
  const alias: Record<string, DatasetName> = {
    cifar10: 'cifar10',
    'cifar-10': 'cifar10',
    cifar100: 'cifar100',
    'cifar-100': 'cifar100',
    'fashion-mnist': 'fashion-mnist',
    fashionmnist: 'fashion-mnist',
    synthetic: 'synthetic',
  };
  const found = alias[norm];
  if (!found) {
    throw new ConfigError(
      `Unknown dataset '${name}' (${key}); expected one of: ${DATASET_NAMES.join(', ')}.`,
      key,
    );
  }
  return found;
}

export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

export const CIFAR100_FINE_CLASSES = (
  'apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly ' +
  'camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile ' +
  'cup dinosaur dolphin elephant flatfish forest fox girl hamster house kangaroo keyboard lamp ' +
  'lawn_mower leopard lion lizard lobster man maple_tree motorcycle mountain mouse mushroom oak_tree ' +
  'orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy porcupine possum ' +
  'rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper snail snake spider ' +
  'squirrel streetcar sunflower sweet_pepper table tank telephone television tiger tractor train ' +
  'trout tulip turtle wardrobe whale willow_tree wolf woman worm'
).split(' ');

export const CIFAR100_COARSE_CLASSES = (
  'aquatic_mammals fish flowers food_containers fruit_and_vegetables household_electrical_devices ' +
  'household_furniture insects large_carnivores large_man-made_outdoor_things ' +
  'large_natural_outdoor_scenes large_omnivores_and_herbivores medium_mammals ' +
  'non-insect_invertebrates people reptiles small_mammals trees vehicles_1 vehicles_2'
).split(' ');

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/**
 * Normalisation. CIFAR: the values of the reference code (Rethinking / Network Slimming /
 * pytorch-cifar), used for CIFAR-100 too as the reference code does. Note that this "std" is
 * the mean per-image std, not the pixel std of the training set (about 0.247/0.243/0.261);
 * we keep it to match the published training recipe. Fashion-MNIST: the training-set pixel
 * mean and std (0.2860, 0.3530).
 */
export const CIFAR_MEAN = [0.4914, 0.4822, 0.4465];
export const CIFAR_STD = [0.2023, 0.1994, 0.201];
export const FASHION_MNIST_MEAN = [0.286];
export const FASHION_MNIST_STD = [0.353];

/** An official download: one archive (CIFAR) or several plain files (Fashion-MNIST). */
export interface RemoteFile {
  file: string;
  md5: string;
  /** Published size in bytes, used for progress when the server sends no Content-Length. */
  bytes?: number;
}

/** Layout of CIFAR-style fixed-size binary records. */
export interface CifarBinarySpec {
  format: 'cifar-binary';
  name: 'cifar10' | 'cifar100';
  title: string;
  trainFiles: string[];
  testFiles: string[];
  /** Bytes before the pixels: 1 (label) for CIFAR-10, 2 (coarse, fine) for CIFAR-100. */
  labelBytes: 1 | 2;
  recordBytes: number;
  numClasses: number;
  numCoarse?: number;
  /** Official record counts per file, in trainFiles/testFiles order. */
  officialTrainCounts: number[];
  officialTestCount: number;
  metaFile: string;
  coarseMetaFile?: string;
  builtInClasses: string[];
  builtInCoarse?: string[];
  /** Folder names looked for under a data root, the official extracted one first. */
  folderNames: string[];
  archive: RemoteFile;
  /** Top-level folder inside the archive. */
  archiveFolder: string;
  officialBaseUrl: string;
  mean: number[];
  std: number[];
}

export interface IdxSpec {
  format: 'idx';
  name: 'fashion-mnist';
  title: string;
  trainImages: string;
  trainLabels: string;
  testImages: string;
  testLabels: string;
  height: number;
  width: number;
  numClasses: number;
  officialTrainCount: number;
  officialTestCount: number;
  builtInClasses: string[];
  folderNames: string[];
  /** System folders where an OS package installs the files (Debian: dataset-fashion-mnist). */
  systemDirs: string[];
  remoteFiles: RemoteFile[];
  officialBaseUrl: string;
  mean: number[];
  std: number[];
}

export type FileDatasetSpec = CifarBinarySpec | IdxSpec;

export const CIFAR10_SPEC: CifarBinarySpec = {
  format: 'cifar-binary',
  name: 'cifar10',
  title: 'CIFAR-10',
  trainFiles: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
  testFiles: ['test_batch.bin'],
  labelBytes: 1,
  recordBytes: 3073,
  numClasses: 10,
  officialTrainCounts: [10000, 10000, 10000, 10000, 10000],
  officialTestCount: 10000,
  metaFile: 'batches.meta.txt',
  builtInClasses: CIFAR10_CLASSES,
  folderNames: ['cifar-10-batches-bin', 'cifar10', 'cifar-10'],
  archive: { file: 'cifar-10-binary.tar.gz', md5: 'c32a1d4ab5d03f1284b67883e8d87530', bytes: 170052171 },
  archiveFolder: 'cifar-10-batches-bin',
  officialBaseUrl: 'https://www.cs.toronto.edu/~kriz',
  mean: CIFAR_MEAN,
  std: CIFAR_STD,
};

export const CIFAR100_SPEC: CifarBinarySpec = {
  format: 'cifar-binary',
  name: 'cifar100',
  title: 'CIFAR-100',
  trainFiles: ['train.bin'],
  testFiles: ['test.bin'],
  labelBytes: 2,
  recordBytes: 3074,
  numClasses: 100,
  numCoarse: 20,
  officialTrainCounts: [50000],
  officialTestCount: 10000,
  metaFile: 'fine_label_names.txt',
  coarseMetaFile: 'coarse_label_names.txt',
  builtInClasses: CIFAR100_FINE_CLASSES,
  builtInCoarse: CIFAR100_COARSE_CLASSES,
  folderNames: ['cifar-100-binary', 'cifar100', 'cifar-100'],
  archive: { file: 'cifar-100-binary.tar.gz', md5: '03b5dce01913d631647c71ecec9e9cb8', bytes: 168513733 },
  archiveFolder: 'cifar-100-binary',
  officialBaseUrl: 'https://www.cs.toronto.edu/~kriz',
  mean: CIFAR_MEAN,
  std: CIFAR_STD,
};

export const FASHION_MNIST_SPEC: IdxSpec = {
  format: 'idx',
  name: 'fashion-mnist',
  title: 'Fashion-MNIST',
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
  height: 28,
  width: 28,
  numClasses: 10,
  officialTrainCount: 60000,
  officialTestCount: 10000,
  builtInClasses: FASHION_MNIST_CLASSES,
  folderNames: ['fashion-mnist', 'fashion_mnist', 'FashionMNIST'],
  systemDirs: ['/usr/share/datasets/fashion-mnist'],
  remoteFiles: [
    { file: 'train-images-idx3-ubyte.gz', md5: '8d4fb7e6c68d591d4c3dfef9ec88bf0d' },
    { file: 'train-labels-idx1-ubyte.gz', md5: '25c81989df183df01b3e8a0aad5dffbe' },
    { file: 't10k-images-idx3-ubyte.gz', md5: 'bef4ecab320f06d8554ea6380940ec79' },
    { file: 't10k-labels-idx1-ubyte.gz', md5: 'bb300cfdad3c16e7a12a480ee83cd310' },
  ],
  officialBaseUrl: 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com',
  mean: FASHION_MNIST_MEAN,
  std: FASHION_MNIST_STD,
};

export function fileDatasetSpec(name: Exclude<DatasetName, 'synthetic'>): FileDatasetSpec {
  switch (name) {
    case 'cifar10':
      return CIFAR10_SPEC;
    case 'cifar100':
      return CIFAR100_SPEC;
    case 'fashion-mnist':
      return FASHION_MNIST_SPEC;
  }
}
