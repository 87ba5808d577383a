#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so no build step is needed.
import { register } from 'tsx/esm/api';

register();
if (process.argv[2] === 'zoo') {
  // `zoo list` and `zoo verify` answer at once: src/cli/main.ts would first import TensorFlow.
  const { runZooCommand } = await import('../src/cli/zoo.ts');
  const io = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };
  process.exitCode = await runZooCommand(process.argv.slice(3), io);
} else {
  await import('../src/cli/main.ts');
}
