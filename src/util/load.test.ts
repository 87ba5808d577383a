import { describe, expect, it } from 'vitest';
import { busyCpuNote } from './load.ts';

describe('busyCpuNote', () => {
  it('speaks only when no core is left free, naming the load and the cores', () => {
    expect(busyCpuNote(0.2, 2)).toBeNull();
    expect(busyCpuNote(1.5, 2)).toBeNull(); // a core free for the 1-thread bench
    expect(busyCpuNote(1.6, 2)).toMatch(/^note: the 1-minute load average is 1\.60 on 2 cores: .*pessimistic/);
    expect(busyCpuNote(3.2, 2)).toContain('3.20 on 2 cores');
    expect(busyCpuNote(0.9, 1)).toContain('on 1 core:');
    expect(busyCpuNote(Number.NaN, 2)).toBeNull();
  });
});
