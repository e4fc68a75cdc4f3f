import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SessionHousekeeping } from '@gatehouse/identity';
import { Database } from '@gatehouse/persistence';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  type CookieSession,
  givenCookieSession,
  givenUser,
  TRUSTED_ORIGIN,
  withCookie,
} from '../support/http.js';
import { givenAdminApi, givenAuthApi } from '../support/test-app.js';
import { freshDatabaseUrl } from '../support/test-database.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

/** Generous for a slow shared machine; never a timing assertion. */
const EVENTUALLY = { timeout: 50_000, interval: 100 };
const CASE_MS = 60_000;
/** Standard Webhooks' schedule shape, in seconds instead of minutes and hours: 6 attempts in ~9 s. */
const SCHEDULE = '0,1,1,2,2,3';

interface DeliveryRow {
  id: string;
  eventType: string;
  status: string;
  attempts: number;
  lastResponseStatus: number | null;
  lastError: string | null;
  lastBodyExcerpt: string | null;
}

/**
 * Webhooks end to end (issue 21): events written in the transaction of their change, delivered by
 * auth-api's worker to a real receiver on 127.0.0.1 that checks every signature with the
 * `standardwebhooks` package; retries, redirects, SSRF refusals at delivery, replay, secret rotation,
 * automatic disabling (acceptances 2 and 3 are in webhook-durability.e2e-spec.ts). On a database of
 * its own, so its worker sees only its own deliveries.
 */
