import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureDir, ensureDirSync, writeFileAtomic } from './fs.ts';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'pb-fs-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('ensureDir / ensureDirSync', () => {
  it('create every missing folder of a nested path, and accept one that exists', async () => {
    const deep = join(root, 'a', 'b', 'c');
    await ensureDir(deep);
    expect(statSync(deep).isDirectory()).toBe(true);
    await ensureDir(deep);
    const other = join(root, 'x', 'y');
    ensureDirSync(other);
    ensureDirSync(other);
    expect(statSync(other).isDirectory()).toBe(true);
  });

  it('refuse a path through a file with ENOTDIR naming the path and the file in the way', async () => {
    const file = join(root, 'plain');
    writeFileSync(file, 'x');
    for (const [asked, run] of [
      [join(file, 'sub', 'dir'), (p: string) => ensureDir(p)],
      [join(file, 'sub'), async (p: string) => ensureDirSync(p)],
    ] as const) {
      const e = (await run(asked).catch((x: unknown) => x)) as NodeJS.ErrnoException;
      expect(e.code).toBe('ENOTDIR');
      expect(e.path).toBe(asked);
      expect(e.syscall).toBe('mkdir');
      expect(e.message).toContain(`${file} is not a directory`);
    }
    const target = join(root, 'target');
    writeFileSync(target, 'x');
    expect(() => ensureDirSync(target)).toThrow(/ENOTDIR/);
  });

  it('concurrent calls for one path all succeed', async () => {
    const p = join(root, 'same', 'dir');
    await Promise.all([ensureDir(p), ensureDir(p), ensureDir(p)]);
    expect(statSync(p).isDirectory()).toBe(true);
  });

  // Node's recursive mkdir never returns here (as root, mkdir under /proc answers ENOENT and the
  // recursion retries forever); ensureDir must fail at once with mkdir's error.
  it.runIf(existsSync('/proc/self'))('fail at once, without hanging, where mkdir answers ENOENT under an existing folder (/proc)', async () => {
    const e = (await ensureDir('/proc/prunebench-no-such/x').catch((x: unknown) => x)) as NodeJS.ErrnoException;
    expect(e).toBeInstanceOf(Error);
    expect(['ENOENT', 'EACCES', 'EPERM', 'EROFS']).toContain(e.code);
    expect(() => ensureDirSync('/proc/prunebench-no-such')).toThrow();
    await expect(writeFileAtomic('/proc/prunebench-no-such/f.txt', 'x')).rejects.toThrow();
  }, 5000);
});
