import { LATENCY_RUNTIMES, type LatencyRuntime } from '../results/columns.ts';
import { ConfigError } from '../util/errors.ts';
import { stderrLogger } from '../util/log.ts';
import { int, str, type Command } from './commands.ts';

export const retimeCommand: Command = {
  name: 'retime',
  summary: "time an experiment's pruned models again, on an idle machine (latency-retimed.csv)",
  usage: `usage: prunebench retime <experiment> [--preset P] [--results-dir D] [--runtimes ${LATENCY_RUNTIMES.join(',')}]
                          [--repeats N] [--force]
Rebuilds every pruned model of <results-dir>/<experiment>/runs (one per prune/fine-tune cell pair)
from its run record, at random init (latency does not depend on the weights' values), and times
it against the unpruned model, alternately (each going first in every other round), on each
runtime at 1 thread. Writes
<results-dir>/<experiment>/latency-retimed.csv; the report uses it in place of the latencies the
cells measured while other cells trained beside them. Run it with nothing else running (the load
average before each model is recorded). Resumable: models already timed are skipped, except rows
timed with the pruned model always first (pair_order fixed: biased), which are timed again. The
first model is timed twice and the first timing discarded (a process's first timing on onednn is off).
  --runtimes L   which of ${LATENCY_RUNTIMES.join(', ')} (default all; ort = ONNX Runtime on the ONNX export)
  --repeats N    timed batch-1 calls per model and runtime (default 20; batch 64 gets a third)
  --force        time again the models the file already holds`,
  positionals: { max: 1, what: 'an experiment name' },
  options: { preset: { type: 'string' }, 'results-dir': { type: 'string' }, runtimes: { type: 'string' }, repeats: { type: 'string' }, force: { type: 'boolean' } },
  async run({ values, positionals }, io) {
    const experiment = positionals[0];
    if (!experiment) throw new ConfigError('retime needs an experiment name', 'experiment');
    const list = str(values.runtimes, 'runtimes');
    const runtimes = list?.split(',').map((s) => s.trim());
    for (const rt of runtimes ?? []) {
      if (!(LATENCY_RUNTIMES as readonly string[]).includes(rt)) throw new ConfigError(`--runtimes expects some of ${LATENCY_RUNTIMES.join(', ')} (comma-separated), got "${rt}"`, 'runtimes');
    }
    const repeats = int(values.repeats, 'repeats', 3);
    const preset = str(values.preset, 'preset');
    const { retimeExperiment } = await import('../run/retime.ts');
    const s = await retimeExperiment({
      experiment,
      resultsDir: str(values['results-dir'], 'results-dir') ?? 'results',
      logger: stderrLogger,
      force: values.force === true,
      ...(preset ? { preset } : {}),
      ...(runtimes ? { runtimes: runtimes as LatencyRuntime[] } : {}),
      ...(repeats ? { repeats } : {}),
    });
    io.out(`${s.path}: ${s.timed} pruned models timed, ${s.skipped} already there (of ${s.models}); ${s.rows} rows`);
    return 0;
  },
};
