import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

/**
 * The registration bursts of the `registration-burst` scenario, run by `npm run bench` as its own
 * process (the process measuring sign-ins must not be the one busy sending the burst). Each round:
 * a pause, a window "at rest", then `burstSize` registrations sent at once, from an address of
 * their own (X-Forwarded-For, which the app under test trusts from loopback). Prints JSON: the rest
 * windows and the bursts, as epoch milliseconds, with each registration's status and latency.
 */
export interface BurstPlan {
  readonly registerUrl: string;
  readonly password: string;
  readonly bursts: number;
  readonly burstSize: number;
  /** After a burst: lets its tail drain before the next rest window. */
  readonly drainMs: number;
  readonly restMs: number;
}

export interface Window {
  readonly from: number;
  readonly to: number;
}

export interface Burst extends Window {
  readonly address: string;
  readonly statuses: readonly number[];
  readonly latencies: readonly number[];
}

export interface BurstReport {
  readonly rests: readonly Window[];
  readonly bursts: readonly Burst[];
}

const plan = JSON.parse(process.env['BURST_PLAN'] ?? '{}') as BurstPlan;
const agent = new Agent({ keepAlive: true, maxSockets: plan.burstSize });
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((wake) => setTimeout(wake, ms));

/** One registration: its status (0: no answer) and latency in ms. */
function register(address: string): Promise<{ status: number; ms: number }> {
  const body = JSON.stringify({
    email: `burst-${randomBytes(6).toString('hex')}@example.com`,
    password: plan.password,
  });
  const started = performance.now();
  return new Promise((resolve) => {
    const done = (status: number) => resolve({ status, ms: performance.now() - started });
    request(
      plan.registerUrl,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-forwarded-for': address,
        },
      },
      (res) => res.resume().on('end', () => done(res.statusCode ?? 0)),
    )
      .on('error', () => done(0))
      .end(body);
  });
}

async function burst(address: string): Promise<Burst> {
  const from = now();
  const answers = await Promise.all(
    Array.from({ length: plan.burstSize }, () => register(address)),
  );
  return {
    from,
    to: now(),
    address,
    statuses: answers.map((answer) => answer.status),
    latencies: answers.map((answer) => answer.ms),
  };
}

async function main(): Promise<void> {
  const rests: Window[] = [];
  const bursts: Burst[] = [];
  for (let index = 1; index <= plan.bursts; index += 1) {
    await sleep(plan.drainMs);
    const from = now();
    await sleep(plan.restMs);
    rests.push({ from, to: now() });
    // RFC 5737 documentation addresses: one per burst, each with a fresh registration budget.
    bursts.push(await burst(`198.51.100.${index}`));
  }
  agent.destroy();
  process.stdout.write(JSON.stringify({ rests, bursts } satisfies BurstReport));
}

await main();
