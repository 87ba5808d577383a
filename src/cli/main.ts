import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
// Only modules that load quickly at the top: `prunebench --help`, `models` and `inspect` must
// answer without TensorFlow.js, the backends, onnxruntime or the report's renderer, which cost
// seconds to load. A command's run() imports what it needs (see the `await import`s below).
import { DATASET_NAMES, FASHION_MNIST_SCOPE, parseDatasetName } from '../data/names.ts';
import { BENCH_NETWORKS } from '../metrics/bench-networks.ts';
import { countSpec } from '../metrics/count.ts';
import { compileGraph, MODEL_DESCRIPTIONS, MODEL_NAMES, modelSpec, parseModelSpec } from '../models/registry.ts';
import type { ModelSpec, VggSpec } from '../models/spec.ts';
import { CRITERIA, PRUNE_METHODS, VECTOR_CRITERIA, WEIGHT_CRITERIA } from '../pruning/names.ts';
import { isPreset, PRESETS } from '../protocols/preset-names.ts';
import type { Arm, PresetName, PrunedShape, SpecSpeed } from '../protocols/index.ts';
import { ConfigError, DatasetError } from '../util/errors.ts';
import { busyCpuNote } from '../util/load.ts';
import { silentLogger, stderrLogger } from '../util/log.ts';
import { formatBench } from './bench.ts';
import { exportCommand } from './export.ts';
import { importCommand } from './import.ts';
import { latencyCommand } from './latency.ts';
import { retimeCommand } from './retime.ts';
import { existingDir, int, num, numList, outputDir, parseCommand, reportError, str, type CliIo, type Command } from './commands.ts';
import { collectCommand } from './collect.ts';
import { merge, run, runCell, status } from './run.ts';
import { zoo } from './zoo.ts';

const logger = stderrLogger;

function numClassesOf(dataset: string | undefined): number {
  if (dataset === undefined || dataset === 'cifar10') return 10;
  if (dataset === 'cifar100') return 100;
  throw new ConfigError(`--dataset expects cifar10 or cifar100, got "${dataset}"${/fashion/i.test(dataset) ? `; ${FASHION_MNIST_SCOPE}` : ''}`, 'dataset');
}

/** `--width`: the bounds of bench's name@width, (0, 4]. */
function widthOf(v: unknown): number {
  const width = num(v, 'width') ?? 1;
  if (!(width > 0 && width <= 4)) throw new ConfigError(`--width expects a width multiplier in (0, 4], e.g. 0.25, got ${width}`, 'width');
  return width;
}

const models: Command = {
  name: 'models',
  summary: 'list the architectures',
  usage: 'usage: prunebench models',
  options: {},
  async run(_a, io) {
    for (const name of MODEL_NAMES) {
      const c = countSpec(modelSpec(name));
      io.out(`${name.padEnd(14)} ${(c.params / 1e6).toFixed(2).padStart(6)}M params  ${(c.macs / 1e6).toFixed(1).padStart(7)}M MACs  ${MODEL_DESCRIPTIONS[name]}`);
    }
    return 0;
  },
};

/** `--cfg`: a VGG cfg list or a ResNet's block widths, applied to a named model's spec. */
function withCfg(spec: ModelSpec, name: string, cfgText: string): ModelSpec {
  let cfg: unknown;
  try {
    cfg = JSON.parse(cfgText);
  } catch {
    throw new ConfigError(`--cfg is not valid JSON: ${cfgText}`, 'cfg');
  }
  if (!Array.isArray(cfg)) throw new ConfigError('--cfg expects a JSON list', 'cfg');
  if (spec.family === 'vgg') spec = { ...spec, cfg: cfg as VggSpec['cfg'] };
  else if (spec.family === 'resnet') {
    const n = spec.stages[0]!.blocks.length;
    if (cfg.length !== 3 * n) throw new ConfigError(`--cfg for ${name} needs ${3 * n} block widths, got ${cfg.length}`, 'cfg');
    spec = { ...spec, stages: spec.stages.map((s, i) => ({ ...s, blocks: (cfg as number[]).slice(i * n, (i + 1) * n) })) };
  } else throw new ConfigError(`--cfg is supported for VGG and ResNet; prune a ${spec.family} with prunebench prune`, 'cfg');
  return parseModelSpec(spec, '--cfg');
}

