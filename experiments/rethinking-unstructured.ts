import { arm, defineExperiment, RETHINKING_PROTOCOLS, SMOKE_PRESET } from '../src/protocols/define.ts';
import { CPU_PRESET, PAPER_PRESET, SMALL_PRESET } from './presets.ts';

/**
 * Rethinking, non-structured weight pruning (Han et al. 2015 style): one global magnitude
 * threshold, masks fixed while training. Scratch-B's budget uses the effective (non-zero) MACs.
 * The measured latency shows no speedup: the masked model still runs dense kernels.
 */
export default defineExperiment({
  name: 'rethinking-unstructured',
  description: 'Rethinking (unstructured magnitude pruning): VGG-19 and ResNet-56 at 30%/80% of weights; Fine-tuned vs Scratch-E/B',
  arms: [
    arm({ id: 'vgg19-w30', model: 'vgg19', method: 'magnitude', pruneRatio: 0.3, protocols: RETHINKING_PROTOCOLS }),
    // Han et al. prune iteratively; the iterative arm reaches 80% in three prune-fine-tune rounds.
    arm({ id: 'vgg19-w80', model: 'vgg19', method: 'magnitude', pruneRatio: 0.8, protocols: [...RETHINKING_PROTOCOLS, 'iterative'] }),
    arm({ id: 'resnet56-w30', model: 'resnet56', method: 'magnitude', pruneRatio: 0.3, protocols: RETHINKING_PROTOCOLS }),
    arm({ id: 'resnet56-w80', model: 'resnet56', method: 'magnitude', pruneRatio: 0.8, protocols: RETHINKING_PROTOCOLS }),
  ],
  presets: {
    smoke: { ...SMOKE_PRESET, armIds: ['vgg19-w80'] },
    small: { ...SMALL_PRESET, seeds: [1], armIds: ['vgg19-w30', 'vgg19-w80'] },
    // 30%: Scratch-B's budget follows the effective MACs, so 80% would train ~5x the epochs at dense speed.
    cpu: { ...CPU_PRESET, armIds: ['vgg19-w30'] },
    paper: PAPER_PRESET,
  },
});
