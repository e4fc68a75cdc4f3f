import { type ChildProcess, execFile, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { serverCpuMicros } from './apps.js';

/** Load generation: autocannon's CLI (or our chain driver) in a separate process, never in ours. */
const run = promisify(execFile);
const AUTOCANNON = fileURLToPath(new URL('../bench/node_modules/.bin/autocannon', import.meta.url));
const CHAIN_DRIVER = fileURLToPath(new URL('./bench-refresh-chains.js', import.meta.url));

/**
 * Rounds of each target and their length: many short rounds, since this machine's speed moves
 * within seconds and the median of 9 round ratios holds better than the median of 5.
 */
export const SECONDS = Number(process.env['BENCH_SECONDS'] ?? '4');
export const RUNS = Number(process.env['BENCH_RUNS'] ?? '9');
export const WARM_UP_SECONDS = 3;
export const CONNECTIONS = 50;

export interface Measurement {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  /**
   * CPU time (user + system) the target's server process spent per request during the run, in µs:
   * what a request costs the app itself, apart from the load generator on the same CPUs. It moves
   * with the machine's speed like req/s, so it is compared within a run. Undefined for a server
   * this run did not start.
   */
  readonly cpuMicros?: number;
  /**
   * req/s of each run, in the order measured (a median's runs): targets measured in alternation
   * share their rounds, and `ratioOf` pairs them round by round.
   */
  readonly rounds?: readonly number[];
}

/** `m`'s req/s over `base`'s, round by round, when the two were measured in the same alternation. */
function roundRatios(m: Measurement, base: Measurement): number[] | undefined {
  const [rounds, baseRounds] = [m.rounds, base.rounds];
  return rounds && baseRounds && rounds.length === baseRounds.length
    ? rounds.map((rps, round) => rps / baseRounds[round]!)
    : undefined;
}

/**
 * `m` in units of `base`: the median of the round-by-round ratios when both were measured in the
 * same alternation (a round's two windows are seconds apart, so a drift in the machine's speed
 * over the minutes of a scenario cancels out of each), else the ratio of their medians.
 */
export function ratioOf(m: Measurement, base: Measurement): number {
  const ratios = roundRatios(m, base);
  return ratios ? median(ratios) : m.rps / base.rps;
}

/**
 * The lowest and highest of the round-by-round ratios behind `ratioOf`: how far this machine's
 * noise moved the ratio within the run. Undefined when the two were not measured in alternation.
 */
export function ratioRange(
  m: Measurement,
  base: Measurement,
): readonly [number, number] | undefined {
  const ratios = roundRatios(m, base);
  return ratios && ratios.length > 1 ? [Math.min(...ratios), Math.max(...ratios)] : undefined;
}

export interface Target {
  readonly name: string;
  readonly url: string;
  readonly method?: 'GET' | 'POST';
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly connections?: number;
  /** A fixed request rate (autocannon -R) instead of as fast as possible: for latency at a load. */
  readonly rate?: number;
  /** Answers allowed to be non-2xx (e.g. a peer's 401 is a failure, a login storm's is not). */
  readonly allowNon2xx?: boolean;
}

export const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export function medianOf(runs: readonly Measurement[]): Measurement {
  const cpu = runs.flatMap((m) => (m.cpuMicros === undefined ? [] : [m.cpuMicros]));
  return {
    rps: median(runs.map((m) => m.rps)),
    p50: median(runs.map((m) => m.p50)),
    p99: median(runs.map((m) => m.p99)),
    ...(cpu.length > 0 ? { cpuMicros: median(cpu) } : {}),
    rounds: runs.map((m) => m.rps),
  };
}

/** The server's CPU per request over a run, from readings before and after it. */
function cpuPerRequest(
  before: number | undefined,
  after: number | undefined,
  requests: number,
): { cpuMicros?: number } {
  return before === undefined || after === undefined || requests <= 0
    ? {}
    : { cpuMicros: (after - before) / requests };
}

const portOf = (url: string) => {
  const { port, protocol } = new URL(url);
  return Number(port || (protocol === 'https:' ? 443 : 80));
};

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** When a run's load started and finished (epoch ms, autocannon's own clock readings). */
export interface LoadWindow {
  readonly startedMs: number;
  readonly finishedMs: number;
}

