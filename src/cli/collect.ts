import { existsSync } from 'node:fs';
import { ConfigError } from '../util/errors.ts';
import { existingDir, type Command } from './commands.ts';

export const collectCommand: Command = {
  name: 'collect',
  summary: "copy an experiment's run records from another results folder (a sweep's worktree) and rebuild its CSV",
  usage: `usage: prunebench collect <experiment>... --from D [--from D]... [--results-dir D] [--dry-run]
Copies the run records of <D>/<experiment>/runs that <results-dir> (default results) lacks, then
rebuilds <results-dir>/<experiment>.csv from all of them: for sweeps run in a git worktree or on
another machine, whose results are committed from the main checkout. Never overwrites a record.
Left out: records whose file is already in runs/ or superseded/ (a replaced arm's records), and
records that repeat a recorded cell with the same figures (a prune cell or zoo baseline that a
fresh run dir ran again for its output). Every record is checked before anything is written.
  --from D       a results folder to collect from (repeat it for several)
  --dry-run      list what would be copied; write nothing`,
  positionals: { max: 8, what: 'experiment names' },
  options: { from: { type: 'string', multiple: true }, 'results-dir': { type: 'string' }, 'dry-run': { type: 'boolean' } },
  async run({ values, positionals }, io) {
    if (positionals.length === 0) throw new ConfigError('collect needs an experiment name', 'experiment');
    const from = (values.from as string[] | undefined) ?? [];
    if (from.length === 0) throw new ConfigError('--from is required (the results folder of the sweep to collect from)', 'from');
    for (const f of from) existingDir(f, 'from');
    const resultsDir = existingDir(values['results-dir'], 'results-dir') ?? 'results';
    const dryRun = values['dry-run'] === true;
    const { collectRunRecords } = await import('../results/collect.ts');
    const { readResultsCsv, resultsCsvPath } = await import('../results/index.ts');
    const { coverageLine, planCoverage } = await import('../report/coverage.ts');
    for (const experiment of positionals) {
      const s = await collectRunRecords({ experiment, from, resultsDir, dryRun });
      for (const f of s.copied) io.out(`  ${dryRun ? 'would copy' : '+'} ${f}`);
      const tail = s.csv ? `; ${s.csv.path}: ${s.csv.rows} rows` : dryRun ? ' (dry run: nothing written)' : '; nothing new';
      io.out(`${experiment}: ${s.copied.length} new records, ${s.repeats.length} repeats of recorded cells left out, ${s.present} already here${tail}`);
      // Where the sweep stands, per preset, from the CSV as it is now.
      const csv = resultsCsvPath(resultsDir, experiment);
      const rows = existsSync(csv) ? readResultsCsv(csv) : [];
      for (const preset of [...new Set(rows.map((r) => String(r.preset)))].sort()) {
        const c = planCoverage(experiment, preset, rows);
        if (c) io.out(`  ${preset}: ${coverageLine(c)}`);
      }
    }
    return 0;
  },
};
