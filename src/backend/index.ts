/** Public face of the compute-backend module: backend selection, wasm training kernels, BN helpers. */
import './gradients.ts';
export { BACKEND_NAMES, initBackend, isBackendName } from './select.ts';
export type { BackendInfo, BackendName, ConcreteBackendName, InitBackendOptions } from './select.ts';
export { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from './kernels/register.ts';
export { batchNormInference, batchNormTrain, channelMean, channelMoments } from './batch_norm.ts';
export type { BatchNormOptions } from './batch_norm.ts';
export { spatialSubsample } from './spatial.ts';
export { profileKernels } from './profile.ts';
export type { KernelProfile } from './profile.ts';
export { onednnRuntime } from './onednn/register.ts';
export { sgdUpdate } from './sgd.ts';
export { canReadSync, withSyncReads } from './sync_reads.ts';
export type { SgdUpdateOptions } from './sgd.ts';
