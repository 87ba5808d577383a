export * from './spec.ts';
export * from './graph.ts';
export * from './params.ts';
export * from './registry.ts';
export * from './model.ts';
export * from './io.ts';
export { BN_EPSILON, BN_MOMENTUM } from './bn.ts';
export { vggConvWidths } from './families/vgg.ts';
export { resnetDepth } from './families/resnet.ts';
