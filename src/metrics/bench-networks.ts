/** The default networks of `prunebench bench` (apart from bench.ts, which loads TensorFlow.js, for its usage text). */
/** `name@w` is the model at width multiplier w (vgg16@0.25 = VGG-16 at 1/4 width). */
export const BENCH_NETWORKS = ['vgg-tiny', 'vgg-tiny-wide', 'resnet20', 'vgg16@0.25'] as const;
