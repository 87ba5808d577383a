import { arm, defineExperiment, SMOKE_PRESET } from '../src/protocols/define.ts';
import { CPU_PRESET, CPU_SPARSITY_LAMBDA, PAPER_PRESET, SMALL_PRESET, SMALL_SPARSITY_LAMBDA } from './presets.ts';

/**
 * Rethinking, Section 5 (pruning as architecture search): the architecture Network Slimming
 * finds vs a uniformly pruned one with the same parameter count, both trained from scratch.
 */
export default defineExperiment({
  name: 'rethinking-architecture-search',
  description: 'Rethinking Sec. 5: automatically found (Network Slimming) vs uniform architectures at equal parameters, trained from scratch',
  arms: [
    arm({ id: 'vgg19-70', model: 'vgg19', method: 'slimming', pruneRatio: 0.7, protocols: ['scratch-E', 'uniform-scratch'] }),
    arm({ id: 'preresnet164-40', model: 'preresnet164', method: 'slimming', pruneRatio: 0.4, protocols: ['scratch-E', 'uniform-scratch'] }),
  ],
  presets: {
    smoke: { ...SMOKE_PRESET, armIds: ['vgg19-70'] },
    small: { ...SMALL_PRESET, sparsityLambda: SMALL_SPARSITY_LAMBDA, armIds: ['vgg19-70'] },
    cpu: { ...CPU_PRESET, sparsityLambda: CPU_SPARSITY_LAMBDA, armIds: ['vgg19-70'] },
    paper: PAPER_PRESET,
  },
});
