import { basename, resolve } from 'node:path';
import type { LatencyResult } from '../export/index.ts';
import { ConfigError } from '../util/errors.ts';
import { stderrLogger } from '../util/log.ts';
import { existingDir, int, str, type Command } from './commands.ts';

/** A row of the table: the saved model's folder name beside its architecture's name. */
type LatencyRow = LatencyResult & { weights: string };

export function formatLatency(backend: string, rows: LatencyRow[]): string {
  const label = (r: LatencyRow): string => `${basename(resolve(r.weights))} (${r.model})`;
  const w = Math.max(8, ...rows.map((r) => label(r).length));
  const lines = [
    `median ms per batch; engine = prunebench on ${backend}, ORT = ONNX Runtime (CPU) on the ONNX export; every repeat times every model in both runtimes in turn`,
    `${'model'.padEnd(w)}  ${'MACs'.padStart(9)}  ${'eff. MACs'.padStart(9)}  zeros  engine b1  ORT b1  engine b64  ORT b64`,
  ];
  for (const r of rows) {
    lines.push(
      `${label(r).padEnd(w)}  ${r.macs.toExponential(2).padStart(9)}  ${r.macsEffective.toExponential(2).padStart(9)}  ${`${(100 * r.zeroFraction).toFixed(0)}%`.padStart(5)}  ${r.engineMsBatch1.toFixed(2).padStart(9)}  ${r.ortMsBatch1.toFixed(2).padStart(6)}  ${r.engineMsBatch64.toFixed(1).padStart(10)}  ${r.ortMsBatch64.toFixed(1).padStart(7)}`,
    );
  }
  return lines.join('\n');
}

export const latencyCommand: Command = {
  name: 'latency',
  summary: 'inference latency of saved models in prunebench and in ONNX Runtime (batch 1 and 64)',
  usage: `usage: prunebench latency --weights DIR [--weights DIR]... [--repeats N] [--threads N] [--backend B] [--json]
Times each saved model (e.g. the output folder of prunebench prune: compacted or masked) at batch 1 and 64
in prunebench's engine and, exported to ONNX, in ONNX Runtime (CPU execution provider); every
repeat times every model in both runtimes in turn, so the machine's load falls on all alike;
prints medians. Masked models run dense in both: zeros cost time.
  --repeats N   timed calls per runtime and batch size (default 20, after 3 warm-ups)
  --threads N   threads of both runtimes (default 1: ORT intra-op threads, onednn threads)
  --backend B   prunebench's engine (default: as everywhere, auto)
  --json        the rows as JSON`,
  options: { weights: { type: 'string', multiple: true }, repeats: { type: 'string' }, threads: { type: 'string' }, backend: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values }, io) {
    const dirs = (values.weights as string[] | undefined) ?? [];
    if (dirs.length === 0) throw new ConfigError('--weights is required (a saved model folder; repeat it to compare models)', 'weights');
    for (const d of dirs) existingDir(d, 'weights');
    const repeats = int(values.repeats, 'repeats', 1);
    const threads = int(values.threads, 'threads', 1) ?? 1;
    const backend = str(values.backend, 'backend');
    const { initBackend } = await import('../backend/index.ts');
    const { measureLatency } = await import('../export/latency.ts');
    const { loadModel } = await import('../models/io.ts');
    const info = await initBackend({ logger: stderrLogger, threads, ...(backend ? { backend } : {}) });
    const models = [];
    try {
      for (const dir of dirs) models.push(await loadModel(dir));
      const results = await measureLatency(models, { threads, ...(repeats ? { repeats } : {}) });
      const rows: LatencyRow[] = results.map((r, i) => ({ weights: dirs[i]!, ...r }));
      io.out(values.json ? JSON.stringify({ backend: info.name, threads, rows }) : formatLatency(`${info.name}${info.detail ? ` (${info.detail})` : ''}`, rows));
    } finally {
      for (const m of models) m.dispose();
    }
    return 0;
  },
};
