import { runCli } from '../cli/main.ts';

/**
 * Runs the CLI in this process and keeps what it printed: error lines split on newlines (an error
 * message may span lines), output lines as printed unless `splitOut`.
 */
export async function captureCli(argv: string[], opts: { splitOut?: boolean } = {}): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (l) => (opts.splitOut ? out.push(...l.split('\n')) : out.push(l)), err: (l) => err.push(...l.split('\n')) });
  return { code, out, err };
}
