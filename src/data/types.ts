/**
 * Plain data types of the data module. Images are kept as uint8 NHWC arrays (the smallest form);
 * they become float32 tensors only batch by batch, in `batches()`.
 */
import type { DatasetName } from './names.ts';

/** One split (train, test, validation or a subset of one) of an image data set. */
export interface ImageSplit {
  /** count * height * width * channels bytes, NHWC order, 0..255. */
  images: Uint8Array;
  /** Class index of each image, 0..numClasses-1. */
  labels: Int32Array;
  /** Number of images. */
  count: number;
  /** CIFAR-100 only: the coarse (super-class) label of each image, 0..19. */
  coarseLabels?: Int32Array;
}

export interface ImageShape {
  h: number;
  w: number;
  c: number;
}

export interface ImageDataset {
  name: DatasetName;
  classNames: string[];
  /** Where the class names came from: the data set's own meta file, or the built-in list. */
  classNamesFrom: 'file' | 'built-in';
  numClasses: number;
  height: number;
  width: number;
  channels: number;
  train: ImageSplit;
  test: ImageSplit;
  /** First 16 hex digits of sha256 over the data files (name + bytes, fixed order). */
  fingerprint: string;
  /** The folder the files were read from ('memory:...' for the in-memory synthetic set). */
  source: string;
  /** Per-channel mean and std (0..1 scale) that `batches()` should normalise with. */
  mean: number[];
  std: number[];
  /** CIFAR-100 only: names of the 20 coarse classes. */
  coarseClassNames?: string[];
}
