import { arm, defineExperiment, SMOKE_PRESET } from '../src/protocols/define.ts';
import { CPU_PRESET, PAPER_PRESET, SMALL_PRESET } from './presets.ts';

/**
 * Rethinking, Section 6 (lottery ticket hypothesis): the pruned architecture (structured) or
 * mask (unstructured) trained from the ORIGINAL initial weights vs from a fresh random init.
 */
export default defineExperiment({
  name: 'rethinking-lottery',
  description: 'Rethinking vs lottery tickets: original init (winning ticket) vs random init for L1-pruned VGG-16-A and 80% magnitude-pruned VGG-19',
  arms: [
    arm({ id: 'vgg16-A', model: 'vgg16', method: 'l1', profile: 'A', pruneRatio: 0, protocols: ['lottery-ticket', 'scratch-E', 'fine-tune'] }),
    arm({ id: 'vgg19-w80', model: 'vgg19', method: 'magnitude', pruneRatio: 0.8, protocols: ['lottery-ticket', 'scratch-E', 'fine-tune'] }),
  ],
  presets: {
    smoke: { ...SMOKE_PRESET, armIds: ['vgg16-A', 'vgg19-w80'] },
    small: { ...SMALL_PRESET, seeds: [1] },
    cpu: CPU_PRESET,
    paper: PAPER_PRESET,
  },
});
