import { arm, RETHINKING_PROTOCOLS, type PresetSpec } from '../src/protocols/define.ts';

/**
 * Shared preset data. `small` is what this 2-core machine can run in hours: CIFAR-10 reduced to a
 * class-balanced 2,000-image training subset (1,000 test images), networks at a quarter of
 * their width, 15 baseline epochs and 5 fine-tuning epochs. It can show relative effects within
 * this setting (fine-tuned vs Scratch-E/B at equal budgets, automatic vs uniform widths, BN-gamma
 * sparsity); it cannot match the papers' absolute accuracies.
 */
export const SMALL_DATA = { dataset: 'cifar10', trainSubset: 2000, testSubset: 1000 } as const;

export const SMALL_PRESET: PresetSpec = {
  data: { ...SMALL_DATA },
  widthMultiplier: 0.25,
  baseline: { epochs: 15 },
  fineTune: { epochs: 5 },
  seeds: [1, 2],
};

/**
 * `cpu`: the papers' protocol shrunk to what one core of this machine trains in well under an
 * hour per run with the onednn backend. The FULL CIFAR-10 (50,000 train / 10,000 test, standard
 * crop+flip), the papers' optimiser and step schedule (lr 0.1, /10 at 50% and 75%), but 32
 * epochs instead of 160 and reduced widths: VGG at 1/4 (16..128 channels; ~1,100 img/s
 * measured), ResNet-56 at 1/2 (8/16/32 channels; ~380 img/s). The papers' proportions are kept:
 * fine-tuning = 32 x 40/160 = 8 epochs at lr 0.001, Scratch-B from the measured FLOPs ratio,
 * and Network Slimming's lambda scaled by the step count (CPU_SPARSITY_LAMBDA).
 */
export const CPU_EPOCHS = 32;

/**
 * Network Slimming's lambda scaled so that lr x lambda x steps, the total push on the gammas,
 * matches the paper's 160 epochs over the same 50,000 images at batch 64 (so the steps scale as
 * the epochs): 1e-4 (VGG) and 1e-5 (others) times 160/epochs.
 */
export function scaledSparsityLambda(epochs: number, paper = { vgg: 1e-4, other: 1e-5 }): { vgg: number; other: number } {
  return { vgg: (paper.vgg * 160) / epochs, other: (paper.other * 160) / epochs };
}

export const CPU_SPARSITY_LAMBDA = scaledSparsityLambda(CPU_EPOCHS);

export const CPU_PRESET: PresetSpec = {
  data: { dataset: 'cifar10', trainSubset: 0, testSubset: 0 },
  widthMultiplier: 0.25,
  modelWidths: { resnet56: 0.5 },
  baseline: { epochs: CPU_EPOCHS },
  fineTune: { epochs: (CPU_EPOCHS * 40) / 160 },
  seeds: [1, 2, 3],
};

/** The published protocol: full CIFAR, full widths, 160 epochs; needs a GPU backend. */
export const PAPER_PRESET: PresetSpec = {
  data: { dataset: 'cifar10', trainSubset: 0, testSubset: 0 },
  widthMultiplier: 1,
  baseline: { epochs: 160 },
  fineTune: { epochs: 40 },
  seeds: [1, 2, 3, 4, 5],
};

/** Li et al.'s published L1 profiles, each fine-tuned and trained from scratch (E and B). */
export const L1_PROFILE_ARMS = [
  arm({ id: 'vgg16-A', model: 'vgg16', method: 'l1', profile: 'A', pruneRatio: 0, protocols: RETHINKING_PROTOCOLS }),
  arm({ id: 'resnet56-A', model: 'resnet56', method: 'l1', profile: 'A', pruneRatio: 0, protocols: RETHINKING_PROTOCOLS }),
  arm({ id: 'resnet56-B', model: 'resnet56', method: 'l1', profile: 'B', pruneRatio: 0, protocols: RETHINKING_PROTOCOLS }),
  arm({ id: 'resnet110-A', model: 'resnet110', method: 'l1', profile: 'A', pruneRatio: 0, protocols: RETHINKING_PROTOCOLS }),
  arm({ id: 'resnet110-B', model: 'resnet110', method: 'l1', profile: 'B', pruneRatio: 0, protocols: RETHINKING_PROTOCOLS }),
];

/**
 * Network Slimming's lambda for the `small` presets. The paper's 1e-4 acts over ~125k steps
 * (160 epochs of 50k images); `small` has ~480 (15 epochs of 2,000), and at 1e-4 the gammas
 * barely move (measured: mean |gamma| 0.48 -> 0.46). 1e-2 gives a comparable total push
 * (lr x lambda x steps) in the short run. Recorded in every row's config.
 */
export const SMALL_SPARSITY_LAMBDA = { vgg: 1e-2, other: 1e-3 };
