import { defineExperiment, SMOKE_PRESET } from '../src/protocols/define.ts';
import { CPU_PRESET, L1_PROFILE_ARMS, PAPER_PRESET, SMALL_PRESET } from './presets.ts';

/** Rethinking (Liu et al. 2019), Table 1: L1-norm pruned models, Fine-tuned vs Scratch-E vs Scratch-B, 5 seeds. */
export default defineExperiment({
  name: 'rethinking-l1',
  description: 'Rethinking Table 1 (L1-norm filter pruning): Unpruned, Fine-tuned, Scratch-E, Scratch-B over several seeds',
  arms: L1_PROFILE_ARMS,
  presets: {
    smoke: { ...SMOKE_PRESET, armIds: ['vgg16-A'] },
    small: { ...SMALL_PRESET, seeds: [1, 2], armIds: ['vgg16-A'] },
    cpu: { ...CPU_PRESET, armIds: ['vgg16-A', 'resnet56-B'] },
    paper: PAPER_PRESET,
  },
});
