/**
 * The model zoo: trained baselines kept for reuse (`run --baselines DIR`). store.ts is the
 * folder's format (TensorFlow-free, for `zoo list`); match.ts decides which baseline cells of a
 * run it serves. Adding a run's baseline is src/run/zoo-add.ts (it reads run folders).
 */
export * from './store.ts';
export * from './match.ts';
