/**
 * A note for speed measurements taken while other work shares the CPUs (`prunebench list`
 * benches each network for its estimates): with no core left idle the measured speeds, and every
 * wall time derived from them, come out slow. Null when at least about one core is free.
 */
export function busyCpuNote(load1m: number, cores: number): string | null {
  if (!(Number.isFinite(load1m) && cores > 0) || load1m <= cores - 0.5) return null;
  return `note: the 1-minute load average is ${load1m.toFixed(2)} on ${cores} core${cores === 1 ? '' : 's'}: other work shares the CPUs, so the speeds measured now and the estimates below are pessimistic; list on an idle machine for figures to plan with`;
}