export async function autocannon(
  target: Target,
  seconds: number,
): Promise<Measurement & LoadWindow> {
  const args = ['-c', String(target.connections ?? CONNECTIONS), '-d', String(seconds), '--json'];
  for (const [name, value] of Object.entries(target.headers ?? {})) {
    args.push('-H', `${name}=${value}`);
  }
  if (target.method) {
    args.push('-m', target.method);
  }
  if (target.body !== undefined) {
    args.push('-b', target.body);
  }
  if (target.rate) {
    args.push('-R', String(target.rate));
  }
  const port = portOf(target.url);
  const cpuBefore = serverCpuMicros(port);
  const { stdout } = await run(AUTOCANNON, [...args, target.url], {
    maxBuffer: 64 * 1024 * 1024,
  });
  const cpuAfter = serverCpuMicros(port);
  const result = JSON.parse(stdout) as {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
    timeouts: number;
    start: string;
    finish: string;
  };
  if (result.errors > 0 || result.timeouts > 0 || (!target.allowNon2xx && result.non2xx > 0)) {
    throw new Error(
      `${target.name}: ${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
  }
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    startedMs: Date.parse(result.start),
    finishedMs: Date.parse(result.finish),
    ...cpuPerRequest(cpuBefore, cpuAfter, result.requests.total),
  };
}

/** A warm-up (JIT, pools, caches), then the median of RUNS runs. */
export async function measure(target: Target): Promise<Measurement> {
  await autocannon(target, WARM_UP_SECONDS);
  const runs: Measurement[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    runs.push(await autocannon(target, SECONDS));
  }
  return medianOf(runs);
}

/**
 * Several targets measured in alternation (A B C, A B C, …) after one warm-up each, so that drift
 * in the machine's speed over the minutes of a scenario hits every target alike; medians per target,
 * each with its rounds (see `ratioOf`).
 */
export async function measureTogether<const T extends readonly Target[]>(
  targets: T,
): Promise<{ -readonly [K in keyof T]: Measurement }> {
  for (const target of targets) {
    await autocannon(target, WARM_UP_SECONDS);
  }
  const runs: Measurement[][] = targets.map(() => []);
  for (let i = 0; i < RUNS; i += 1) {
    for (const [index, target] of targets.entries()) {
      runs[index]!.push(await autocannon(target, SECONDS));
    }
  }
  return runs.map(medianOf) as { -readonly [K in keyof T]: Measurement };
}

export interface ChainTarget {
  readonly name: string;
  readonly tokenEndpoint: string;
  readonly clientId: string;
  readonly refreshTokens: readonly string[];
}

type ChainRun = Measurement & { readonly failures: number };

/** One chain driver per target, each driving its N chains for `seconds` at a time on request. */
export class ChainDriver {
  private readonly child: ChildProcess;

  constructor(readonly target: ChainTarget) {
    this.child = fork(CHAIN_DRIVER, [], {
      env: { ...process.env, CHAINS: JSON.stringify(target) },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
  }

  /** One window; throws (loudly) if any refresh failed or the driver died. */
  async window(seconds: number): Promise<ChainRun> {
    const port = portOf(this.target.tokenEndpoint);
    const cpuBefore = serverCpuMicros(port);
    const result = await new Promise<ChainRun>((resolve, reject) => {
      const exited = (code: number | null) =>
        reject(new Error(`${this.target.name}: the chain driver exited (${code})`));
      this.child.once('exit', exited);
      this.child.once('message', (message) => {
        this.child.off('exit', exited);
        resolve(message as ChainRun);
      });
      this.child.send({ seconds });
    });
    if (result.failures > 0) {
      throw new Error(`${this.target.name}: ${result.failures} refreshes failed (see above)`);
    }
    return {
      ...result,
      ...cpuPerRequest(cpuBefore, serverCpuMicros(port), result.rps * seconds),
    };
  }

  stop(): void {
    if (this.child.connected) {
      this.child.send({ done: true });
    }
  }
}

/**
 * N refresh-token chains per target, each chain sequential (every answer's token is the next
 * request's), all chains of a target in parallel; the targets measured in alternation like
 * measureTogether's (one warm-up each, then A B, A B, …), medians per target.
 */
export async function refreshChainsTogether<const T extends readonly ChainTarget[]>(
  targets: T,
): Promise<{ -readonly [K in keyof T]: Measurement }> {
  const drivers = targets.map((target) => new ChainDriver(target));
  try {
    for (const driver of drivers) {
      await driver.window(WARM_UP_SECONDS);
    }
    const runs: Measurement[][] = targets.map(() => []);
    for (let i = 0; i < RUNS; i += 1) {
      for (const [index, driver] of drivers.entries()) {
        runs[index]!.push(await driver.window(SECONDS));
      }
    }
    return runs.map(medianOf) as { -readonly [K in keyof T]: Measurement };
  } finally {
    drivers.forEach((driver) => driver.stop());
  }
}
