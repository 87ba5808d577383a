/** Batch-norm constants (PyTorch's) and the batch-norm functions the models use. */
export const BN_EPSILON = 1e-5;
/** PyTorch's BatchNorm momentum: running = (1 - m) * running + m * batch. */
export const BN_MOMENTUM = 0.1;

/**
 * Training-mode BN with batch statistics (biased batch variance; the running average uses the
 * unbiased one, as PyTorch does) and inference-mode BN with the running statistics, both with an
 * optional fused ReLU. The backend's versions run natively where it can (onednn) and through
 * fast per-channel reductions without full-size tiles elsewhere.
 */
export { batchNormInference, batchNormTrain } from '../backend/index.ts';
