import { createServer, type Server } from 'node:http';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';

import { call, FIRST_PARTY_CLIENT, login, ORIGIN, passwordGrant, register } from './apps.js';
import { median, percentile } from './load.js';
import type { Outcome, Stage } from './scenarios.js';

const PORT = 4150;
/** Sequential logouts, each waited for at the receiver before the next: latency at rest. */
const AT_REST = 200;
const WARM_UP = 10;
/** Sessions ended by one POST /me/sessions/revoke-others: one commit, BURST events at once. */
const BURST = 500;

/** The `sid` of a logout token (its payload read, not verified: the tests verify signatures). */
function logoutTokenSid(form: string): string | undefined {
  const token = new URLSearchParams(form).get('logout_token') ?? '';
  const payload = token.split('.')[1] ?? '';
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8') || '{}') as {
    sid?: string;
  };
  return claims.sid;
}

/**
 * A receiver that answers 200 at once and notes when each event arrived (bench process clock): a
 * webhook's `session.revoked` by its session id, a back-channel logout token by its `sid`.
 */
async function receiver(): Promise<{
  url: string;
  logoutUrl: string;
  arrivals: Map<string, number>;
  close: () => Promise<void>;
}> {
  const arrivals = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const at = performance.now();
      const body = Buffer.concat(chunks).toString('utf8');
      const sessionId = request.url?.endsWith('/logout')
        ? logoutTokenSid(body)
        : (JSON.parse(body) as { data: { sessionId?: string } }).data.sessionId;
      if (sessionId && !arrivals.has(sessionId)) {
        arrivals.set(sessionId, at);
      }
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/gatehouse`,
    logoutUrl: `http://127.0.0.1:${port}/logout`,
    arrivals,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) {
      throw new Error(`webhooks bench: ${what} did not happen within ${timeoutMs / 1000} s`);
    }
    await new Promise((wake) => setTimeout(wake, 1));
  }
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/**
 * Webhook delivery (issue 21, acceptance 5) and back-channel logout (acceptance 1's "within 1 s"),
 * through auth-api's own job worker to a receiver in this process on loopback. Logout tokens: AT_REST
 * token sessions of the first-party client (its back-channel URI pointed at the receiver) ended one
 * after the other by an operator at admin-api, from the DELETE to the token's arrival. At rest: AT_REST sessions signed in and out one after the other; the clock
 * starts when `POST /auth/logout` is sent (its transaction commits the revocation and its
 * `session.revoked` delivery; the commit is no earlier than that) and stops when the event arrives —
 * so each figure bounds commit → receipt from above by the logout's own latency. Throughput: BURST
 * sessions of one user ended by one `POST /me/sessions/revoke-others` (one transaction, BURST events),
 * from the response to the last arrival.
 */
