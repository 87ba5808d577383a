// `npm run bench:startup`: wall time of quick CLI commands, from process start to exit (median of
// --runs, default 5), against the start-up goal of 0.5 s on an idle 2-core machine; and of
// `node -e 0`, Node's own start on this machine, for scale. PRUNEBENCH_FROM_SOURCE=1 times the
// tsx path (what runs while dist/ is stale). Prints one line per command; exit 0 always (a timing
// is not a test).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const GOAL_S = 0.5;
const root = fileURLToPath(new URL('..', import.meta.url));
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const COMMANDS = [['--help'], ['models'], ['inspect', 'vgg16'], ['run', '--help'], ['zoo', 'list'], ['list', '--no-estimate']];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function time(args) {
  const seconds = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    seconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  }
  return seconds;
}

console.log(`start-up, median of ${runs} runs (goal <= ${GOAL_S} s on an idle 2-core machine)${process.env.PRUNEBENCH_FROM_SOURCE === '1' ? ', from the sources (tsx)' : ''}`);
const base = median(time(['-e', '0']));
console.log(`${'node -e 0'.padEnd(28)} ${base.toFixed(3)} s  (Node itself)`);
for (const c of COMMANDS) {
  const s = time(['bin/prunebench.js', ...c]);
  const m = median(s);
  console.log(`${`prunebench ${c.join(' ')}`.padEnd(28)} ${m.toFixed(3)} s  ${m <= GOAL_S ? 'ok' : 'over the goal'}  (min ${Math.min(...s).toFixed(3)}, max ${Math.max(...s).toFixed(3)})`);
}
