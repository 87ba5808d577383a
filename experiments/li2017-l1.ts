import { arm, defineExperiment, RETHINKING_PROTOCOLS, SMOKE_PRESET } from '../src/protocols/index.ts';
import { PAPER_PRESET, SMALL_PRESET } from './presets.ts';

/** Li et al. 2017, Table 1: L1-norm filter pruning with the published profiles, fine-tuned, and retrained from scratch. */
export default defineExperiment({
  name: 'li2017-l1',
  description: 'Li et al. 2017 Table 1: VGG-16-A, ResNet-56-A/B, ResNet-110-A/B by L1 filter norm; fine-tuned vs Scratch-E/B',
  arms: [
    arm({ id: 'vgg16-A', model: 'vgg16', method: 'l1', profile: 'A', pruneRatio: 0, protocols: RETHINKING_PROTOCOLS }),
    arm({ id: 'resnet56-A', model: 'resnet56', method: 'l1', profile: 'A', pruneRatio: 0, protocols: RETHINKING_PROTOCOLS }),
    arm({ id: 'resnet56-B', model: 'resnet56', method: 'l1', profile: 'B', pruneRatio: 0, protocols: RETHINKING_PROTOCOLS }),
    arm({ id: 'resnet110-A', model: 'resnet110', method: 'l1', profile: 'A', pruneRatio: 0, protocols: RETHINKING_PROTOCOLS }),
    arm({ id: 'resnet110-B', model: 'resnet110', method: 'l1', profile: 'B', pruneRatio: 0, protocols: RETHINKING_PROTOCOLS }),
  ],
  presets: {
    smoke: { ...SMOKE_PRESET, armIds: ['vgg16-A', 'resnet56-B'] },
    small: { ...SMALL_PRESET, seeds: [1], armIds: ['vgg16-A', 'resnet56-A', 'resnet56-B'] },
    // Li et al. retrain 40 epochs at lr 0.001 after pruning (Table 1 "fine-tuned").
    paper: { ...PAPER_PRESET, seeds: [1] },
  },
});