export async function webhooks(stage: Stage): Promise<Outcome> {
  await stage.auth(); // migrations and keys first
  const sink = await receiver();
  try {
    const auth = await stage.bench.startApp('auth-api', PORT, stage.appEnv(), {
      label: 'auth-api (webhooks, job worker)',
    });
    const admin = await stage.admin();
    const operator = await register(auth);
    await stage.bench.query(`UPDATE users SET roles = ARRAY['admin'] WHERE email = $1`, [operator]);
    await call(`${admin}/admin/webhooks`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        cookie: await login(auth, operator),
        origin: ORIGIN,
      },
      body: JSON.stringify({ url: sink.url, eventTypes: ['session.revoked'] }),
    });

    const operatorCookie = await login(auth, operator);
    await call(`${admin}/admin/clients/${FIRST_PARTY_CLIENT}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', cookie: operatorCookie, origin: ORIGIN },
      body: JSON.stringify({ backchannelLogoutUri: sink.logoutUrl }),
    });

    const email = await register(auth);
    // Back-channel logout: a token session ended by an operator, until its client holds the token.
    const logoutLatencies: number[] = [];
    for (let index = 0; index < WARM_UP + AT_REST; index += 1) {
      const { access_token: accessToken } = await passwordGrant(auth, email);
      const sid = (
        JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8')) as {
          sid: string;
        }
      ).sid;
      const sent = performance.now();
      const revoked = await fetch(`${admin}/admin/sessions/${sid}`, {
        method: 'DELETE',
        headers: { cookie: operatorCookie, origin: ORIGIN },
      });
      if (revoked.status !== 204) {
        throw new Error(`DELETE /admin/sessions/:id answered ${revoked.status}`);
      }
      await until(() => sink.arrivals.has(sid), 30_000, 'a logout token');
      if (index >= WARM_UP) {
        logoutLatencies.push(sink.arrivals.get(sid)! - sent);
      }
    }

    const latencies: number[] = [];
    for (let index = 0; index < WARM_UP + AT_REST; index += 1) {
      const cookie = await login(auth, email);
      const { body } = await call<{ session: { id: string } }>(`${auth}/me`, {
        headers: { cookie },
      });
      const sent = performance.now();
      const response = await fetch(`${auth}/auth/logout`, {
        method: 'POST',
        headers: { cookie, origin: ORIGIN },
      });
      if (response.status !== 204) {
        throw new Error(`POST /auth/logout answered ${response.status}`);
      }
      await until(() => sink.arrivals.has(body.session.id), 30_000, 'a session.revoked event');
      if (index >= WARM_UP) {
        latencies.push(sink.arrivals.get(body.session.id)! - sent);
      }
    }

    const cookies: string[] = [];
    for (let index = 0; index < BURST + 1; index += 1) {
      cookies.push(await login(auth, email));
    }
    const before = sink.arrivals.size;
    const response = await fetch(`${auth}/me/sessions/revoke-others`, {
      method: 'POST',
      headers: { cookie: cookies.at(-1)!, origin: ORIGIN },
    });
    const committed = performance.now();
    if (!response.ok) {
      throw new Error(`POST /me/sessions/revoke-others answered ${response.status}`);
    }
    await until(() => sink.arrivals.size >= before + BURST, 300_000, `${BURST} events`);
    const burst = [...sink.arrivals.values()].slice(before).map((at) => at - committed);
    const seconds = Math.max(...burst) / 1000;
    const load = loadavg()
      .map((value) => value.toFixed(2))
      .join(' / ');
    return {
      rows: [
        {
          scenario: 'webhooks',
          target: `logout → session.revoked received, at rest (${AT_REST} sequential, from the request)`,
          p50: round(median(latencies)),
          p99: round(percentile(latencies, 99)),
        },
        {
          scenario: 'webhooks',
          target: `admin-api DELETE /admin/sessions/:id → back-channel logout token received, at rest (${AT_REST} sequential, from the request)`,
          p50: round(median(logoutLatencies)),
          p99: round(percentile(logoutLatencies, 99)),
        },
        {
          scenario: 'webhooks',
          target: `burst: ${BURST} session.revoked from one revoke-others, events/s to the last receipt`,
          rps: BURST / seconds,
          p50: round(median(burst)),
          p99: round(percentile(burst, 99)),
        },
      ],
      goals: [
        {
          goal: 'Back-channel logout at rest: operator revocation → logout token received, p99 under 1 s',
          measured: `p50 ${round(median(logoutLatencies))} ms, p99 ${round(percentile(logoutLatencies, 99))} ms`,
          met: percentile(logoutLatencies, 99) < 1000,
        },
        {
          goal: 'Webhook delivery at rest: commit → receipt p99 under 1 s',
          measured: `p50 ${round(median(latencies))} ms, p99 ${round(percentile(latencies, 99))} ms; burst ${Math.round(BURST / seconds)} events/s; load average ${load}`,
          met: percentile(latencies, 99) < 1000,
        },
      ],
    };
  } finally {
    await sink.close();
  }
}
