/** Figure 4: test accuracy per epoch of the protocols of one cell (from RunRecord.curve). */
import type { TopLevelSpec } from 'vega-lite';
import type { RunRecord } from '../../results/columns.ts';
import { cellId, cellLabel, groupKeyOf } from '../stats.ts';
import { noDataSpec, PROTOCOL_ORDER, VL_SCHEMA, type FigureDef, type ReportData } from './common.ts';

const TITLE = 'Training curves';

/** The protocols with curves of one pruned cell, and what its title needs. */
interface CellProtocols {
  set: Set<string>;
  label: string;
  model: string;
  experiment: string;
}

function protocolRank(protocol: string): number {
  const i = (PROTOCOL_ORDER as readonly string[]).indexOf(protocol);
  return i < 0 ? Number.MAX_SAFE_INTEGER : i;
}

/** The pruned cell with the most protocols that have curves (ties: first by id). */
export function pickCurveCell(
  records: RunRecord[],
): { id: string; label: string; model: string; experiment: string; protocols: string[] } | null {
  const protocols = new Map<string, CellProtocols>();
  for (const r of records) {
    if (String(r.row.status) !== 'ok' || r.curve.length === 0) continue;
    const { protocol, ...cell } = groupKeyOf(r.row);
    if (cell.method === 'none') continue;
    const id = cellId(cell);
    let e = protocols.get(id);
    if (!e) protocols.set(id, (e = { set: new Set(), label: cellLabel(cell), model: cell.model, experiment: cell.experiment }));
    e.set.add(protocol);
  }
  let best: [string, CellProtocols] | null = null;
  for (const entry of [...protocols].sort((a, b) => a[0].localeCompare(b[0]))) {
    if (!best || entry[1].set.size > best[1].set.size) best = entry;
  }
  if (!best) return null;
  const [id, e] = best;
  return { id, label: e.label, model: e.model, experiment: e.experiment, protocols: [...e.set].sort((a, b) => protocolRank(a) - protocolRank(b) || a.localeCompare(b)) };
}

export function trainingCurvesSpec(data: ReportData): TopLevelSpec {
  const title = `${TITLE} (${data.experiment})`;
  const cell = pickCurveCell(data.records);
  if (!cell) return noDataSpec(title, 'no run records with a training curve (RunRecord.curve) for a pruned cell');
  const values: { protocol: string; seed: number; epoch: number; testAcc: number }[] = [];
  for (const r of data.records) {
    if (String(r.row.status) !== 'ok') continue;
    const { protocol, ...k } = groupKeyOf(r.row);
    const isCell = cellId(k) === cell.id;
    const isBaseline = protocol === 'baseline' && k.model === cell.model && k.experiment === cell.experiment;
    if (!isCell && !isBaseline) continue;
    for (const p of r.curve) values.push({ protocol, seed: Number(r.row.seed), epoch: p.epoch, testAcc: p.testAcc });
  }
  return {
    $schema: VL_SCHEMA,
    title: {
      text: `${title}: ${cell.label}`,
      subtitle: [
        `one pruned cell, the one with the most protocols (${cell.protocols.join(', ')}; ties: first by name); the unpruned baseline of the same model for reference`,
        'test accuracy per epoch, one line per seed; each protocol counts its own epochs (fine-tuning starts from the trained baseline)',
      ],
    },
    data: { values },
    width: 560,
    height: 300,
    mark: { type: 'line', strokeWidth: 1.5, opacity: 0.8 },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
      y: { field: 'testAcc', type: 'quantitative', scale: { zero: false }, title: 'test accuracy (%)' },
      color: { field: 'protocol', type: 'nominal', sort: PROTOCOL_ORDER, title: 'protocol' },
      detail: { field: 'seed', type: 'nominal' },
      tooltip: [{ field: 'protocol' }, { field: 'seed' }, { field: 'epoch' }, { field: 'testAcc' }],
    },
  };
}

export const trainingCurves: FigureDef = { name: 'training-curves', title: TITLE, build: trainingCurvesSpec };