describe('webhook delivery', { timeout: CASE_MS }, () => {
  let receiver: WebhookReceiver;
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;
  let operator: CookieSession;
  let database: pg.Client;

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    const env = {
      DATABASE_URL: await freshDatabaseUrl('webhooks', { migrated: true }),
      OUTBOUND_ALLOW_PRIVATE: 'true',
      WEBHOOK_RETRY_SCHEDULE: SCHEDULE,
      JOB_POLL_INTERVAL_MS: '200',
      JOB_WORKER_CONCURRENCY: '4',
    };
    auth = await givenAuthApi(env);
    admin = await givenAdminApi(env);
    const user = await givenUser(auth);
    await auth.get(Database).users.addRole(user.id, 'admin');
    operator = await givenCookieSession(auth, user);
    database = new pg.Client({ connectionString: env.DATABASE_URL });
    await database.connect();
  });
  afterEach(async () => {
    // Each case registers its own endpoints; none of them hears the next case's events.
    await database.query('DELETE FROM webhook_endpoints');
  });
  afterAll(async () => {
    await database?.end();
    await admin?.close();
    await auth?.close();
    await receiver?.down();
  });

  const adminCall = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) =>
    admin.inject({
      method,
      url,
      headers: { cookie: operator.cookie, origin: TRUSTED_ORIGIN },
      ...(payload ? { payload } : {}),
    });

  async function givenEndpoint(
    path: string,
    eventTypes: string[],
  ): Promise<{ id: string; secret: string }> {
    const response = await adminCall('POST', '/admin/webhooks', {
      url: receiver.url(path),
      eventTypes,
    });
    expect(response.statusCode).toBe(201);
    return response.json<{ id: string; secret: string }>();
  }

  async function deliveriesOf(endpointId: string): Promise<DeliveryRow[]> {
    const response = await adminCall('GET', `/admin/webhooks/${endpointId}/deliveries?limit=200`);
    expect(response.statusCode).toBe(200);
    return response.json<{ items: DeliveryRow[] }>().items;
  }

  const about = (path: string, userId: string) =>
    receiver.on(path).filter((request) => request.payload.data.userId === userId);

  it('delivers user.created, session.created and session.revoked (with its reason), each signed', async () => {
    const { id, secret } = await givenEndpoint('/events', [
      'user.created',
      'session.created',
      'session.revoked',
    ]);
    const user = await givenUser(auth);
    const session = await givenCookieSession(auth, user);
    expect((await withCookie(auth, session, 'POST', '/auth/logout')).statusCode).toBe(204);

    await expect.poll(() => about('/events', user.id).length, EVENTUALLY).toBe(3);
    const byType = Object.fromEntries(
      about('/events', user.id).map((request) => [request.payload.type, request]),
    );
    expect(byType['user.created']!.payload.data).toEqual({ userId: user.id, email: user.email });
    expect(byType['session.created']!.payload.data).toEqual({
      sessionId: session.sessionId,
      userId: user.id,
      kind: 'cookie',
      clientId: null,
    });
    expect(byType['session.revoked']!.payload.data).toEqual({
      sessionId: session.sessionId,
      userId: user.id,
      clientId: null,
      reason: 'logout',
    });
    for (const request of about('/events', user.id)) {
      expect(request.id).toMatch(/^msg_[A-Za-z0-9_-]+$/);
      expect(new Date(request.payload.timestamp).toISOString()).toBe(request.payload.timestamp);
      expect(request.body).not.toContain(user.password);
    }
    expect(receiver.verified('/events', secret)).toHaveLength(receiver.on('/events').length);

    await expect
      .poll(async () => (await deliveriesOf(id)).every((row) => row.status === 'succeeded'))
      .toBe(true);
    const rows = await deliveriesOf(id);
    expect(rows.map((row) => row.id).sort()).toEqual(
      receiver
        .on('/events')
        .map((r) => r.id)
        .sort(),
    );
    expect(rows[0]).toMatchObject({ attempts: 1, lastResponseStatus: 200, lastBodyExcerpt: 'ok' });
  });

  it('delivers user.password_changed, user.disabled with the revocations it causes, and client.*', async () => {
    const { secret } = await givenEndpoint('/admin-events', [
      'user.password_changed',
      'user.disabled',
      'session.revoked',
      'client.created',
      'client.deleted',
    ]);
    const user = await givenUser(auth);
    const session = await givenCookieSession(auth, user);
    const changed = await withCookie(auth, session, 'POST', '/me/password', {
      currentPassword: user.password,
      newPassword: 'a new and longer passphrase',
    });
    expect(changed.statusCode).toBe(204);
    expect((await adminCall('POST', `/admin/users/${user.id}/disable`)).statusCode).toBe(200);
    const client = await adminCall('POST', '/admin/clients', {
      name: 'webhook probe',
      grantTypes: ['client_credentials'],
    });
    expect(client.statusCode).toBe(201);
    const { clientId } = client.json<{ clientId: string }>();
    const deleted = await admin.inject({
      method: 'DELETE',
      url: `/admin/clients/${clientId}`,
      headers: { cookie: operator.cookie, origin: TRUSTED_ORIGIN },
    });
    expect(deleted.statusCode).toBe(204);

    const ofUser = () =>
      about('/admin-events', user.id).map((request) => [
        request.payload.type,
        request.payload.data,
      ]);
    await expect.poll(() => ofUser().length, EVENTUALLY).toBe(3);
    expect(ofUser()).toEqual(
      expect.arrayContaining([
        ['user.password_changed', { userId: user.id, email: user.email, method: 'change' }],
        ['user.disabled', { userId: user.id, email: user.email }],
        [
          'session.revoked',
          {
            sessionId: session.sessionId,
            userId: user.id,
            clientId: null,
            reason: 'user_disabled',
          },
        ],
      ]),
    );
    const ofClient = () =>
      receiver
        .on('/admin-events')
        .filter((request) => request.payload.data.clientId === clientId)
        .map((request) => request.payload.type);
    await expect
      .poll(() => ofClient().sort(), EVENTUALLY)
      .toEqual(['client.created', 'client.deleted']);
    expect(receiver.verified('/admin-events', secret)).toHaveLength(
      receiver.on('/admin-events').length,
    );
  });

  it('sends nothing for a change that rolls back, nor to endpoints not subscribed or disabled', async () => {
    await givenEndpoint('/other-types', ['client.deleted']);
    const disabled = await givenEndpoint('/disabled', ['user.created']);
    await adminCall('PATCH', `/admin/webhooks/${disabled.id}`, { enabled: false });
    const listening = await givenEndpoint('/listening', ['user.created']);
    const user = await givenUser(auth);
    await expect.poll(() => about('/listening', user.id).length, EVENTUALLY).toBe(1);

    // A registration refused (the address is taken) writes no event.
    const again = await auth.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email: user.email, password: user.password },
    });
    expect(again.statusCode).toBe(409);
    const { rows } = await database.query<{ count: number }>(
      'SELECT count(*)::int AS count FROM webhook_deliveries WHERE endpoint_id = $1',
      [listening.id],
    );
    expect(rows[0]!.count).toBe(1);
    expect(receiver.on('/other-types')).toEqual([]);
    expect(receiver.on('/disabled')).toEqual([]);
  });

  it('retries a receiver that answers 500, then 200: the same webhook-id twice, then succeeded', async () => {
    receiver.answer('/flaky', (_request, seenBefore) =>
      seenBefore === 0 ? { status: 500, body: 'try again later' } : { status: 200 },
    );
    const { id, secret } = await givenEndpoint('/flaky', ['user.created']);
    const user = await givenUser(auth);

    await expect.poll(() => about('/flaky', user.id).length, EVENTUALLY).toBe(2);
    const [first, second] = about('/flaky', user.id);
    expect(second!.id).toBe(first!.id);
    expect(receiver.verified('/flaky', secret)).toHaveLength(2);
    await expect
      .poll(async () => (await deliveriesOf(id))[0]?.status, EVENTUALLY)
      .toBe('succeeded');
    expect((await deliveriesOf(id))[0]).toMatchObject({
      id: first!.id,
      attempts: 2,
      lastResponseStatus: 200,
      lastError: null,
    });
  });

  it('records a redirect as a failed attempt and never follows it; after the last attempt the delivery is failed', async () => {
    receiver.answer('/redirect', () => ({ status: 307, location: receiver.url('/target') }));
    const { id } = await givenEndpoint('/redirect', ['user.created']);
    const user = await givenUser(auth);

    await expect.poll(async () => (await deliveriesOf(id))[0]?.status, EVENTUALLY).toBe('failed');
    const [row] = await deliveriesOf(id);
    expect(row).toMatchObject({
      attempts: SCHEDULE.split(',').length,
      lastResponseStatus: null,
      lastError: expect.stringMatching(/^redirect: Answered 307/),
    });
    expect(about('/redirect', user.id)).toHaveLength(SCHEDULE.split(',').length);
    expect(receiver.on('/target')).toEqual([]);
  });

  it('refuses at delivery a URL the SSRF guard refuses, records why, and does not retry it', async () => {
    const { id } = await givenEndpoint('/moved', ['user.created']);
    // As if it had been registered before the guard, or moved behind it: the guard checks every call.
    await database.query(
      `UPDATE webhook_endpoints SET url = 'http://169.254.169.254/' WHERE id = $1`,
      [id],
    );
    await givenUser(auth);
    await expect.poll(async () => (await deliveriesOf(id))[0]?.status, EVENTUALLY).toBe('failed');
    expect((await deliveriesOf(id))[0]).toMatchObject({
      attempts: 1,
      lastError: expect.stringMatching(/^refused \(metadata\)/),
    });
  });

  it('replays a delivery with the same webhook-id', async () => {
    const { id, secret } = await givenEndpoint('/replay', ['user.created']);
    const user = await givenUser(auth);
    await expect
      .poll(async () => (await deliveriesOf(id))[0]?.status, EVENTUALLY)
      .toBe('succeeded');
    const [delivery] = await deliveriesOf(id);

    const replay = await adminCall(
      'POST',
      `/admin/webhooks/${id}/deliveries/${delivery!.id}/replay`,
    );
    expect(replay.statusCode).toBe(200);
    expect(replay.json()).toMatchObject({ id: delivery!.id, status: 'pending', attempts: 0 });
    await expect.poll(() => about('/replay', user.id).length, EVENTUALLY).toBe(2);
    expect(about('/replay', user.id).map((request) => request.id)).toEqual([
      delivery!.id,
      delivery!.id,
    ]);
    expect(receiver.verified('/replay', secret)).toHaveLength(2);
    await expect
      .poll(async () => (await deliveriesOf(id))[0]?.status, EVENTUALLY)
      .toBe('succeeded');
    const { rows } = await database.query<{ action: string }>(
      `SELECT action FROM audit_events WHERE subject = $1 AND action = 'admin.webhook_delivery_replayed'`,
      [`webhook:${id}`],
    );
    expect(rows).toHaveLength(1);
  });

  it('lets the session housekeeping delete settled deliveries older than the retention, not pending ones', async () => {
    const { id } = await givenEndpoint('/housekeeping', ['user.created']);
    await givenUser(auth);
    await expect
      .poll(async () => (await deliveriesOf(id))[0]?.status, EVENTUALLY)
      .toBe('succeeded');
    const [settled] = await deliveriesOf(id);
    await database.query(
      `INSERT INTO webhook_deliveries (id, endpoint_id, event_type, payload, status)
       VALUES ('msg_old_pending', $1, 'user.created', '{}', 'pending')`,
      [id],
    );
    await database.query(
      `UPDATE webhook_deliveries SET created_at = now() - interval '400 days' WHERE endpoint_id = $1`,
      [id],
    );
    const purged = await auth.get(SessionHousekeeping).purge();
    expect(purged.webhookDeliveries).toBeGreaterThanOrEqual(1);
    const { rows } = await database.query<{ id: string }>(
      'SELECT id FROM webhook_deliveries WHERE endpoint_id = $1',
      [id],
    );
    expect(rows.map((row) => row.id)).toEqual(['msg_old_pending']);
    expect(settled!.id).not.toBe('msg_old_pending');
  });

  it('signs with both secrets during a rotation, then with the new one alone', async () => {
    const { id, secret: previous } = await givenEndpoint('/rotate', ['user.created']);
    const rotated = await adminCall('POST', `/admin/webhooks/${id}/secret/rotate`);
    const { secret: next } = rotated.json<{ secret: string }>();

    const during = await givenUser(auth);
    await expect.poll(() => about('/rotate', during.id).length, EVENTUALLY).toBe(1);
    const [overlap] = about('/rotate', during.id);
    expect(overlap!.signature.split(' ')).toHaveLength(2);
    expect(receiver.verified('/rotate', previous).map((r) => r.id)).toContain(overlap!.id);
    expect(receiver.verified('/rotate', next).map((r) => r.id)).toContain(overlap!.id);

    await database.query(
      `UPDATE webhook_endpoints SET previous_secret_expires_at = now() - interval '1 second' WHERE id = $1`,
      [id],
    );
    const after = await givenUser(auth);
    await expect.poll(() => about('/rotate', after.id).length, EVENTUALLY).toBe(1);
    const [alone] = about('/rotate', after.id);
    expect(alone!.signature.split(' ')).toHaveLength(1);
    expect(receiver.verified('/rotate', next).map((r) => r.id)).toContain(alone!.id);
    expect(receiver.verified('/rotate', previous).map((r) => r.id)).not.toContain(alone!.id);
  });

  it('disables an endpoint that has failed for longer than WEBHOOK_DISABLE_AFTER_SECONDS, audited', async () => {
    receiver.answer('/broken', () => ({ status: 503, body: 'down for maintenance' }));
    const { id } = await givenEndpoint('/broken', ['user.created']);
    await database.query(
      `UPDATE webhook_endpoints SET failing_since = now() - interval '2 days' WHERE id = $1`,
      [id],
    );
    await givenUser(auth);
    await expect
      .poll(
        async () =>
          (await adminCall('GET', `/admin/webhooks/${id}`)).json<{ enabled: boolean }>().enabled,
        EVENTUALLY,
      )
      .toBe(false);
    const endpoint = (await adminCall('GET', `/admin/webhooks/${id}`)).json<{
      disabledReason: string;
    }>();
    expect(endpoint.disabledReason).toMatch(/^Every delivery failed since .* \(over 86400 s\)\.$/);
    const { rows } = await database.query<{ actor: string }>(
      `SELECT actor FROM audit_events WHERE subject = $1 AND action = 'webhook.endpoint_disabled'`,
      [`webhook:${id}`],
    );
    expect(rows).toEqual([{ actor: 'system' }]);
    const [delivery] = await deliveriesOf(id);
    expect(delivery).toMatchObject({
      lastResponseStatus: 503,
      lastBodyExcerpt: 'down for maintenance',
    });
  });
});
