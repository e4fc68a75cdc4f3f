import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';

import { SMTPServer } from 'smtp-server';

import { register } from './apps.js';
import { median, percentile } from './load.js';
import type { Outcome, Stage } from './scenarios.js';

const PORT = 4140;
const REQUESTS = 200;
const WARM_UP_REQUESTS = 20;
/** The goal: an unknown address answered as fast as a known one, medians within 10 %. */
const GOAL = 0.1;

/** An SMTP server that accepts every mail and keeps none: the worker's mail goes somewhere real. */
async function smtpSink(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData: (stream, _session, done) => {
      stream.on('end', () => done());
      stream.resume();
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `smtp://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** One `POST /auth/password/forgot`, timed from the client (fetch, keep-alive), body read. */
async function forgot(auth: string, email: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${auth}/auth/password/forgot`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email }),
  });
  await response.text();
  const ms = performance.now() - started;
  if (response.status !== 202) {
    throw new Error(`POST /auth/password/forgot answered ${response.status}`);
  }
  return ms;
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/**
 * Password reset requests for a known and an unknown address, one at a time and alternating (which
 * goes first swaps every pair), REQUESTS each after a warm-up. auth-api runs its job worker with a
 * real SMTP server, so the known address's link and mail are written, and sent, in the same process
 * while the requests go on, as in production. The request path itself should do the same work for
 * both: its latency must not tell whether an account exists.
 */
export async function forgotPassword(stage: Stage): Promise<Outcome> {
  await stage.auth(); // migrations and keys first
  const sink = await smtpSink();
  try {
    const auth = await stage.bench.startApp(
      'auth-api',
      PORT,
      stage.appEnv({
        SMTP_URL: sink.url,
        PASSWORD_RESET_REQUESTS_PER_ADDRESS: '1000',
        PASSWORD_RESET_REQUESTS_PER_IP: '1000000',
      }),
      { label: 'auth-api (forgot-password, SMTP sink)' },
    );
    const known = await register(auth);
    const unknown = `nobody-${randomBytes(6).toString('hex')}@example.com`;
    const samples = { known: [] as number[], unknown: [] as number[] };
    for (let index = 0; index < WARM_UP_REQUESTS + REQUESTS; index += 1) {
      const order =
        index % 2 === 0 ? (['known', 'unknown'] as const) : (['unknown', 'known'] as const);
      for (const which of order) {
        const ms = await forgot(auth, which === 'known' ? known : unknown);
        if (index >= WARM_UP_REQUESTS) {
          samples[which].push(ms);
        }
      }
    }
    const known50 = median(samples.known);
    const unknown50 = median(samples.unknown);
    const medianRatio = known50 / unknown50;
    const load = loadavg()
      .map((value) => value.toFixed(2))
      .join(' / ');
    const row = (which: 'known' | 'unknown', ratio: number) => ({
      scenario: 'forgot-password',
      target: `auth-api POST /auth/password/forgot, ${which} address (${REQUESTS} sequential, alternating)`,
      p50: round(median(samples[which])),
      p99: round(percentile(samples[which], 99)),
      ratio,
    });
    return {
      rows: [row('unknown', 1), row('known', medianRatio)],
      goals: [
        {
          goal: 'Known vs unknown address: median latency within 10 %',
          measured: `${round(known50)} ms vs ${round(unknown50)} ms (${medianRatio.toFixed(3)} ×); p99 ${round(percentile(samples.known, 99))} vs ${round(percentile(samples.unknown, 99))} ms; load average ${load}`,
          met: Math.abs(medianRatio - 1) <= GOAL,
        },
      ],
    };
  } finally {
    await sink.close();
  }
}
