import type { ExperimentDef } from '../src/protocols/define.ts';
import { ConfigError } from '../src/util/errors.ts';
import granularity from './granularity.ts';
import li2017L1 from './li2017-l1.ts';
import liu2017Slimming from './liu2017-slimming.ts';
import liu2017SlimmingC100 from './liu2017-slimming-c100.ts';
import quickstart from './quickstart.ts';
import rethinkingArchitectureSearch from './rethinking-architecture-search.ts';
import rethinkingL1 from './rethinking-l1.ts';
import rethinkingLottery from './rethinking-lottery.ts';
import rethinkingSlimming from './rethinking-slimming.ts';
import rethinkingUnstructured from './rethinking-unstructured.ts';
import tradeoffCriteria from './tradeoff-criteria.ts';

/** Every declared experiment, one file each. */
export const EXPERIMENTS: ExperimentDef[] = [
  quickstart,
  li2017L1,
  liu2017Slimming,
  liu2017SlimmingC100,
  rethinkingL1,
  rethinkingSlimming,
  rethinkingUnstructured,
  rethinkingLottery,
  rethinkingArchitectureSearch,
  tradeoffCriteria,
  granularity,
];

export function findExperiment(name: string): ExperimentDef {
  const e = EXPERIMENTS.find((x) => x.name === name);
  if (!e) throw new ConfigError(`Unknown experiment "${name}"; expected one of ${EXPERIMENTS.map((x) => x.name).join(', ')}`, 'experiment');
  return e;
}
