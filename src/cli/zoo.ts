import { ConfigError } from '../util/errors.ts';
import { formatZooCheck, formatZooList, readZooIndex, REPO_ZOO_DIR, verifyZoo, ZOO_MAX_FILE_BYTES } from '../zoo/store.ts';
import { existingDir, parseCommand, reportError, str, type CliIo, type Command } from './commands.ts';

/**
 * `prunebench zoo`: the model zoo of trained baselines. `list` and `verify` need only the zoo's
 * store (fs and crypto), so they answer at once (TensorFlow takes seconds to import); `add` loads
 * what reads run folders.
 */
export const zoo: Command = {
  name: 'zoo',
  summary: 'trained baselines kept for reuse (run --baselines DIR): list, add, verify',
  usage: `usage: prunebench zoo list [--zoo DIR]
       prunebench zoo add --run-dir R --cell baseline:MODEL:sSEED [--zoo DIR] [--force] [--results-dir D]
       prunebench zoo verify [--zoo DIR]
A zoo is a folder of trained baselines (each a saved model plus its result record) and an
index.json with every file's sha256, the baseline's key (model, width, data, preset, seed,
sparsity), its baseline hash, top-1, the commit and backend that trained it. --zoo defaults to
the repository's zoo/, which takes only cpu-preset baselines; no file may exceed ${ZOO_MAX_FILE_BYTES} bytes.
  list     one line per baseline: model, width, data, preset, seed, top-1, commit, backend, hash
  add      copy a completed baseline (or sparsity-train) cell of a run folder into the zoo;
           an entry with the same key and hash is refused unless --force (which replaces it);
           --results-dir: where the run's result records are, if not where its plan says
  verify   every indexed file present with its sha256 and size, and no unindexed file
Use it with prunebench run (its baselines flag: see prunebench run --help).`,
  positionals: { max: 1, what: 'the subcommand: list, add or verify' },
  options: { zoo: { type: 'string' }, 'run-dir': { type: 'string' }, cell: { type: 'string' }, force: { type: 'boolean' }, 'results-dir': { type: 'string' } },
  async run({ values, positionals }, io) {
    const [sub, ...extra] = positionals;
    if (extra.length) throw new ConfigError(`zoo ${sub}: unexpected ${extra.join(' ')}`, 'zoo');
    const zooDir = str(values.zoo, 'zoo') ?? REPO_ZOO_DIR;
    const onlyForAdd = (['run-dir', 'cell', 'force', 'results-dir'] as const).filter((f) => values[f] !== undefined);
    if (sub !== 'add' && onlyForAdd.length) throw new ConfigError(`--${onlyForAdd[0]} goes with zoo add`, onlyForAdd[0]);
    switch (sub) {
      case 'list':
        io.out(formatZooList(zooDir, await readZooIndex(zooDir, { flag: 'zoo' })));
        return 0;
      case 'verify': {
        const check = await verifyZoo(zooDir);
        io.out(formatZooCheck(zooDir, check));
        return check.ok ? 0 : 1;
      }
      case 'add': {
        const runDir = existingDir(values['run-dir'], 'run-dir');
        if (!runDir) throw new ConfigError('zoo add needs --run-dir R (a run folder)', 'run-dir');
        const cell = str(values.cell, 'cell');
        if (!cell) throw new ConfigError('zoo add needs --cell ID (a baseline cell, e.g. baseline:vgg16:s1)', 'cell');
        const resultsDir = existingDir(values['results-dir'], 'results-dir');
        const { addToZoo } = await import('../run/zoo-add.ts');
        const { entry, replaced } = await addToZoo({ runDir, cell, zooDir, force: Boolean(values.force), ...(resultsDir ? { resultsDir } : {}) });
        io.out(`${replaced ? 'replaced' : 'added'} ${entry.id}: ${entry.model} x${entry.width} ${entry.preset} seed ${entry.seed}, top-1 ${entry.top1Final.toFixed(2)}%, ${entry.files.length} files (${entry.files.reduce((n, f) => n + f.bytes, 0)} bytes), baseline hash ${entry.baselineHash}`);
        return 0;
      }
      default:
        throw new ConfigError(`zoo expects list, add or verify${sub ? `, got "${sub}"` : ''}\n\n${zoo.usage}`, 'zoo');
    }
  },
};

/** `prunebench zoo ...` on its own (see above): the exit code, errors reported as the CLI reports them. */
export async function runZooCommand(argv: string[], io: CliIo): Promise<number> {
  try {
    const args = parseCommand(zoo, argv);
    if (args.values.help) {
      io.out(zoo.usage);
      return 0;
    }
    return await zoo.run(args, io);
  } catch (e) {
    return reportError(e, io);
  }
}
