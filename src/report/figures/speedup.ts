/** Figure 7: measured speedup of the final model over the unpruned model of the same model and
 *  seed (batch-1 latency and batch-64 throughput) against the MAC reduction, with y = x. */
import type { TopLevelSpec } from 'vega-lite';
import type { RunRecord, RunRow } from '../../results/columns.ts';
import { cellLabel, groupKeyOf, isOk, num } from '../stats.ts';
import { noDataSpec, round, VL_SCHEMA, type FigureDef, type ReportData } from './common.ts';

const TITLE = 'Measured speedup vs. MAC reduction';
export const UNSTRUCTURED_NOTE =
  'Unstructured (weight-granularity) sparsity gives no real speedup without sparse kernels: dense kernels still compute the zeroed weights.';

export interface SpeedupPoint {
  model: string;
  cell: string;
  seed: number;
  method: string;
  granularity: string;
  protocol: string;
  metric: string;
  macReduction: number;
  speedup: number;
}

/**
 * Speedups of every pruned run. Where the run record holds a paired measurement (the unpruned
 * model timed alternately in the same process) that ratio is used; otherwise the run's numbers
 * are divided by those of the baseline row of the same model and seed, measured at another time.
 */
export function speedupPoints(rows: RunRow[], records: RunRecord[] = []): SpeedupPoint[] {
  const paired = new Map<string, NonNullable<RunRecord['cost']>>();
  for (const rec of records) if (rec.cost) paired.set(String(rec.row.run_id), rec.cost);
  const base = new Map<string, RunRow>();
  for (const r of rows) {
    if (isOk(r) && String(r.protocol) === 'baseline') base.set(`${String(r.experiment)}|${String(r.model)}|${String(r.seed)}`, r);
  }
  const out: SpeedupPoint[] = [];
  for (const r of rows) {
    const protocol = String(r.protocol);
    if (!isOk(r) || protocol === 'baseline' || protocol === 'sparsity-train') continue;
    const b = base.get(`${String(r.experiment)}|${String(r.model)}|${String(r.seed)}`);
    const p = paired.get(String(r.run_id));
    const macsBase = num(r.macs_base);
    const macsEff = num(r.macs_effective);
    if ((!b && !p) || !macsBase || !macsEff) continue;
    const common = {
      model: String(r.model), cell: cellLabel(groupKeyOf(r)), seed: num(r.seed) ?? NaN, method: String(r.method), granularity: String(r.granularity), protocol,
      macReduction: round(macsBase / macsEff),
    };
    const lat = p ? p.latencyMsBatch1 : num(r.latency_ms_b1);
    const latBase = p ? p.baseLatencyMsBatch1 : num(b!.latency_ms_b1);
    if (lat && latBase) out.push({ ...common, metric: 'latency, batch 1', speedup: round(latBase / lat) });
    const thr = p ? p.imagesPerSecBatch64 : num(r.infer_images_per_sec_b64);
    const thrBase = p ? p.baseImagesPerSecBatch64 : num(b!.infer_images_per_sec_b64);
    if (thr && thrBase) out.push({ ...common, metric: 'throughput, batch 64', speedup: round(thr / thrBase) });
  }
  return out;
}

function identityLine(values: SpeedupPoint[]): { macReduction: number; speedup: number }[] {
  const hi = Math.max(1, ...values.map((v) => Math.max(v.macReduction, v.speedup)));
  return [
    { macReduction: 1, speedup: 1 },
    { macReduction: round(hi), speedup: round(hi) },
  ];
}

export function speedupSpec(data: ReportData): TopLevelSpec {
  const title = `${TITLE} (${data.experiment})`;
  const values = speedupPoints(data.rows, data.records);
  if (values.length === 0) {
    return noDataSpec(title, 'no pruned runs with latency/throughput and an unpruned baseline of the same model and seed');
  }
  return {
    $schema: VL_SCHEMA,
    title: { text: title, subtitle: [`dashed: y = x (speedup equal to the MAC reduction). Speedups are paired: the unpruned model timed alternately in the same process.`, UNSTRUCTURED_NOTE] },
    data: { values },
    facet: { column: { field: 'metric', type: 'nominal', title: null } },
    spec: {
      width: 320,
      height: 300,
      layer: [
        {
          // y = x drawn between explicit end points, so it shows even when every run has the same MAC reduction.
          data: { values: identityLine(values) },
          mark: { type: 'line', strokeDash: [5, 5], color: '#888' },
          encoding: {
            x: { field: 'macReduction', type: 'quantitative' },
            y: { field: 'speedup', type: 'quantitative' },
          },
        },
        {
          mark: { type: 'point', filled: true, size: 70 },
          encoding: {
            x: { field: 'macReduction', type: 'quantitative', title: 'MAC reduction (macs_base / macs_effective)', scale: { zero: false }, axis: { format: '.2f' } },
            y: { field: 'speedup', type: 'quantitative', title: 'measured speedup vs. unpruned', scale: { zero: false } },
            color: { field: 'method', type: 'nominal', title: 'method' },
            shape: { field: 'granularity', type: 'nominal', title: 'granularity' },
            tooltip: [{ field: 'cell' }, { field: 'seed' }, { field: 'method' }, { field: 'granularity' }, { field: 'protocol' }, { field: 'macReduction' }, { field: 'speedup' }],
          },
        },
      ],
    },
  };
}

export const speedup: FigureDef = { name: 'speedup-vs-macs', title: TITLE, build: speedupSpec };
