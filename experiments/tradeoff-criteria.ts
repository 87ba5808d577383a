import { arm, defineExperiment, SMOKE_PRESET, type Arm } from '../src/protocols/define.ts';
import type { Protocol } from '../src/results/index.ts';
import type { Criterion, Scope } from '../src/pruning/index.ts';
import { CPU_PRESET, PAPER_PRESET, SMALL_PRESET } from './presets.ts';

/**
 * The tradeoff study, criteria and scopes (issue 30): channel pruning at matched MAC speedups
 * (exact targets, 2x / 4x / 8x), each criterion ranked layerwise and globally, fine-tuned with the
 * same budget; the layerwise-l1 architecture is also trained from scratch (Scratch-B) at every
 * operating point, so Rethinking's comparison is made at each one. PruningBench and
 * Torch-Pruning's tables rank criteria at these speedups from single runs; here every point has
 * seeds and the report tests each rank order.
 */
export const TRADEOFF_CRITERIA: readonly Criterion[] = ['l1', 'fpgm', 'taylor', 'bn-gamma', 'random'];
export const TRADEOFF_SCOPES: readonly Scope[] = ['layerwise', 'global'];
export const TRADEOFF_SPEEDUPS = [2, 4, 8] as const;

export function criterionArms(model: string, criteria: readonly Criterion[] = TRADEOFF_CRITERIA, speedups: readonly number[] = TRADEOFF_SPEEDUPS): Arm[] {
  const arms: Arm[] = [];
  for (const speedup of speedups) {
    for (const criterion of criteria) {
      for (const scope of TRADEOFF_SCOPES) {
        const protocols: Protocol[] = criterion === 'l1' && scope === 'layerwise' ? ['fine-tune', 'scratch-B'] : ['fine-tune'];
        arms.push(arm({ id: `${model}-${criterion}-${scope}-x${speedup}`, model, method: 'channel', criterion, scope, target: { kind: 'speedup', value: speedup }, pruneRatio: 0, protocols }));
      }
    }
  }
  return arms;
}

const VGG = criterionArms('vgg16');
const RESNET = criterionArms('resnet56');
const ids = (arms: Arm[], keep: (a: Arm) => boolean = () => true): string[] => arms.filter(keep).map((a) => a.id);

export default defineExperiment({
  name: 'tradeoff-criteria',
  description: 'Tradeoff study: l1, fpgm, taylor, bn-gamma and random channel criteria, layerwise and global, at MAC speedups 2x/4x/8x (exact), fine-tuned; Scratch-B of layerwise l1 at every point',
  arms: [...VGG, ...RESNET],
  presets: {
    smoke: { ...SMOKE_PRESET, armIds: ['vgg16-l1-layerwise-x2', 'vgg16-taylor-global-x2'] },
    small: { ...SMALL_PRESET, seeds: [1, 2, 3], armIds: ids(VGG) },
    cpu: { ...CPU_PRESET, armIds: ids(VGG) },
    paper: PAPER_PRESET,
  },
});
