/** Printing of `prunebench bench` results (the measurement itself is src/metrics/bench.ts). */
import type { BenchComparison, BenchResult } from '../metrics/index.ts';

export function formatBench(results: BenchResult[], comparisons: BenchComparison[] = []): string {
  const lines: string[] = [];
  const details = [...new Set(results.filter((r) => r.backendDetail).map((r) => `${r.backend}: ${r.backendDetail}`))];
  if (details.length) lines.push(...details, '');
  lines.push('backend  network          train img/s  infer img/s b1  infer img/s b64  peak RSS MB');
  for (const r of results) {
    lines.push(
      `${r.backend.padEnd(8)} ${r.network.padEnd(16)} ${String(r.trainImagesPerSec).padStart(11)}  ${String(r.inferImagesPerSecBatch1).padStart(14)}  ${String(r.inferImagesPerSecBatch64).padStart(15)}  ${String(r.peakRssMB).padStart(11)}`,
    );
  }
  if (comparisons.length) {
    lines.push('', 'timed alternately in one process (ratio = other / base):');
    lines.push('network          base -> other     train   infer b1  infer b64');
    for (const c of comparisons) {
      lines.push(
        `${c.network.padEnd(16)} ${`${c.base} -> ${c.other}`.padEnd(16)} ${`${c.trainSpeedup}x`.padStart(6)}  ${`${c.inferSpeedupBatch1}x`.padStart(8)}  ${`${c.inferSpeedupBatch64}x`.padStart(9)}`,
      );
    }
  }
  for (const r of results) {
    if (!r.profile) continue;
    lines.push('', `per-kernel profile of a training step: ${r.network} on ${r.backend} (ms per step)`);
    for (const p of r.profile.slice(0, 15)) lines.push(`  ${p.kernel.padEnd(44)} ${p.msPerStep.toFixed(2).padStart(9)}${p.callsPerStep ? `  ${p.callsPerStep} calls` : ''}`);
  }
  return lines.join('\n');
}
