import { compileGraph, type ModelSpec } from '../models/index.ts';
import { ConfigError } from '../util/errors.ts';
import { prunableGroups } from './groups.ts';

/**
 * Li et al.'s published profiles, as data, exactly as the reference code defines them.
 * Layer numbering as in the reference code: convs counted in network order, the stem conv is
 * layer 1; in ResNets only the first conv of each block (even layer ids) is pruned, at its
 * stage's ratio, unless it is in the skip list (layers whose pruning hurt most in the paper's
 * sensitivity analysis). keep = floor(out * (1 - ratio)).
 */
export type Profile =
  | { model: string; name: string; kind: 'layer-ratios'; ratios: number[]; source: string }
  | { model: string; name: string; kind: 'stage-ratios'; stageRatios: number[]; skipLayers: number[]; source: string };

export const L1_PROFILES: Profile[] = [
  {
    model: 'vgg16',
    name: 'A',
    kind: 'layer-ratios',
    // Conv 1 and convs 8-13 at 50%: the reference cfg [32,64,M,128,128,M,256,256,256,M,256,256,256,M,256,256,256].
    ratios: [0.5, 0, 0, 0, 0, 0, 0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
    source: 'Li et al. 2017, Table 1 / reference vggprune.py',
  },
  { model: 'resnet56', name: 'A', kind: 'stage-ratios', stageRatios: [0.1, 0.1, 0.1], skipLayers: [16, 20, 38, 54], source: 'Li et al. 2017, Table 1 / reference res56prune.py' },
  { model: 'resnet56', name: 'B', kind: 'stage-ratios', stageRatios: [0.6, 0.3, 0.1], skipLayers: [16, 18, 20, 34, 38, 54], source: 'Li et al. 2017, Table 1 / reference res56prune.py' },
  { model: 'resnet110', name: 'A', kind: 'stage-ratios', stageRatios: [0.5, 0, 0], skipLayers: [36], source: 'Li et al. 2017, Table 1 / reference res110prune.py' },
  { model: 'resnet110', name: 'B', kind: 'stage-ratios', stageRatios: [0.5, 0.4, 0.3], skipLayers: [36, 38, 74], source: 'Li et al. 2017, Table 1 / reference res110prune.py' },
];

export function findProfile(model: string, name: string): Profile {
  const p = L1_PROFILES.find((x) => x.model === model && x.name === name);
  if (!p) {
    const known = L1_PROFILES.filter((x) => x.model === model).map((x) => x.name);
    throw new ConfigError(
      `No profile "${name}" for model ${model}; ${known.length ? `known: ${known.join(', ')}` : `profiles exist for ${[...new Set(L1_PROFILES.map((x) => x.model))].join(', ')}`}`,
      'profile',
    );
  }
  return p;
}

/** A profile resolved against a spec: the prune ratio of every prunable channel group. */
export function resolveProfile(spec: ModelSpec, profile: Profile): Map<string, number> {
  const graph = compileGraph(spec);
  const prunable = new Set(prunableGroups(graph).map((g) => g.id));
  const convs = graph.nodes.filter((n) => n.kind === 'conv').map((n) => n.name);
  const ratios = new Map<string, number>();
  for (const g of prunable) ratios.set(g, 0);
  if (profile.kind === 'layer-ratios') {
    if (profile.ratios.length !== convs.length) {
      throw new ConfigError(`Profile ${profile.model}-${profile.name} has ${profile.ratios.length} layer ratios but ${spec.name} has ${convs.length} convs`, 'profile');
    }
    convs.forEach((name, i) => {
      const r = profile.ratios[i]!;
      if (r > 0 && !prunable.has(name)) throw new ConfigError(`Profile ${profile.model}-${profile.name} prunes layer ${i + 1} (${name}), which is not prunable`, 'profile');
      if (prunable.has(name)) ratios.set(name, r);
    });
    return ratios;
  }
  if (spec.family !== 'resnet') throw new ConfigError(`Stage-ratio profiles apply to ResNets, not ${spec.family}`, 'profile');
  // Layer ids: stem = 1, then two per block in order; a block's stage is its stage in the spec.
  let layerId = 1;
  spec.stages.forEach((stage, s) => {
    stage.blocks.forEach((_w, b) => {
      const conv1 = `layer${s + 1}.${b}.conv1`;
      layerId += 1;
      if (!profile.skipLayers.includes(layerId)) ratios.set(conv1, profile.stageRatios[s] ?? 0);
      layerId += 1;
    });
  });
  return ratios;
}
