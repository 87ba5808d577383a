import { arm, defineExperiment, SMOKE_PRESET } from '../src/protocols/define.ts';
import { CPU_EPOCHS, CPU_PRESET, CPU_SPARSITY_LAMBDA, PAPER_PRESET, SMALL_PRESET, SMALL_SPARSITY_LAMBDA } from './presets.ts';

/**
 * Network Slimming (Liu et al. 2017) Table 1, CIFAR-10 rows: sparsity training (lambda 1e-4 VGG,
 * 1e-5 ResNet/DenseNet), one global BN-gamma threshold, then fine-tuning with the training
 * schedule (160 epochs, lr 0.1). The CIFAR-100 rows are `liu2017-slimming-c100`.
 */
export default defineExperiment({
  name: 'liu2017-slimming',
  description: 'Network Slimming Table 1 (CIFAR-10): VGG-19 70%, PreResNet-164 40%/60%, DenseNet-40 40%/70%',
  arms: [
    arm({ id: 'vgg19-70', model: 'vgg19', method: 'slimming', pruneRatio: 0.7, protocols: ['fine-tune'] }),
    arm({ id: 'preresnet164-40', model: 'preresnet164', method: 'slimming', pruneRatio: 0.4, protocols: ['fine-tune'] }),
    arm({ id: 'preresnet164-60', model: 'preresnet164', method: 'slimming', pruneRatio: 0.6, protocols: ['fine-tune'] }),
    arm({ id: 'densenet40-40', model: 'densenet40', method: 'slimming', pruneRatio: 0.4, protocols: ['fine-tune'] }),
    arm({ id: 'densenet40-70', model: 'densenet40', method: 'slimming', pruneRatio: 0.7, protocols: ['fine-tune'] }),
  ],
  presets: {
    smoke: { ...SMOKE_PRESET, armIds: ['vgg19-70'] },
    small: { ...SMALL_PRESET, sparsityLambda: SMALL_SPARSITY_LAMBDA, seeds: [1], armIds: ['vgg19-70'] },
    cpu: { ...CPU_PRESET, sparsityLambda: CPU_SPARSITY_LAMBDA, seeds: [1], armIds: ['vgg19-70'], fineTune: { epochs: CPU_EPOCHS, lr: 0.1, schedule: { kind: 'step' } } },
    paper: { ...PAPER_PRESET, seeds: [1], fineTune: { epochs: 160, lr: 0.1, schedule: { kind: 'step' } } },
  },
});