const inspect: Command = {
  name: 'inspect',
  summary: 'per-layer table of a model: channels, output size, params, MACs',
  usage: `usage: prunebench inspect <model> [--cfg JSON] [--dataset cifar10|cifar100] [--width W (0 < W <= 4)] [--json]
       prunebench inspect --spec PATH [--json]
  --cfg JSON   per-layer widths instead of the defaults: a VGG cfg list ([32,64,"M",...]),
               or a ResNet's per-block first-conv widths (flat list, 3n entries)
  --spec PATH  a saved model (its folder, or its spec.json), e.g. the output folder of prunebench prune
  --json       one JSON object {model, params, paramsWithoutBn, macs, flops, layers}
Counts: params include BN gamma/beta (as the papers count); MACs are conv + linear multiply-
accumulates per image; FLOPs = 2 x MACs.`,
  positionals: { max: 1, what: 'a model name' },
  options: { cfg: { type: 'string' }, spec: { type: 'string' }, json: { type: 'boolean' }, dataset: { type: 'string' }, width: { type: 'string' } },
  async run({ values, positionals }, io) {
    const specPath = str(values.spec, 'spec');
    let spec: ModelSpec;
    if (specPath !== undefined) {
      // The saved spec is the architecture: flags that would build another one conflict with it.
      const conflicting = ['cfg', 'dataset', 'width'].filter((k) => values[k] !== undefined);
      if (positionals[0] !== undefined || conflicting.length > 0) {
        throw new ConfigError(`--spec gives the whole architecture; leave out ${[...(positionals[0] !== undefined ? [`the model name (${positionals[0]})`] : []), ...conflicting.map((k) => `--${k}`)].join(', ')}`, 'spec');
      }
      const { loadSpec } = await import('../models/io.ts');
      spec = await loadSpec(specPath);
    } else {
      const name = positionals[0];
      if (!name) throw new ConfigError('inspect needs a model name (see prunebench models) or --spec PATH', 'model');
      spec = modelSpec(name, { numClasses: numClassesOf(str(values.dataset, 'dataset')), widthMultiplier: widthOf(values.width) });
      const cfgText = str(values.cfg, 'cfg');
      if (cfgText) spec = withCfg(spec, name, cfgText);
    }
    const name = spec.name;
    compileGraph(spec);
    const c = countSpec(spec);
    if (values.json) {
      io.out(JSON.stringify({ model: name, params: c.params, paramsWithoutBn: c.paramsWithoutBn, macs: c.macs, flops: c.flops, layers: c.layers }));
      return 0;
    }
    const w = Math.max(22, ...c.layers.map((l) => l.name.length));
    io.out(`${'layer'.padEnd(w)}  ${'kind'.padEnd(9)}  in    out   output     params        MACs`);
    for (const l of c.layers) {
      io.out(`${l.name.padEnd(w)}  ${l.kind.padEnd(9)}  ${String(l.inChannels).padStart(4)}  ${String(l.outChannels).padStart(4)}  ${`${l.outHeight}x${l.outWidth}`.padStart(6)}  ${String(l.params).padStart(9)}  ${String(l.macs).padStart(11)}`);
    }
    io.out('');
    io.out(`${name}: params ${c.params} (${(c.params / 1e6).toFixed(2)}M, BN included), without BN ${c.paramsWithoutBn}`);
    io.out(`MACs ${c.macs} (${c.macs.toExponential(3)}), FLOPs = 2 x MACs = ${c.flops.toExponential(3)}`);
    return 0;
  },
};

const data: Command = {
  name: 'data',
  summary: 'data set tools: data check',
  usage: `usage: prunebench data check [--dataset ${DATASET_NAMES.join('|')}] [--data-dir D]
Validates a data set: file sizes, record counts, label ranges, per-class counts, per-channel
mean/std, and the sha256 fingerprint every result row carries. Looks in --data-dir, then
PRUNEBENCH_DATA_DIR, then datasets/.`,
  positionals: { max: 1, what: 'the subcommand: check' },
  options: { dataset: { type: 'string' }, 'data-dir': { type: 'string' } },
  async run({ values, positionals }, io) {
    if (positionals[0] !== 'check') throw new ConfigError(`unknown data subcommand "${positionals[0] ?? ''}"; expected: data check`, 'data');
    const dataDir = existingDir(values['data-dir'], 'data-dir');
    // A mistake in the command (an unknown name, no files where it looks) is an error like any
    // other, exit 2; exit 1 is kept for files that were found and fail the check.
    const name = parseDatasetName(str(values.dataset, 'dataset') ?? 'cifar10');
    const { checkDataset, formatDatasetCheck } = await import('../data/check.ts');
    const report = await checkDataset({ name, ...(dataDir ? { dataDir } : {}) });
    if (!report.ok && report.source === undefined) throw new DatasetError(report.errors.join('\n'), dataDir ?? name);
    io.out(formatDatasetCheck(report));
    return report.ok ? 0 : 1;
  },
};

