// `node --import ./src/testing/module-trace.mjs ...`: appends the URL of every module the process
// imports (ES modules, and the CommonJS packages they import) to the file named by
// $PRUNEBENCH_MODULE_TRACE, one a line: tests read it to check what a command loads.
import { register } from 'node:module';

register('./module-trace-hooks.mjs', import.meta.url);
