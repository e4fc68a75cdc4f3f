import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Database } from '@gatehouse/persistence';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  type CookieSession,
  givenCookieSession,
  givenUser,
  TRUSTED_ORIGIN,
} from '../support/http.js';
import { givenAdminApi, givenAuthApi } from '../support/test-app.js';

interface Endpoint {
  id: string;
  url: string;
  description: string | null;
  eventTypes: string[];
  enabled: boolean;
  disabledReason: string | null;
  previousSecretExpiresAt: string | null;
  secret?: string;
}

const SECRET = /^whsec_[A-Za-z0-9+/]{43}=$/;

/**
 * Operators' webhook endpoints at admin-api: CRUD, the secret shown once and sealed at rest, the SSRF
 * guard at registration (OUTBOUND_ALLOW_PRIVATE is off here, as in production), validation and the
 * `webhooks:manage` capability.
 */
describe('/admin/webhooks', () => {
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;
  let operator: CookieSession;
  let operatorId: string;
  let support: CookieSession;

  beforeAll(async () => {
    auth = await givenAuthApi({ JOB_WORKER_CONCURRENCY: '0' });
    admin = await givenAdminApi();
    const user = await givenUser(auth);
    await auth.get(Database).users.addRole(user.id, 'admin');
    operatorId = user.id;
    operator = await givenCookieSession(auth, user);
    const supportUser = await givenUser(auth);
    await auth.get(Database).users.addRole(supportUser.id, 'support');
    support = await givenCookieSession(auth, supportUser);
  });
  afterAll(async () => {
    // Endpoints left behind would be sent the events of every later spec on this database.
    await auth?.get(DataSource).query('DELETE FROM webhook_endpoints');
    await admin?.close();
    await auth?.close();
  });

  const call = (
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    payload?: object,
    as: CookieSession = operator,
  ) =>
    admin.inject({
      method,
      url,
      headers: { cookie: as.cookie, origin: TRUSTED_ORIGIN },
      ...(payload ? { payload } : {}),
    });

  async function givenEndpoint(body: object = {}): Promise<Endpoint> {
    const response = await call('POST', '/admin/webhooks', {
      url: 'https://hooks.example.com/gatehouse',
      eventTypes: ['user.created', 'session.revoked'],
      ...body,
    });
    expect(response.statusCode).toBe(201);
    return response.json<Endpoint>();
  }

  const auditActions = async (id: string) =>
    (
      await admin
        .get(DataSource)
        .query<{ action: string; actor: string }[]>(
          'SELECT action, actor FROM audit_events WHERE subject = $1 ORDER BY id',
          [`webhook:${id}`],
        )
    ).map((row) => `${row.actor} ${row.action}`);

  it('registers an endpoint and shows its secret once, sealed in the database', async () => {
    const created = await givenEndpoint({ description: 'Fraud service' });
    expect(created).toMatchObject({
      url: 'https://hooks.example.com/gatehouse',
      description: 'Fraud service',
      eventTypes: ['user.created', 'session.revoked'],
      enabled: true,
      disabledReason: null,
    });
    expect(created.secret).toMatch(SECRET);

    const fetched = await call('GET', `/admin/webhooks/${created.id}`);
    expect(fetched.statusCode).toBe(200);
    expect(fetched.json()).not.toHaveProperty('secret');
    expect(fetched.body).not.toContain(created.secret!.slice(6, 20));
    const listed = await call('GET', '/admin/webhooks');
    expect(listed.json<Endpoint[]>().find((e) => e.id === created.id)).toBeDefined();
    expect(listed.body).not.toContain('whsec_');

    const [row] = await admin
      .get(DataSource)
      .query<{ sealed: Buffer }[]>(
        'SELECT secret_sealed AS sealed FROM webhook_endpoints WHERE id = $1',
        [created.id],
      );
    const key = Buffer.from(created.secret!.slice('whsec_'.length), 'base64');
    expect(row!.sealed.includes(key)).toBe(false);
    expect(row!.sealed.includes(Buffer.from(created.secret!))).toBe(false);
    expect(await auditActions(created.id)).toEqual([`user:${operatorId} admin.webhook_created`]);
    const [audited] = await admin
      .get(DataSource)
      .query<{ details: { url: string } }[]>(
        `SELECT details FROM audit_events WHERE subject = $1`,
        [`webhook:${created.id}`],
      );
    // The origin only: a webhook URL's path often carries the receiver's own token.
    expect(audited!.details.url).toBe('https://hooks.example.com');
  });

  it('changes, disables, enables and deletes an endpoint, each audited', async () => {
    const { id } = await givenEndpoint();
    const changed = await call('PATCH', `/admin/webhooks/${id}`, {
      eventTypes: ['client.created'],
      description: 'renamed',
    });
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toMatchObject({
      eventTypes: ['client.created'],
      description: 'renamed',
    });

    const disabled = await call('PATCH', `/admin/webhooks/${id}`, { enabled: false });
    expect(disabled.json()).toMatchObject({
      enabled: false,
      disabledReason: `Disabled by user:${operatorId}.`,
    });
    const enabled = await call('PATCH', `/admin/webhooks/${id}`, { enabled: true });
    expect(enabled.json()).toMatchObject({ enabled: true, disabledReason: null });

    expect((await call('DELETE', `/admin/webhooks/${id}`)).statusCode).toBe(204);
    const gone = await call('GET', `/admin/webhooks/${id}`);
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toMatchObject({ error: 'WEBHOOK_NOT_FOUND' });
    expect((await call('DELETE', `/admin/webhooks/${id}`)).statusCode).toBe(404);
    expect(await auditActions(id)).toEqual([
      `user:${operatorId} admin.webhook_created`,
      `user:${operatorId} admin.webhook_updated`,
      `user:${operatorId} admin.webhook_updated`,
      `user:${operatorId} admin.webhook_updated`,
      `user:${operatorId} admin.webhook_deleted`,
    ]);
  });

  it('rotates the secret: a new one shown once, the previous one kept for the overlap', async () => {
    const created = await givenEndpoint();
    const rotated = await call('POST', `/admin/webhooks/${created.id}/secret/rotate`);
    expect(rotated.statusCode).toBe(200);
    const body = rotated.json<Endpoint>();
    expect(body.secret).toMatch(SECRET);
    expect(body.secret).not.toBe(created.secret);
    const overlapEnds = new Date(body.previousSecretExpiresAt!).getTime() - Date.now();
    expect(overlapEnds).toBeGreaterThan(23 * 3600_000);
    expect(overlapEnds).toBeLessThanOrEqual(24 * 3600_000);
    expect(await auditActions(created.id)).toContain(
      `user:${operatorId} admin.webhook_secret_rotated`,
    );
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data/', 'metadata'],
    ['http://2852039166/', 'metadata'],
    ['http://[::ffff:169.254.169.254]/', 'metadata'],
    ['http://169.254.10.10/', 'link_local'],
    ['http://127.0.0.1:8080/hook', 'private_address'],
    ['http://localhost:8080/hook', 'private_address'],
    ['http://10.1.2.3/hook', 'private_address'],
    ['http://0x7f.1/', 'private_address'],
    ['https://user:pass@hooks.example.com/', 'credentials'],
    ['ftp://hooks.example.com/', 'scheme'],
    ['not a url', 'invalid_url'],
  ])('refuses %s at registration (400, %s on url) and registers nothing', async (url, reason) => {
    const response = await call('POST', '/admin/webhooks', { url, eventTypes: ['user.created'] });
    expect(response.statusCode).toBe(400);
    const body = response.json<{
      error: string;
      details: { field: string; messages: string[] }[];
    }>();
    expect(body.error).toBe('VALIDATION_FAILED');
    expect(body.details).toEqual([
      { field: 'url', messages: [expect.stringMatching(new RegExp(`^${reason}: `))] },
    ]);
    const [row] = await admin
      .get(DataSource)
      .query<{ count: number }[]>(
        'SELECT count(*)::int AS count FROM webhook_endpoints WHERE url = $1',
        [url],
      );
    expect(row?.count).toBe(0);
  });

  it('refuses a refused URL on PATCH too', async () => {
    const { id } = await givenEndpoint();
    const response = await call('PATCH', `/admin/webhooks/${id}`, {
      url: 'http://169.254.169.254/',
    });
    expect(response.statusCode).toBe(400);
    expect((await call('GET', `/admin/webhooks/${id}`)).json()).toMatchObject({
      url: 'https://hooks.example.com/gatehouse',
    });
  });

  it.each([
    [{ eventTypes: ['user.created'] }, 'url'],
    [{ url: 42, eventTypes: ['user.created'] }, 'url'],
    [{ url: 'https://hooks.example.com/' }, 'eventTypes'],
    [{ url: 'https://hooks.example.com/', eventTypes: [] }, 'eventTypes'],
    [{ url: 'https://hooks.example.com/', eventTypes: ['user.deleted_forever'] }, 'eventTypes'],
    [
      {
        url: 'https://hooks.example.com/',
        eventTypes: ['user.created'],
        description: 'x'.repeat(501),
      },
      'description',
    ],
  ])('answers 400 VALIDATION_FAILED naming the field for %j', async (body, field) => {
    const response = await call('POST', '/admin/webhooks', body);
    expect(response.statusCode).toBe(400);
    const error = response.json<{ error: string; details: { field: string }[] }>();
    expect(error.error).toBe('VALIDATION_FAILED');
    expect(error.details.map((detail) => detail.field)).toContain(field);
  });

  it('answers 404 for an unknown endpoint or delivery, and 400 for a malformed cursor', async () => {
    const { id } = await givenEndpoint();
    const replay = await call('POST', `/admin/webhooks/${id}/deliveries/msg_unknown/replay`);
    expect(replay.statusCode).toBe(404);
    expect(replay.json()).toMatchObject({ error: 'WEBHOOK_DELIVERY_NOT_FOUND' });
    const deliveries = await call('GET', `/admin/webhooks/${id}/deliveries`);
    expect(deliveries.statusCode).toBe(200);
    expect(deliveries.json()).toEqual({ items: [], nextCursor: null });
    const badCursor = await call('GET', `/admin/webhooks/${id}/deliveries?cursor=nope`);
    expect(badCursor.statusCode).toBe(400);
  });

  it('refuses an operator without webhooks:manage (support) with 403 on every route', async () => {
    const { id } = await givenEndpoint();
    const routes: ['GET' | 'POST' | 'PATCH' | 'DELETE', string, object?][] = [
      [
        'POST',
        '/admin/webhooks',
        { url: 'https://hooks.example.com/', eventTypes: ['user.created'] },
      ],
      ['GET', '/admin/webhooks'],
      ['GET', `/admin/webhooks/${id}`],
      ['PATCH', `/admin/webhooks/${id}`, { enabled: false }],
      ['DELETE', `/admin/webhooks/${id}`],
      ['POST', `/admin/webhooks/${id}/secret/rotate`],
      ['GET', `/admin/webhooks/${id}/deliveries`],
      ['POST', `/admin/webhooks/${id}/deliveries/msg_x/replay`],
    ];
    for (const [method, url, body] of routes) {
      const response = await call(method, url, body, support);
      expect(response.statusCode, `${method} ${url}`).toBe(403);
    }
    expect((await call('GET', `/admin/webhooks/${id}`)).json()).toMatchObject({ enabled: true });
  });
});