const bench: Command = {
  name: 'bench',
  summary: 'training and inference speed of fixed networks on synthetic data',
  usage: `usage: prunebench bench [--backend B | --compare [--backends A,B]] [--networks ${BENCH_NETWORKS.join(',')}]
                       [--steps N] [--threads N] [--profile] [--json]
Trains at batch 64 (median of timed steps after 2 warm-ups) and measures inference at batch 1
and 64 and the peak RSS of the process (it accumulates over networks). A network is a model
name, or name@width for a width multiplier (vgg16@0.25 = VGG-16 at 1/4 width).
  --compare      measure several backends in one process, every step timed alternately, and
                 print their ratio to the first; --backends lists them (default wasm,onednn)
  --threads N    threads of the onednn backend (default 1)
  --profile      per-kernel time of a training step
  --json         {"results":[...],"comparisons":[...]} on stdout`,
  options: {
    backend: { type: 'string' },
    compare: { type: 'boolean' },
    backends: { type: 'string' },
    networks: { type: 'string' },
    steps: { type: 'string' },
    threads: { type: 'string' },
    profile: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  async run({ values }, io) {
    const networks = str(values.networks, 'networks')?.split(',');
    const steps = int(values.steps, 'steps', 1);
    const threads = int(values.threads, 'threads', 1);
    const backend = str(values.backend, 'backend');
    const list = str(values.backends, 'backends');
    if (backend && values.compare) throw new ConfigError('--backend and --compare exclude each other (--backends lists the backends to compare)', 'compare');
    if (list !== undefined && !values.compare) throw new ConfigError('--backends goes with --compare; for one backend use --backend', 'backends');
    const backends = values.compare ? (list ?? 'wasm,onednn').split(',') : backend ? [backend] : [];
    if (values.compare && backends.length < 2) throw new ConfigError(`--compare needs at least two backends, e.g. --backends wasm,onednn (got "${list}")`, 'backends');
    const { runBench } = await import('../metrics/bench.ts');
    const { results, comparisons } = await runBench({
      logger,
      backends,
      ...(networks ? { networks } : {}),
      ...(steps ? { steps } : {}),
      ...(threads ? { threads } : {}),
      ...(values.profile ? { profile: true } : {}),
    });
    io.out(values.json ? JSON.stringify({ results, comparisons }) : formatBench(results, comparisons));
    return 0;
  },
};

const prune: Command = {
  name: 'prune',
  summary: 'prune one model and write the smaller model, its spec, plan and summary',
  usage: `usage: prunebench prune --model M [--weights DIR] (--method METHOD | --criterion C)
         [--scope layerwise|global] [--global-norm none|mean|max|l2] [--max-layer-ratio R]
         (--prune-ratio r | --profile A|B | --target-speedup S | --target-compression C)
         [--granularity channel|layer|vector|weight] --out DIR
         [--threshold-rule floor|reference] [--min-channels N] [--dataset cifar10|cifar100] [--width W]
         [--data-dir D] [--calibration-batches N] [--seed S] [--backend B] [--force]
METHOD: ${PRUNE_METHODS.join(', ')}.
--criterion ranks channels (${CRITERIA.join(', ')}), with --granularity weight single
weights (${WEIGHT_CRITERIA.join(', ')}), with --granularity vector kernel fibres
(${VECTOR_CRITERIA.join(', ')}: a fibre's L1 norm, or its mean |w|; default l1). --method l1,
l2 and random are those channel criteria (layerwise unless --scope global); --method channel
takes any --criterion; --criterion alone picks the method (l1, l2, random by name, channel for
the others, magnitude for weights, vector for fibres).
A --criterion that contradicts --method is refused.
--scope layerwise removes the same fraction of every channel group; global ranks all channels
together after dividing each layer's scores by their mean (--global-norm, default mean, as
Torch-Pruning does; none, max and l2 also), so per-layer ratios follow from the ranking. For
masks (vector, magnitude) global (default) uses one threshold over all convs.
--max-layer-ratio R: no channel group loses more than the fraction R of its channels (default
1); --min-channels N: each keeps at least N (default 1).
--prune-ratio is the fraction removed, in [0, 1): of every layer's filters (l1, l2, random: a
predefined ratio), of all channels under one global BN-gamma threshold (slimming: automatic
per-layer ratios), of the blocks (block), kernel fibres (vector) or weights (magnitude).
--target-speedup S (MACs base / pruned) or --target-compression C (parameters base / pruned;
non-zero counts for masks) replaces --prune-ratio: the ratio (or number of blocks) is searched
so the pruned model is within 1% of the target ("exact"), or the nearest value whole channels or
blocks allow ("nearest"); summary.json and the printed summary give target and achieved. A
target beyond what the guards allow is refused, naming the maximum.
--data-dir D, --calibration-batches N (default 8, of 64 training images): for criteria that
score channels or weights from data; reconstruction samples 64 training images from --data-dir.
l1 and l2 rank a conv's filters by their norm; where the channels are chosen by a channel
selection (DenseNet-40, PreResNet-164), each selected channel by the norm of the weights that
read it. Equal norms keep the lower channel index.
--threshold-rule (slimming): floor prunes floor(ratio x channels) (default); reference prunes one
more, as Network Slimming's scripts do (they keep channels above the sorted value at index
int(channels x ratio)).
A method that cannot act on the architecture, or a ratio that rounds to no removal, is refused.
Without --weights a freshly initialised model is pruned, which is enough to see a profile (not for
slimming: initial gammas are all equal, so it is refused).
--out never replaces the --weights model (refused: --out is it or inside it); a model already in
--out is replaced only with --force.`,
  options: {
    model: { type: 'string' },
    weights: { type: 'string' },
    method: { type: 'string' },
    criterion: { type: 'string' },
    scope: { type: 'string' },
    'global-norm': { type: 'string' },
    'max-layer-ratio': { type: 'string' },
    'target-speedup': { type: 'string' },
    'target-compression': { type: 'string' },
    'data-dir': { type: 'string' },
    'calibration-batches': { type: 'string' },
    profile: { type: 'string' },
    'prune-ratio': { type: 'string' },
    granularity: { type: 'string' },
    'threshold-rule': { type: 'string' },
    out: { type: 'string' },
    'min-channels': { type: 'string' },
    dataset: { type: 'string' },
    width: { type: 'string' },
    seed: { type: 'string' },
    backend: { type: 'string' },
    force: { type: 'boolean' },
  },
  async run({ values }, io) {
    const model = str(values.model, 'model');
    const out = str(values.out, 'out');
    const method = str(values.method, 'method');
    const criterion = str(values.criterion, 'criterion');
    if (!model) throw new ConfigError('--model is required', 'model');
    if (!method && !criterion) throw new ConfigError(`--method (${PRUNE_METHODS.join(', ')}) or --criterion (${CRITERIA.join(', ')}) is required`, 'method');
    if (!out) throw new ConfigError('--out is required (the folder for the pruned model)', 'out');
    const backend = str(values.backend, 'backend');
    const { initBackend } = await import('../backend/index.ts');
    await initBackend({ logger, ...(backend ? { backend } : {}) });
    const weights = str(values.weights, 'weights');
    const profile = str(values.profile, 'profile');
    const granularity = str(values.granularity, 'granularity');
    const pruneRatio = num(values['prune-ratio'], 'prune-ratio');
    const thresholdRule = str(values['threshold-rule'], 'threshold-rule');
    const scope = str(values.scope, 'scope');
    const globalNorm = str(values['global-norm'], 'global-norm');
    const maxLayerRatio = num(values['max-layer-ratio'], 'max-layer-ratio');
    const targetSpeedup = num(values['target-speedup'], 'target-speedup');
    const targetCompression = num(values['target-compression'], 'target-compression');
    const dataDir = existingDir(values['data-dir'], 'data-dir');
    const calibrationBatches = int(values['calibration-batches'], 'calibration-batches', 1);
    const dataset = str(values.dataset, 'dataset');
    const { pruneToFolder } = await import('../run/prune.ts');
    const text = await pruneToFolder({
      model,
      out,
      minChannels: int(values['min-channels'], 'min-channels', 1) ?? 1,
      numClasses: numClassesOf(dataset),
      widthMultiplier: num(values.width, 'width') ?? 1,
      seed: int(values.seed, 'seed', 0) ?? 0,
      logger,
      ...(method ? { method } : {}),
      ...(criterion ? { criterion } : {}),
      ...(weights ? { weights } : {}),
      ...(profile ? { profile } : {}),
      ...(granularity ? { granularity } : {}),
      ...(pruneRatio !== undefined ? { pruneRatio } : {}),
      ...(thresholdRule !== undefined ? { thresholdRule } : {}),
      ...(scope !== undefined ? { scope } : {}),
      ...(globalNorm !== undefined ? { globalNorm } : {}),
      ...(maxLayerRatio !== undefined ? { maxLayerRatio } : {}),
      ...(targetSpeedup !== undefined ? { targetSpeedup } : {}),
      ...(targetCompression !== undefined ? { targetCompression } : {}),
      ...(dataDir !== undefined ? { dataDir } : {}),
      ...(dataset !== undefined ? { dataset } : {}),
      ...(calibrationBatches !== undefined ? { calibrationBatches } : {}),
      ...(values.force ? { force: true } : {}),
    });
    io.out(text);
    io.out(`wrote ${resolve(out)} (spec.json, weights, summary.json)`);
    return 0;
  },
};

const DEFAULT_SENSITIVITY_RATIOS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

const sensitivity: Command = {
  name: 'sensitivity',
  summary: 'per-layer sensitivity scan: prune each layer alone at each ratio, top-1 without retraining',
  usage: `usage: prunebench sensitivity --model M [--width W] --weights DIR --out DIR [--criterion c]
         [--ratios 0.1,0.2,...] [--test-subset N] [--dataset cifar10|cifar100] [--data-dir D]
         [--backend B] [--threads T] [--at-ratio R] [--max-drop P] [--calibration-batches N]
         [--seed S] [--force]
Prunes every prunable channel group alone (the others untouched) at each ratio, the fraction of
its channels removed, keeping the top floor(C x (1 - ratio)) by the criterion, and evaluates
test top-1 without retraining (Li et al. 2017, Fig. 2(b); Distiller's sensitivity analysis). The criterion
scores each layer once. Writes <out>/sensitivity.csv (layers x ratios rows, with provenance),
sensitivity.json and the figure (sensitivity.png, .svg, .vl.json, index.html).
  --weights DIR     a saved unpruned model of --model at --width (e.g. a run's trained baseline)
  --criterion c     ${CRITERIA.join(', ')} (default l1); one that needs data scores from
                    --calibration-batches batches of 64 training images (default 4)
  --ratios          fractions removed, each in (0, 1) (default 0.1,0.2,...,0.9)
  --test-subset N   N class-balanced test images (seed 0, as run's data.testSubset); default all
  --at-ratio R      print the layers whose drop at ratio R (one of --ratios; default 0.5) stays
  --max-drop P      under P points of top-1 (default 1): compare Li et al.'s VGG-16-A choice
                    (conv1 and conv8-13 pruned by 50%)
  --threads T       threads of the onednn backend (default 1)
  --force           overwrite a scan already in --out
The data set is found as for run: --data-dir, then PRUNEBENCH_DATA_DIR, then datasets/.`,
  options: {
    model: { type: 'string' },
    width: { type: 'string' },
    weights: { type: 'string' },
    out: { type: 'string' },
    criterion: { type: 'string' },
    ratios: { type: 'string' },
    'test-subset': { type: 'string' },
    dataset: { type: 'string' },
    'data-dir': { type: 'string' },
    backend: { type: 'string' },
    threads: { type: 'string' },
    'at-ratio': { type: 'string' },
    'max-drop': { type: 'string' },
    'calibration-batches': { type: 'string' },
    seed: { type: 'string' },
    force: { type: 'boolean' },
  },
  async run({ values }, io) {
    const model = str(values.model, 'model');
    const weights = str(values.weights, 'weights');
    const out = str(values.out, 'out');
    if (!model) throw new ConfigError('--model is required', 'model');
    if (!weights) throw new ConfigError('--weights is required (the folder of a trained model: spec.json, weights.json, weights.bin)', 'weights');
    if (!out) throw new ConfigError('--out is required (the folder for sensitivity.csv and the figure)', 'out');
    const width = num(values.width, 'width') ?? 1;
    if (!(width > 0)) throw new ConfigError(`--width expects a width multiplier > 0, got ${width}`, 'width');
    modelSpec(model, { widthMultiplier: width });
    const dataDir = existingDir(values['data-dir'], 'data-dir');
    const dataset = str(values.dataset, 'dataset');
    const testSubset = int(values['test-subset'], 'test-subset', 1);
    const calibrationBatches = int(values['calibration-batches'], 'calibration-batches', 1);
    const seed = int(values.seed, 'seed', 0);
    const atRatio = num(values['at-ratio'], 'at-ratio');
    const maxDrop = num(values['max-drop'], 'max-drop');
    const backend = str(values.backend, 'backend');
    const threads = int(values.threads, 'threads', 1);
    const ratios = numList(values.ratios, 'ratios') ?? DEFAULT_SENSITIVITY_RATIOS;
    const { initBackend } = await import('../backend/index.ts');
    const info = await initBackend({ logger, ...(backend ? { backend } : {}), ...(threads ? { threads } : {}) });
    // Loaded on demand, as report: the renderer costs seconds to import.
    const { sensitivityToFolder } = await import('../run/sensitivity.ts');
    const r = await sensitivityToFolder({
      model,
      widthMultiplier: width,
      weights,
      out,
      criterion: str(values.criterion, 'criterion') ?? 'l1',
      ratios,
      force: Boolean(values.force),
      backend: info.name,
      threads: info.threads,
      logger,
      ...(dataset ? { dataset } : {}),
      ...(dataDir ? { dataDir } : {}),
      ...(testSubset !== undefined ? { testSubset } : {}),
      ...(calibrationBatches !== undefined ? { calibrationBatches } : {}),
      ...(seed !== undefined ? { seed } : {}),
      ...(atRatio !== undefined ? { atRatio } : {}),
      ...(maxDrop !== undefined ? { maxDrop } : {}),
    });
    io.out(r.text);
    return 0;
  },
};

const list: Command = {
  name: 'list',
  summary: 'experiments and presets: cells, epochs and estimated wall time on this machine',
  usage: `usage: prunebench list [experiment...] [--preset P]... [--backend B] [--threads N] [--no-estimate] [--baselines DIR]
                       [--skip-recorded [--results-dir D]]
For every preset: its cells, the epochs they train (Scratch-B's from the FLOPs ratio of the
pruned architecture, computed by pruning an initialised model; npm install computes them all once
into dist/shape-table.json, so --no-estimate answers at once) and the wall time, from a quick
training bench (a few steps at batch 64) of every architecture the preset trains on the chosen
backend. "1 job" runs the cells one after another; "K jobs" (K = this machine's cores, run's
default) starts them in run's order, one core each; "critical path" is the longest chain of
dependent cells, which no number of run jobs beats (parallel jobs also slow each other down).
The paper preset (full widths) is benchmarked only when named with --preset paper.
  --no-estimate  epochs only, no bench
  --baselines D  as run --baselines D: baselines this model zoo holds train nothing (0 epochs, 0 s)
  --skip-recorded  as run --skip-recorded: what is left of a sweep, without the cells whose result
                 --results-dir (default results) records, unless a cell left needs them`,
  positionals: { max: Infinity, what: 'experiment names' },
  options: { preset: { type: 'string', multiple: true }, backend: { type: 'string' }, threads: { type: 'string' }, 'no-estimate': { type: 'boolean' }, baselines: { type: 'string' }, 'skip-recorded': { type: 'boolean' }, 'results-dir': { type: 'string' } },
  async run({ values, positionals }, io) {
    // Only what listing needs: the experiments (plain data) and the estimate; TensorFlow.js and a
    // backend load below only to bench, or to compute pruned shapes the shape table lacks.
    const { EXPERIMENTS } = await import('../../experiments/index.ts');
    const { widthsLabel } = await import('../protocols/config.ts');
    const { estimatePreset, estimateSpec, imageCounts, specsToMeasure } = await import('../protocols/estimate.ts');
    const { expandCells } = await import('../protocols/cells.ts');
    const { readShapeTable, shapeQuery, shapeTableFile, writeShapeTable } = await import('../protocols/shape.ts');
    const known = new Set(EXPERIMENTS.map((e) => e.name));
    for (const name of positionals) if (!known.has(name)) throw new ConfigError(`Unknown experiment "${name}"; known: ${[...known].join(', ')}`, 'experiment');
    const presets = (values.preset as string[] | undefined) ?? [];
    for (const p of presets) if (!isPreset(p)) throw new ConfigError(`--preset expects one of ${PRESETS.join(', ')}, got "${p}"`, 'preset');
    const estimate = !values['no-estimate'];
    const baselines = existingDir(values.baselines, 'baselines');
    const resultsDir = str(values['results-dir'], 'results-dir');
    if (resultsDir !== undefined && !values['skip-recorded']) throw new ConfigError('--results-dir applies to list --skip-recorded (the results whose cells it leaves out)', 'results-dir');
    const recorded = values['skip-recorded'] ? await import('../run/recorded.ts') : undefined;
    const backend = str(values.backend, 'backend');
    const threads = int(values.threads, 'threads', 1);
    const experiments = EXPERIMENTS.filter((e) => !positionals.length || positionals.includes(e.name));
    const listed = (p: PresetName): boolean => !presets.length || presets.includes(p);
    // Scratch-B's epochs follow from the pruned architectures: from the shape table, else computed
    // by pruning initialised models (seconds each, on a backend) and added to the table.
    const tableFile = shapeTableFile();
    const shapes = readShapeTable(tableFile);
    const missing = experiments.flatMap((e) => PRESETS.filter(listed).flatMap((p) => e.presets[p].arms.map((arm) => ({ full: estimateSpec(e.presets[p], arm.model), arm }))))
      .filter(({ full, arm }) => !shapes.hasKey(shapeQuery(full, arm).key));
    let info: { name: string; detail?: string } | undefined;
    if (estimate || missing.length) {
      const { initBackend } = await import('../backend/index.ts');
      info = await initBackend({ logger: silentLogger, ...(backend ? { backend } : {}), ...(threads ? { threads } : {}) });
    }
    if (missing.length) {
      const { fillShapeTable } = await import('../protocols/shape-compute.ts');
      fillShapeTable(shapes, missing);
      if (tableFile) await writeShapeTable(tableFile, shapes);
    }
    const shapeOf = (full: ModelSpec, arm: Arm): PrunedShape => {
      const s = shapes.get(full, arm);
      if (!s) throw new Error(`no pruned shape for arm ${arm.id} of ${full.name}`);
      return s;
    };
    if (estimate && info) {
      io.out(`wall-time estimates on ${info.name}${info.detail ? ` (${info.detail})` : ''}, one process per cell`);
      const busy = busyCpuNote(loadavg()[0]!, cpus().length);
      if (busy) io.out(busy);
    }
    const zooBaselinesFor = baselines !== undefined ? (await import('../zoo/match.ts')).zooBaselinesFor : undefined;
    // `run`'s default --jobs: one per core.
    const cores = cpus().length;
    const speeds = new Map<string, SpecSpeed>();
    const speedOf = (spec: ModelSpec): SpecSpeed => speeds.get(JSON.stringify(spec))!;
    let anyApproximate = false;
    for (const e of experiments) {
      io.out(`${e.name}: ${e.description}`);
      for (const p of PRESETS) {
        if (!listed(p)) continue;
        const c = e.presets[p];
        const timed = estimate && (p !== 'paper' || presets.includes('paper'));
        if (timed) {
          const todo = specsToMeasure(c, shapeOf).filter((s) => !speeds.has(JSON.stringify(s)));
          if (todo.length) {
            const { runBench } = await import('../metrics/bench.ts');
            const r = await runBench({ specs: todo.map((spec) => ({ network: spec.name, spec })), steps: 5, logger: silentLogger, ...(threads ? { threads } : {}) });
            r.results.forEach((m, i) => speeds.set(JSON.stringify(todo[i]), { trainImagesPerSec: m.trainImagesPerSec, evalImagesPerSec: m.inferImagesPerSecBatch64 }));
          }
        }
        const cells = expandCells(c);
        const zooMatch = baselines !== undefined && zooBaselinesFor ? await zooBaselinesFor(c, cells, baselines, { verify: false }) : undefined;
        const fromZoo = new Set(zooMatch?.served.keys() ?? []);
        // Cells the results record (and no cell left needs) cost nothing, like zoo baselines.
        let skipped: string[] = [];
        if (recorded) {
          const ids = await recorded.recordedCellIds({ experiment: e.name, preset: p, config: c, configHash: recorded.resumeHash(c), resultsDir: resultsDir ?? 'results' });
          skipped = recorded.recordedCells(cells.filter((x) => !fromZoo.has(x.id)), ids).map((x) => x.id);
        }
        // Without a bench every speed is 1: only the epochs of the estimate are used.
        const est = estimatePreset(c, timed ? speedOf : () => ({ trainImagesPerSec: 1, evalImagesPerSec: 1 }), shapeOf, cores > 1 ? cores : undefined, { fromZoo: new Set([...fromZoo, ...skipped]) });
        const epochs = est.cells.reduce((n, x) => n + x.epochs, 0);
        const approx = est.approximate ? '~' : '';
        anyApproximate ||= est.approximate;
        const longest = est.cells.reduce((a, b) => (b.seconds > a.seconds ? b : a));
        const time = timed
          ? `, 1 job ${approx}${formatDuration(est.serialSeconds)}${est.parallel ? `, ${est.parallel.jobs} jobs ${approx}${formatDuration(est.parallel.seconds)}` : ''}, critical path ${approx}${formatDuration(est.criticalPathSeconds)}, longest cell ${longest.cell} ${approx}${formatDuration(longest.seconds)}`
          : '';
        io.out(`  ${p.padEnd(6)} ${String(est.cells.length).padStart(3)} cells, ${approx}${epochs} epochs${time} (${c.arms.map((a) => a.id).join(', ')}; seeds ${c.seeds.join(',')}; ${imageCounts(c).train} train images; ${widthsLabel(c)})`);
        if (recorded) io.out(`         ${skipped.length} of these cells recorded in ${resultsDir ?? 'results'} (not counted)`);
        if (zooMatch && (fromZoo.size || zooMatch.notes.length)) io.out(`         ${fromZoo.size ? `from the zoo (not trained): ${[...fromZoo].join(', ')}` : 'no baseline from the zoo'}${zooMatch.notes.map((n) => `\n         zoo: ${n}`).join('')}`);
      }
    }
    if (anyApproximate) {
      io.out('~ approximate: where the pruned architecture follows the trained weights it is estimated before training: automatic');
      io.out('  ratios (slimming) as a uniform ratio, which overstates Scratch-B; global ranking and weight masks (magnitude) as on an');
      io.out('  initialised model, not a trained one');
    }
    return 0;
  },
};

function formatDuration(seconds: number): string {
  if (seconds < 90) return `${seconds.toFixed(0)} s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(0)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

const report: Command = {
  name: 'report',
  summary: 'statistics, hypothesis verdicts and Vega-Lite figures from results/',
  usage: `usage: prunebench report <experiment> [--preset P] [--results-dir D] [--out D] [--alpha A]
                         [--study auto|rethinking|tradeoff] [--margin POINTS]
Writes <out>/<experiment>/<preset>/ (summary.md, index.html, figures). A report covers one
preset (presets differ in data, epochs and widths); without --preset, one report per preset
found in the results. --study auto (default) builds the tradeoff study's report (curves, rank
tables, its hypotheses) when the rows have target_kind or scope values, the Rethinking report
otherwise. --margin: the tradeoff verdicts' non-inferiority margin in accuracy points (default 0.3;
0 for none).`,
  positionals: { max: 1, what: 'an experiment name' },
  options: { preset: { type: 'string' }, 'results-dir': { type: 'string' }, out: { type: 'string' }, alpha: { type: 'string' }, study: { type: 'string' }, margin: { type: 'string' } },
  async run({ values, positionals }, io) {
    const experiment = positionals[0];
    if (!experiment) throw new ConfigError('report needs an experiment name', 'experiment');
    const alpha = num(values.alpha, 'alpha');
    if (alpha !== undefined && !(alpha > 0 && alpha < 1)) throw new ConfigError(`--alpha expects a significance level in (0, 1), got ${alpha}`, 'alpha');
    // Loaded on demand: the report code (vega, resvg) costs seconds to import, and every
    // run-cell process (--jobs, Slurm tasks) would pay for it without using it.
    const margin = num(values.margin, 'margin');
    if (margin !== undefined && !(margin >= 0)) throw new ConfigError(`--margin expects a margin in accuracy points >= 0, got ${margin}`, 'margin');
    const study = str(values.study, 'study') ?? 'auto';
    if (!['auto', 'rethinking', 'tradeoff'].includes(study)) throw new ConfigError(`--study expects auto, rethinking or tradeoff, got "${study}"`, 'study');
    const outDir = outputDir(values.out, 'out') ?? 'reports';
    const { buildReport, resultPresets } = await import('../report/index.ts');
    const resultsDir = str(values['results-dir'], 'results-dir') ?? 'results';
    const preset = str(values.preset, 'preset');
    const presets = preset ? [preset] : resultPresets(resultsDir, experiment);
    // A CSV with a header and no rows (a run whose cells all failed before writing, or one that
    // wrote its rows elsewhere) must not end in silence with exit 0.
    if (presets.length === 0) throw new ConfigError(`${join(resultsDir, `${experiment}.csv`)} holds no runs of ${experiment}: nothing to report (run it first, or point --results-dir at the folder its rows went to)`, 'results-dir');
    for (const p of presets) {
      const r = await buildReport({
        experiment, preset: p, resultsDir, outDir, logger, study: study as 'auto' | 'rethinking' | 'tradeoff',
        ...(alpha !== undefined ? { alpha } : {}), ...(margin !== undefined ? { margin } : {}),
      });
      io.out(r.summaryMarkdown);
      io.out(`\nwrote ${r.files.length} files to ${r.dir} (open ${r.dir}/index.html)`);
    }
    return 0;
  },
};

export const COMMANDS: Command[] = [run, list, report, prune, sensitivity, inspect, models, bench, data, status, merge, collectCommand, runCell, zoo, exportCommand, importCommand, latencyCommand, retimeCommand];

function help(io: CliIo): void {
  io.out('prunebench: reproduce and test neural-network pruning papers on CIFAR\n');
  io.out('usage: prunebench <command> [options]   (prunebench <command> --help for details)\n');
  for (const c of COMMANDS) io.out(`  ${c.name.padEnd(11)} ${c.summary}`);
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  // `prunebench help run` = `prunebench run --help`.
  if (name === 'help' && rest[0] !== undefined) return main([rest[0], '--help'], io);
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    help(io);
    return name ? 0 : 1;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) throw new ConfigError(`unknown command "${name}"; see prunebench --help`, 'command');
  const args = parseCommand(cmd, rest);
  if (args.values.help) {
    io.out(cmd.usage);
    return 0;
  }
  return cmd.run(args, io);
}

// Lives in commands.ts so that `prunebench zoo` (src/cli/zoo.ts) reports errors the same way without this module.
export { reportError };

/** `main` with its errors reported as the process reports them: the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    return await main(argv, io);
  } catch (e) {
    return reportError(e, io);
  }
}

// Run when executed directly (tsx src/cli/main.ts, node dist/src/cli/main.js); bin/prunebench.js
// calls runCli itself.
const invokedDirectly = process.argv[1] && /src[\\/]cli[\\/]main\.[jt]s$/.test(process.argv[1]);
if (invokedDirectly) {
  const io: CliIo = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };
  void runCli(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
  });
}
