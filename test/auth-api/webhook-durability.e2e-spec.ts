import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SessionService } from '@gatehouse/identity';
import { Database, type User } from '@gatehouse/persistence';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { ensureBundles } from '../support/bundles.js';
import {
  type CookieSession,
  givenCookieSession,
  givenUser,
  givenUserAt,
  TRUSTED_ORIGIN,
} from '../support/http.js';
import { killHard, launchAuthApi } from '../support/auth-api-process.js';
import type { LaunchedProcess } from '../support/launched-process.js';
import { givenAdminApi, givenAuthApi } from '../support/test-app.js';
import { freshDatabaseUrl } from '../support/test-database.js';
import { type ReceivedWebhook, WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * The Standard Webhooks schedule's shape in seconds rather than minutes and hours: 7 attempts over
 * about two minutes, so an outage of tens of seconds is outlived the way 60 s are outlived by the
 * production schedule (attempts at 0 and 5 s fail, the one at 5 min succeeds).
 */
const SCHEDULE = '0,2,4,8,16,32,64';
/** Generous for a slow shared machine; never a timing assertion. */
const EVENTUALLY = { timeout: 240_000, interval: 500 };
const START_MS = 60_000;

/**
 * Issue 21, acceptances 2 and 3: no event lost to a receiver that is down, nor to an auth-api killed
 * right after the change committed. On a database of its own, so only this file's workers run these
 * deliveries.
 */
describe('webhook durability', () => {
  let receiver: WebhookReceiver;
  let database: pg.Client;
  let databaseUrl: string;

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    databaseUrl = await freshDatabaseUrl('webhook-durability', { migrated: true });
    database = new pg.Client({ connectionString: databaseUrl });
    await database.connect();
  });
  afterAll(async () => {
    await database?.end();
    await receiver?.down();
  });

  const env = () => ({
    DATABASE_URL: databaseUrl,
    OUTBOUND_ALLOW_PRIVATE: 'true',
    WEBHOOK_RETRY_SCHEDULE: SCHEDULE,
    JOB_POLL_INTERVAL_MS: '200',
  });

  async function deliveryCount(endpointId: string, where = 'true'): Promise<number> {
    const { rows } = await database.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM webhook_deliveries WHERE endpoint_id = $1 AND ${where}`,
      [endpointId],
    );
    return rows[0]!.count;
  }

  describe('acceptance 2: a receiver down while 500 sessions are created and revoked', () => {
    let auth: NestFastifyApplication;
    let admin: NestFastifyApplication;
    let operator: CookieSession;

    beforeAll(async () => {
      auth = await givenAuthApi({ ...env(), JOB_WORKER_CONCURRENCY: '4' });
      admin = await givenAdminApi(env());
      const user = await givenUser(auth);
      await auth.get(Database).users.addRole(user.id, 'admin');
      operator = await givenCookieSession(auth, user);
    });
    afterAll(async () => {
      await database.query('DELETE FROM webhook_endpoints');
      await admin?.close();
      await auth?.close();
    });

    /**
     * The window is counted in failed attempts rather than wall-clock seconds: the receiver stays
     * down until every one of the 1000 deliveries has failed at least once, then comes back (with
     * the production schedule, 60 s of outage likewise cost each delivery its first attempts).
     * Sessions are started through SessionService, the path POST /auth/login takes after the
     * password check, sparing 500 argon2 verifications on a shared machine; webhook-delivery's first
     * case covers the HTTP path.
     */
    it('delivers every event at least once afterwards: each id seen, counts match the rows, all signatures valid', async () => {
      const created = await admin.inject({
        method: 'POST',
        url: '/admin/webhooks',
        headers: { cookie: operator.cookie, origin: TRUSTED_ORIGIN },
        payload: {
          url: receiver.url('/outage'),
          eventTypes: ['session.created', 'session.revoked'],
        },
      });
      expect(created.statusCode).toBe(201);
      const { id, secret } = created.json<{ id: string; secret: string }>();

      await receiver.down();
      const user = await givenUser(auth);
      const sessions = auth.get(SessionService);
      const context = { ip: '127.0.0.1', userAgent: 'acceptance-2' };
      for (let i = 0; i < 500; i += 1) {
        const { session } = await sessions.startCookieSession(
          { user: { id: user.id } as User, amr: ['pwd'] },
          context,
        );
        await sessions.revokeOne(user.id, session.id, context);
      }
      expect(await deliveryCount(id)).toBe(1000);
      await expect.poll(() => deliveryCount(id, 'attempts >= 1'), EVENTUALLY).toBe(1000);
      expect(await deliveryCount(id, `status = 'succeeded'`)).toBe(0);
      expect(receiver.on('/outage')).toEqual([]);

      await receiver.up();
      await expect.poll(() => deliveryCount(id, `status = 'succeeded'`), EVENTUALLY).toBe(1000);

      const { rows } = await database.query<{ id: string }>(
        'SELECT id FROM webhook_deliveries WHERE endpoint_id = $1',
        [id],
      );
      const received = receiver.on('/outage');
      const timesSeen = new Map<string, number>();
      for (const request of received) {
        timesSeen.set(request.id, (timesSeen.get(request.id) ?? 0) + 1);
      }
      // Each id seen, as many receptions as the queue recorded successful attempts (one each:
      // nothing died between a POST and its record), every signature valid under standardwebhooks.
      expect([...timesSeen.keys()].sort()).toEqual(rows.map((row) => row.id).sort());
      expect([...timesSeen.values()].every((times) => times === 1)).toBe(true);
      expect(received).toHaveLength(rows.length);
      expect(receiver.verified('/outage', secret)).toHaveLength(received.length);
      const types = received.reduce<Record<string, number>>((counts, request) => {
        counts[request.payload.type] = (counts[request.payload.type] ?? 0) + 1;
        return counts;
      }, {});
      expect(types).toEqual({ 'session.created': 500, 'session.revoked': 500 });
      const revoked = received.filter((request) => request.payload.type === 'session.revoked');
      expect(revoked.every((request) => request.payload.data.reason === 'revoked_by_user')).toBe(
        true,
      );
    }, 600_000);
  });

  /**
   * auth-api as production runs it (`node dist/auth-api.js`), killed with SIGKILL right after a
   * revocation committed: no shutdown hook runs, whatever was queued stays in PostgreSQL.
   */
  describe('acceptance 3: auth-api killed right after a revocation commits', () => {
    const processes: LaunchedProcess[] = [];

    beforeAll(async () => {
      await ensureBundles();
    }, 300_000);
    afterEach(async () => {
      for (const proc of processes.splice(0)) {
        if (proc.child.exitCode === null && proc.child.signalCode === null) {
          proc.child.kill('SIGTERM');
          await proc.finished(30_000).catch(() => undefined);
        }
      }
      await database.query('DELETE FROM webhook_endpoints');
    }, 60_000);

    async function startAuthApi(
      extra: Record<string, string> = {},
    ): Promise<{ proc: LaunchedProcess; url: string }> {
      const started = await launchAuthApi({ ...env(), ...extra }, START_MS);
      processes.push(started.proc);
      return started;
    }

    /** An endpoint registered straight in the database (admin-api is not what is under test). */
    async function givenEndpoint(path: string): Promise<string> {
      const admin = await givenAdminApi(env());
      try {
        const auth = await givenAuthApi({ ...env(), JOB_WORKER_CONCURRENCY: '0' });
        try {
          const user = await givenUser(auth);
          await auth.get(Database).users.addRole(user.id, 'admin');
          const operator = await givenCookieSession(auth, user);
          const response = await admin.inject({
            method: 'POST',
            url: '/admin/webhooks',
            headers: { cookie: operator.cookie, origin: TRUSTED_ORIGIN },
            payload: { url: receiver.url(path), eventTypes: ['session.revoked'] },
          });
          expect(response.statusCode).toBe(201);
          return response.json<{ id: string }>().id;
        } finally {
          await auth.close();
        }
      } finally {
        await admin.close();
      }
    }

    /** Signs in and out over HTTP: the logout's transaction commits the revocation and its event. */
    async function loginAndLogout(url: string): Promise<{ userId: string; sessionId: string }> {
      const user = await givenUserAt(url);
      const login = await fetch(`${url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: url },
        body: JSON.stringify({ email: user.email, password: user.password }),
      });
      expect(login.status).toBe(200);
      const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
      const { session } = (await login.json()) as { session: { id: string } };
      const logout = await fetch(`${url}/auth/logout`, {
        method: 'POST',
        headers: { cookie, origin: url },
      });
      expect(logout.status).toBe(204);
      return { userId: user.id, sessionId: session.id };
    }

    const revokedEvents = (path: string, sessionId: string): ReceivedWebhook[] =>
      receiver
        .on(path)
        .filter(
          (request) =>
            request.payload.type === 'session.revoked' &&
            request.payload.data.sessionId === sessionId,
        );

    it(
      'delivers the session.revoked event after a restart when auth-api died before its worker took the job',
      async () => {
        const endpointId = await givenEndpoint('/killed-before');
        // No worker: the revocation and its event are committed and nobody has taken the job yet.
        const first = await startAuthApi({ JOB_WORKER_CONCURRENCY: '0' });
        const { sessionId } = await loginAndLogout(first.url);
        await killHard(first.proc);
        expect(await deliveryCount(endpointId, `status = 'pending' AND attempts = 0`)).toBe(1);

        await startAuthApi();
        await expect
          .poll(() => revokedEvents('/killed-before', sessionId).length, EVENTUALLY)
          .toBe(1);
        expect(revokedEvents('/killed-before', sessionId)[0]!.payload.data.reason).toBe('logout');
        await expect
          .poll(() => deliveryCount(endpointId, `status = 'succeeded'`), EVENTUALLY)
          .toBe(1);
      },
      START_MS * 4,
    );

    it(
      'delivers it again after a restart when auth-api died in the middle of the POST (at least once, same webhook-id)',
      async () => {
        const endpointId = await givenEndpoint('/killed-during');
        // The receiver holds the first request open: the worker is in the middle of the POST.
        let release: (() => void) | undefined;
        const held = new Promise<void>((resolve) => (release = resolve));
        receiver.answer('/killed-during', (_request, seenBefore) =>
          seenBefore === 0 ? { status: 200, hold: held } : { status: 200 },
        );
        // The dead worker's lock is released once older than JOB_STALE_LOCK_SECONDS (1 s here).
        const extra = { JOB_STALE_LOCK_SECONDS: '1', OUTBOUND_TIMEOUT_MS: '60000' };
        const first = await startAuthApi(extra);
        const { sessionId } = await loginAndLogout(first.url);
        await expect
          .poll(() => revokedEvents('/killed-during', sessionId).length, EVENTUALLY)
          .toBe(1);
        await killHard(first.proc);
        release!();

        await startAuthApi(extra);
        await expect
          .poll(() => revokedEvents('/killed-during', sessionId).length, EVENTUALLY)
          .toBe(2);
        const [before, after] = revokedEvents('/killed-during', sessionId);
        expect(after!.id).toBe(before!.id);
        await expect
          .poll(() => deliveryCount(endpointId, `status = 'succeeded'`), EVENTUALLY)
          .toBe(1);
      },
      START_MS * 4,
    );
  });
});
