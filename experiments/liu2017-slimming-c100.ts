import { arm, defineExperiment, SMOKE_PRESET } from '../src/protocols/define.ts';
import { CPU_EPOCHS, CPU_PRESET, CPU_SPARSITY_LAMBDA, PAPER_PRESET, SMALL_PRESET, SMALL_SPARSITY_LAMBDA } from './presets.ts';

/** Network Slimming Table 1, CIFAR-100 rows (VGG-19 50%, PreResNet-164 40%/60%). Needs CIFAR-100 files. */
export default defineExperiment({
  name: 'liu2017-slimming-c100',
  description: 'Network Slimming Table 1 (CIFAR-100): VGG-19 50%, PreResNet-164 40%/60%',
  arms: [
    arm({ id: 'vgg19-50', model: 'vgg19', method: 'slimming', pruneRatio: 0.5, protocols: ['fine-tune'] }),
    arm({ id: 'preresnet164-40', model: 'preresnet164', method: 'slimming', pruneRatio: 0.4, protocols: ['fine-tune'] }),
    arm({ id: 'preresnet164-60', model: 'preresnet164', method: 'slimming', pruneRatio: 0.6, protocols: ['fine-tune'] }),
  ],
  presets: {
    smoke: { ...SMOKE_PRESET, armIds: ['vgg19-50'] },
    small: { ...SMALL_PRESET, sparsityLambda: SMALL_SPARSITY_LAMBDA, data: { dataset: 'cifar100', trainSubset: 5000, testSubset: 2000 }, seeds: [1], armIds: ['vgg19-50'] },
    cpu: { ...CPU_PRESET, sparsityLambda: CPU_SPARSITY_LAMBDA, data: { dataset: 'cifar100', trainSubset: 0, testSubset: 0 }, seeds: [1], armIds: ['vgg19-50'], fineTune: { epochs: CPU_EPOCHS, lr: 0.1, schedule: { kind: 'step' } } },
    paper: { ...PAPER_PRESET, data: { dataset: 'cifar100', trainSubset: 0, testSubset: 0 }, seeds: [1], fineTune: { epochs: 160, lr: 0.1, schedule: { kind: 'step' } } },
  },
});
