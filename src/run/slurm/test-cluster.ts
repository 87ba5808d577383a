/**
 * Test support for the integration tests that need a REAL Slurm: the local single-node cluster of
 * scripts/local-slurm.sh. Several test files (separate vitest workers) may use it at once, so
 * each one registers as a user in the state dir; the cluster is started under a lock when it is
 * not up, and stopped only by the last user to leave, and only if a test started it (a cluster
 * started by CI or by hand is left running).
 *
 * Policy: with CI set, a cluster that cannot be started fails the test file. Without CI it is
 * skipped, with a loud warning, when it cannot be had (no sbatch and no root, no apt-get, ...).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOnPath } from './detect.ts';
import { ensureDirSync } from '../../util/fs.ts';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const STATE_DIR = process.env.LOCAL_SLURM_STATE_DIR ?? '/tmp/prunebench-local-slurm';
const STATE_CONF = join(STATE_DIR, 'slurm.conf');
const USERS = join(STATE_DIR, 'test-users');
const LOCK = join(STATE_DIR, 'test-start.lock');
const STARTED_BY_TESTS = join(STATE_DIR, 'started-by-tests');

/** Client commands need a config: the real /etc/slurm/slurm.conf, or the local cluster's. */
export function pointAtLocalConf(): void {
  if (process.env.SLURM_CONF && !existsSync(process.env.SLURM_CONF)) delete process.env.SLURM_CONF; // would stall clients 60 s
  if (!process.env.SLURM_CONF && !existsSync('/etc/slurm/slurm.conf') && existsSync(STATE_CONF)) process.env.SLURM_CONF = STATE_CONF;
}

export function confInUse(): string {
  return process.env.SLURM_CONF ?? '/etc/slurm/slurm.conf';
}

export function clusterUp(): boolean {
  if (findOnPath('scontrol') === undefined) return false;
  const r = spawnSync('scontrol', ['ping'], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 && /is UP/.test(r.stdout);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function liveUsers(): string[] {
  if (!existsSync(USERS)) return [];
  return readdirSync(USERS).filter((f) => {
    const pid = Number(f.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) return true;
    rmSync(join(USERS, f), { force: true }); // a crashed worker's registration
    return false;
  });
}

/** mkdir is atomic: the lock. A lock older than 10 minutes is a crashed holder's. */
async function withLock<T>(fn: () => T): Promise<T> {
  ensureDirSync(STATE_DIR);
  for (let i = 0; ; i++) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > 600_000) rmSync(LOCK, { recursive: true, force: true });
      } catch {
        // gone meanwhile
      }
      if (i > 6000) throw new Error(`could not take ${LOCK} within 10 minutes`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

export interface TestCluster {
  /** Why there is no cluster (the tests skip); undefined when it is up. */
  unavailable?: string;
  /** Unregister; stops the cluster if a test started it and nobody else uses it. */
  release(): Promise<void>;
}

/**
 * Register as a user of the local cluster and make sure it is up. Throws (fails the file) when it
 * cannot be started and CI is set; otherwise returns `unavailable` with the reason.
 */
export async function acquireTestCluster(): Promise<TestCluster> {
  pointAtLocalConf();
  const me = join(USERS, `${process.pid}-${Math.random().toString(36).slice(2)}`);
  const release = async (): Promise<void> => {
    await withLock(() => {
      rmSync(me, { force: true });
      if (liveUsers().length === 0 && existsSync(STARTED_BY_TESTS)) {
        spawnSync('bash', [join(REPO, 'scripts/local-slurm.sh'), 'stop', '--state-dir', STATE_DIR], { timeout: 60_000 });
        rmSync(STARTED_BY_TESTS, { force: true });
      }
    });
  };
  const fail = (why: string): TestCluster => {
    if (process.env.CI) throw new Error(`CI is set but there is no Slurm cluster: ${why}`);
    console.warn(
      `\n!!!!!!!! SKIPPING Slurm integration tests: ${why}\n` +
        '!!!!!!!! Run `scripts/local-slurm.sh start` as root to run them (CI runs them and fails without Slurm).\n',
    );
    return { unavailable: why, release: async () => {} };
  };
  if (findOnPath('sbatch') === undefined && process.getuid?.() !== 0) return fail('sbatch is not on PATH and installing Slurm needs root');

  const started = await withLock(() => {
    ensureDirSync(USERS);
    writeFileSync(me, '');
    pointAtLocalConf();
    if (clusterUp()) return { ok: true as const };
    const r = spawnSync('bash', [join(REPO, 'scripts/local-slurm.sh'), 'start', '--state-dir', STATE_DIR], { encoding: 'utf8', timeout: 600_000 });
    if (r.status !== 0) return { ok: false as const, why: `scripts/local-slurm.sh start failed (exit ${r.status}):\n${r.stderr}${r.stdout}` };
    writeFileSync(STARTED_BY_TESTS, `${process.pid}\n`);
    pointAtLocalConf();
    if (!clusterUp()) return { ok: false as const, why: `scripts/local-slurm.sh start succeeded but 'scontrol ping' does not answer (SLURM_CONF=${confInUse()})` };
    return { ok: true as const };
  });
  if (!started.ok) {
    await release();
    return fail(started.why);
  }
  return { release };
}
