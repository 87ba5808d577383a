import { arm, defineExperiment, RETHINKING_PROTOCOLS, SMOKE_PRESET } from '../src/protocols/index.ts';
import { PAPER_PRESET, SMALL_PRESET } from './presets.ts';

/** Rethinking (Liu et al. 2019), Table 1: L1-norm pruned models, Fine-tuned vs Scratch-E vs Scratch-B, 5 seeds. */
export default defineExperiment({
  name: 'rethinking-l1',
  description: 'Rethinking Table 1 (L1-norm filter pruning): Unpruned, Fine-tuned, Scratch-E, Scratch-B over several seeds',
  arms: [
    arm({ id: 'vgg16-A', model: 'vgg16', method: 'l1', profile: 'A', pruneRatio: 0, protocols: RETHINKING_PROTOCOLS }),
    arm({ id: 'resnet56-A', model: 'resnet56', method: 'l1', profile: 'A', pruneRatio: 0, protocols: RETHINKING_PROTOCOLS }),
    arm({ id: 'resnet56-B', model: 'resnet56', method: 'l1', profile: 'B', pruneRatio: 0, protocols: RETHINKING_PROTOCOLS }),
    arm({ id: 'resnet110-A', model: 'resnet110', method: 'l1', profile: 'A', pruneRatio: 0, protocols: RETHINKING_PROTOCOLS }),
    arm({ id: 'resnet110-B', model: 'resnet110', method: 'l1', profile: 'B', pruneRatio: 0, protocols: RETHINKING_PROTOCOLS }),
  ],
  presets: {
    smoke: { ...SMOKE_PRESET, armIds: ['vgg16-A'] },
    small: { ...SMALL_PRESET, seeds: [1, 2, 3], armIds: ['vgg16-A'] },
    paper: PAPER_PRESET,
  },
});
