import { arm, defineExperiment, RETHINKING_PROTOCOLS, SMOKE_PRESET } from '../src/protocols/define.ts';
import { CPU_PRESET, PAPER_PRESET } from './presets.ts';

/**
 * What `npm start` runs: about 1.5 minutes on this 2-core machine with the real CIFAR-10 on
 * onednn (about 6 on wasm). A small VGG baseline, L1 filter pruning of 30% of every layer, then
 * fine-tuning, Scratch-E and Scratch-B, results and a report. Without CIFAR-10 it stops and says
 * how to provide it.
 */
export default defineExperiment({
  name: 'quickstart',
  description: 'Quickstart: VGG-tiny on a 3,000-image CIFAR-10 subset, L1 pruning 30% per layer, Fine-tuned vs Scratch-E/B',
  arms: [arm({ id: 'vgg-tiny-l1-30', model: 'vgg-tiny', method: 'l1', pruneRatio: 0.3, protocols: RETHINKING_PROTOCOLS })],
  presets: {
    smoke: { ...SMOKE_PRESET, widthMultiplier: 0.5 },
    small: { data: { dataset: 'cifar10', trainSubset: 3000, testSubset: 1000 }, widthMultiplier: 1, baseline: { epochs: 8 }, fineTune: { epochs: 3 }, seeds: [1] },
    cpu: { ...CPU_PRESET, widthMultiplier: 1, seeds: [1] },
    paper: PAPER_PRESET,
  },
});
