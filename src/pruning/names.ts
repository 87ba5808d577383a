/**
 * The names of the pruning methods and criteria, apart from their code (which needs TensorFlow.js),
 * so that the CLI can print its usage without loading it.
 */

/** Channel-ranking criteria; see criteria.ts for what each reads. */
export const CRITERIA = ['l1', 'l2', 'bn-gamma', 'fpgm', 'taylor', 'hrank', 'random'] as const;
export type Criterion = (typeof CRITERIA)[number];

/** Every pruning method; see apply.ts. */
export const PRUNE_METHODS = ['l1', 'l2', 'random', 'channel', 'slimming', 'reconstruction', 'block', 'vector', 'magnitude'] as const;
export type PruneMethod = (typeof PRUNE_METHODS)[number];

/** Single-weight criteria of weight masks; see vector.ts. */
export const WEIGHT_CRITERIA = ['magnitude', 'lamp', 'grad-magnitude'] as const;
export type WeightCriterion = (typeof WEIGHT_CRITERIA)[number];

/**
 * Kernel-fibre criteria of vector masks; see vector.ts. `l1` sums |w| over the fibre's Cin
 * entries, so under one global threshold the fibres of narrow-input layers rank lowest;
 * `magnitude` is the fibre's mean |w| (its L1 norm / Cin), global magnitude pooled over fibres: a
 * fibre of one weight would score as the weight arm's |w|.
 */
export const VECTOR_CRITERIA = ['l1', 'magnitude'] as const;
export type VectorCriterion = (typeof VECTOR_CRITERIA)[number];
