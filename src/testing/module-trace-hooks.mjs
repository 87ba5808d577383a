// The resolve hook of module-trace.mjs (it runs on the loader's thread).
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (process.env.PRUNEBENCH_MODULE_TRACE) appendFileSync(process.env.PRUNEBENCH_MODULE_TRACE, `${r.url}\n`);
  return r;
}
