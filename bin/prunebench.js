#!/usr/bin/env node
// Runs the CLI from dist/, the JavaScript that `npm install` compiles (scripts/build.mjs), when that
// build is newer than every source it compiles; otherwise from the TypeScript sources through tsx,
// which compiles them at every start (seconds) but never runs a stale build of an edited source.
// PRUNEBENCH_FROM_SOURCE=1 forces the sources.
import { fileURLToPath } from 'node:url';
import { buildIsFresh } from './build-check.js';

// `prunebench list | head`: the reader closed the pipe; stop quietly, as other Unix tools do,
// instead of an unhandled EPIPE stack trace.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const root = fileURLToPath(new URL('..', import.meta.url));
let cli;
if (process.env.PRUNEBENCH_FROM_SOURCE !== '1' && buildIsFresh(root)) {
  cli = await import('../dist/src/cli/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import('../src/cli/main.ts');
}
const io = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };
process.exitCode = await cli.runCli(process.argv.slice(2), io);
