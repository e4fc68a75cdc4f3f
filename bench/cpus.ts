import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/**
 * Which cores the servers and the load generators run on. On a machine of a few cores the
 * scheduler otherwise moves autocannon onto the app's core and back, from one window to the next,
 * and the load generator's own work counts against the app. Pinned, the apps and the peers share
 * every core but the last, and the load generators (autocannon, the chain and burst drivers:
 * children of the bench process, which inherit its affinity) have the last one to themselves, as
 * clients on other machines would. PostgreSQL is not pinned. It does not remove the machine's own
 * swings in speed, which the spread of each target's rounds shows.
 *
 * `BENCH_PIN=0` turns it off; so does a machine of one core or one without `taskset` (util-linux).
 */
export interface Pinning {
  /** taskset's CPU list for the apps and the peers, e.g. `0` or `0-2`. */
  readonly servers: string;
  /** taskset's CPU list for the bench process and the load generators it starts. */
  readonly clients: string;
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The cores this process may use, read before `pinThisProcess` narrows them to one. */
export const MACHINE_CPUS = availableParallelism();

function pinningOf(): Pinning | null {
  const cores = MACHINE_CPUS;
  if (process.env['BENCH_PIN'] === '0' || cores < 2 || !hasTaskset()) {
    return null;
  }
  const last = cores - 1;
  return { servers: last === 1 ? '0' : `0-${last - 1}`, clients: String(last) };
}

export const PINNING: Pinning | null = pinningOf();

/** Moves this process (every thread) onto the clients' core: the load generators it forks follow. */
export function pinThisProcess(): void {
  if (PINNING) {
    execFileSync('taskset', ['-a', '-p', '-c', PINNING.clients, String(process.pid)], {
      stdio: 'ignore',
    });
  }
}

/** The command that starts a server: `node ARGS`, under taskset on the servers' cores if pinned. */
export function serverCommand(args: readonly string[]): [string, string[]] {
  return PINNING
    ? ['taskset', ['-c', PINNING.servers, process.execPath, ...args]]
    : [process.execPath, [...args]];
}

/** For the report. */
export function pinningNote(): string {
  return PINNING
    ? `Pinned: the apps and the peers on CPU ${PINNING.servers}, the load generators on CPU ${PINNING.clients} (PostgreSQL unpinned; \`BENCH_PIN=0\` to share every core).`
    : 'Not pinned: the apps, the peers and the load generators share every core.';
}
