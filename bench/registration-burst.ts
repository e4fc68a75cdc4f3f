import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';

import { ORIGIN, PASSWORD, register } from './apps.js';
import { percentile, SECONDS } from './load.js';
import type { BurstPlan, BurstReport, Window } from './registration-burst-driver.js';
import type { Outcome, Stage } from './scenarios.js';

const DRIVER = fileURLToPath(new URL('./bench-registration-burst-driver.js', import.meta.url));
const BURST_SIZE = 60;
/** A burst lasts a fraction of a second: enough of them for a p99 of the logins they overlap. */
const BURSTS = Math.max(5, 3 * SECONDS);
/** The default REGISTRATION_ATTEMPTS_PER_IP: what each burst may cost in argon2 hashes. */
const REGISTRATION_BUDGET = 10;
/** A steady sign-in load well below argon2's capacity, so queueing comes from the bursts. */
const LOGINS_PER_SECOND = 20;
const WARM_UP_MS = 2000;

interface Sample {
  readonly at: number;
  readonly ms: number;
  readonly status: number;
}

const sleep = (ms: number) => new Promise((wake) => setTimeout(wake, ms));
const now = () => performance.timeOrigin + performance.now();

/** Sign-ins at a fixed rate (open loop: a slow answer does not delay the next one) until `stop`. */
async function probeLogins(auth: string, email: string, stop: AbortSignal): Promise<Sample[]> {
  const init: RequestInit = {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: ORIGIN },
    body: JSON.stringify({ email, password: PASSWORD }),
  };
  const answers: Promise<Sample>[] = [];
  const started = performance.now();
  for (let index = 0; !stop.aborted; index += 1) {
    await sleep(Math.max(0, started + (index * 1000) / LOGINS_PER_SECOND - performance.now()));
    const at = now();
    answers.push(
      fetch(`${auth}/auth/login`, init).then(
        async (response) => (
          await response.arrayBuffer(),
          { at, ms: now() - at, status: response.status }
        ),
        () => ({ at, ms: now() - at, status: 0 }),
      ),
    );
  }
  const samples = await Promise.all(answers);
  const failed = samples.filter((sample) => sample.status !== 200).length;
  if (failed > 0) {
    throw new Error(`POST /auth/login: ${failed} answers other than 200`);
  }
  return samples;
}

const summary = (values: readonly number[]) => ({
  p50: Number(percentile(values, 50).toFixed(1)),
  p99: Number(percentile(values, 99).toFixed(1)),
});

/**
 * 7. Cheap abuse stays cheap: `POST /auth/login` latency from one address (127.0.0.1) while bursts
 * of parallel registrations arrive from other addresses (a separate process), against the same
 * logins at rest between the bursts (alternation: drift in the machine's speed hits both alike).
 * The app trusts loopback as its proxy (TRUST_PROXY), so X-Forwarded-For gives each burst an
 * address of its own, with the default registration budget.
 */
export async function registrationBurst(stage: Stage): Promise<Outcome> {
  const auth = await stage.authBehindProxy();
  const email = await register(auth);
  const stop = new AbortController();
  const probing = probeLogins(auth, email, stop.signal);
  await sleep(WARM_UP_MS);
  const plan: BurstPlan = {
    registerUrl: `${auth}/auth/register`,
    password: PASSWORD,
    bursts: BURSTS,
    burstSize: BURST_SIZE,
    drainMs: 250,
    restMs: 1250,
  };
  const { stdout } = await promisify(execFile)(process.execPath, [DRIVER], {
    env: { ...process.env, BURST_PLAN: JSON.stringify(plan) },
  });
  stop.abort();
  const logins = await probing;
  const { rests, bursts } = JSON.parse(stdout) as BurstReport;
  const within = (windows: readonly Window[]) =>
    logins.filter((s) => windows.some((w) => s.at >= w.from && s.at <= w.to)).map((s) => s.ms);
  const atRest = summary(within(rests));
  const during = within(bursts);
  const duringBursts = summary(during);
  const statuses = bursts.flatMap((b) => b.statuses);
  const count = (status: number) => statuses.filter((s) => s === status).length;
  const limited = count(429);
  const ratio = duringBursts.p99 / Math.max(1, atRest.p99);
  const row = (target: string, m: { p50: number; p99: number }) => ({
    scenario: 'registration-burst',
    target,
    ...m,
  });
  return {
    rows: [
      row(`auth-api POST /auth/login at ${LOGINS_PER_SECOND} req/s, at rest`, atRest),
      row(
        `auth-api POST /auth/login at ${LOGINS_PER_SECOND} req/s, during the bursts (${during.length} logins)`,
        duringBursts,
      ),
      row(
        `auth-api POST /auth/register, ${BURSTS} bursts of ${BURST_SIZE} at once, an address each: ${count(201)} × 201, ${limited} × 429, ${statuses.length - count(201) - limited} other`,
        summary(bursts.flatMap((b) => b.latencies)),
      ),
    ],
    goals: [
      {
        goal: '/auth/login p99 during registration bursts ≤ 2 × at rest',
        measured: `${duringBursts.p99} ms vs ${atRest.p99} ms (${ratio.toFixed(2)} ×)`,
        met: ratio <= 2,
      },
      {
        goal: `Registrations past ${REGISTRATION_BUDGET} per address answered 429`,
        measured: `${limited} of ${statuses.length}`,
        met:
          limited === BURSTS * (BURST_SIZE - REGISTRATION_BUDGET) &&
          count(201) === BURSTS * REGISTRATION_BUDGET,
      },
    ],
  };
}
