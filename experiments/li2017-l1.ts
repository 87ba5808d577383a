import { defineExperiment, SMOKE_PRESET } from '../src/protocols/define.ts';
import { CPU_PRESET, L1_PROFILE_ARMS, PAPER_PRESET, SMALL_PRESET } from './presets.ts';

/** Li et al. 2017, Table 1: L1-norm filter pruning with the published profiles, fine-tuned, and retrained from scratch. */
export default defineExperiment({
  name: 'li2017-l1',
  description: 'Li et al. 2017 Table 1: VGG-16-A, ResNet-56-A/B, ResNet-110-A/B by L1 filter norm; fine-tuned vs Scratch-E/B',
  arms: L1_PROFILE_ARMS,
  presets: {
    smoke: { ...SMOKE_PRESET, armIds: ['vgg16-A', 'resnet56-B'] },
    small: { ...SMALL_PRESET, seeds: [1], armIds: ['vgg16-A', 'resnet56-A', 'resnet56-B'] },
    // Li et al. retrain 40 epochs at lr 0.001 after pruning (Table 1 "fine-tuned").
    cpu: { ...CPU_PRESET, seeds: [1], armIds: ['vgg16-A', 'resnet56-B'] },
    paper: { ...PAPER_PRESET, seeds: [1] },
  },
});
