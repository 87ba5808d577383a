import { arm, defineExperiment, RETHINKING_PROTOCOLS, SMOKE_PRESET } from '../src/protocols/define.ts';
import { CPU_PRESET, CPU_SPARSITY_LAMBDA, PAPER_PRESET, SMALL_PRESET, SMALL_SPARSITY_LAMBDA } from './presets.ts';

/** Rethinking, Network Slimming table: automatically found architectures, Fine-tuned vs Scratch-E/B. */
export default defineExperiment({
  name: 'rethinking-slimming',
  description: 'Rethinking Table (Network Slimming): VGG-19 70%, PreResNet-164 40%/60%, DenseNet-40 40%/60%; Fine-tuned vs Scratch-E/B',
  arms: [
    arm({ id: 'vgg19-70', model: 'vgg19', method: 'slimming', pruneRatio: 0.7, protocols: RETHINKING_PROTOCOLS }),
    arm({ id: 'preresnet164-40', model: 'preresnet164', method: 'slimming', pruneRatio: 0.4, protocols: RETHINKING_PROTOCOLS }),
    arm({ id: 'preresnet164-60', model: 'preresnet164', method: 'slimming', pruneRatio: 0.6, protocols: RETHINKING_PROTOCOLS }),
    arm({ id: 'densenet40-40', model: 'densenet40', method: 'slimming', pruneRatio: 0.4, protocols: RETHINKING_PROTOCOLS }),
    arm({ id: 'densenet40-60', model: 'densenet40', method: 'slimming', pruneRatio: 0.6, protocols: RETHINKING_PROTOCOLS }),
  ],
  presets: {
    smoke: { ...SMOKE_PRESET, armIds: ['vgg19-70'] },
    small: { ...SMALL_PRESET, sparsityLambda: SMALL_SPARSITY_LAMBDA, armIds: ['vgg19-70'] },
    cpu: { ...CPU_PRESET, sparsityLambda: CPU_SPARSITY_LAMBDA, armIds: ['vgg19-70'] },
    paper: PAPER_PRESET,
  },
});
