import { createHash, randomUUID } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LightMyRequestResponse } from 'fastify';
import { ClientService, IdentityProviderService, MailService } from '@gatehouse/identity';
import { Database } from '@gatehouse/persistence';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { givenCookieSession, givenUser, type TestUser, TRUSTED_ORIGIN } from '../support/http.js';
import { givenAdminApi, givenAuthApi } from '../support/test-app.js';
import { freshDatabaseUrl } from '../support/test-database.js';

const FIRST_PARTY = 'gatehouse-first-party';
const EVIL_ORIGIN = 'https://evil.example';

const MISSING_CREDENTIALS = {
  statusCode: 401,
  error: 'MISSING_CREDENTIALS',
  message: 'Authentication is required.',
};
const CSRF_REJECTED = {
  statusCode: 403,
  error: 'CSRF_REJECTED',
  message: 'Cross-site request refused: the request origin is not trusted.',
};
const CSRF_NO_ORIGIN = {
  ...CSRF_REJECTED,
  message:
    'Cross-site request refused: the request has no Origin or Referer header. Send the Origin of a trusted site.',
};
const forbidden = (capability: string) => ({
  statusCode: 403,
  error: 'FORBIDDEN',
  message: `Missing capability: ${capability}.`,
});
/** A bearer token without the `admin` scope: refused before any capability is looked at. */
const MISSING_ADMIN_SCOPE = {
  statusCode: 403,
  error: 'FORBIDDEN',
  message: 'Missing scope: admin.',
};

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface Target {
  readonly url: string;
  readonly payload?: object;
}

/** Every admin-api route, what it requires, and how to build a request that succeeds for an admin. */
interface Route {
  readonly method: Method;
  readonly path: string;
  readonly capability: string;
  readonly status: number;
  /** A request on real targets (a fresh victim for destructive routes). */
  readonly target: () => Target | Promise<Target>;
}

/** What a caller sends: headers only (cookie + origin, or a bearer token). */
type Caller = (method: Method) => Record<string, string>;

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/**
 * The whole file runs on a database of its own: the table includes POST /admin/keys/rotate, which
 * must not rotate the signing keys that other files on the worker database rely on.
 */
describe('admin-api access control: authentication, capabilities and CSRF on every route', () => {
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;
  let db: DataSource;
  const callers: Record<string, Caller> = {};
  let routes: Route[];

  async function operator(roles: string[]): Promise<TestUser> {
    const user = await givenUser(auth);
    await db.query('UPDATE users SET roles = $2 WHERE id = $1', [user.id, roles]);
    return user;
  }

  async function accessToken(user: TestUser): Promise<string> {
    const response = await auth.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: {
        grant_type: 'password',
        client_id: FIRST_PARTY,
        username: user.email,
        password: user.password,
      },
    });
    expect(response.statusCode).toBe(200);
    return response.json<{ access_token: string }>().access_token;
  }

  async function cookieCaller(user: TestUser): Promise<Caller> {
    const { cookie } = await givenCookieSession(auth, user);
    return () => ({ cookie, origin: TRUSTED_ORIGIN });
  }

  async function bearerCaller(user: TestUser): Promise<Caller> {
    const token = await accessToken(user);
    return () => ({ authorization: `Bearer ${token}` });
  }

  function call(route: Route, caller: Caller, target: Target): Promise<LightMyRequestResponse> {
    return admin.inject({
      method: route.method,
      url: target.url,
      headers: caller(route.method),
      ...(target.payload ? { payload: target.payload } : {}),
    });
  }

  /** A fresh confidential client: what the client routes act on. */
  async function someClient(): Promise<string> {
    const { client } = await auth
      .get(ClientService)
      .create({ name: `svc-${randomUUID()}`, grantTypes: ['client_credentials'] });
    return client.id;
  }

  /** An upstream identity provider: what the provider routes act on. */
  async function someProvider(): Promise<string> {
    const provider = await auth.get(IdentityProviderService).create(
      {
        slug: `idp-${randomUUID().slice(0, 8)}`,
        displayName: 'Probe',
        issuer: 'https://sso.example.com',
        clientId: 'gatehouse',
      },
      'system',
    );
    return provider.id;
  }

  /** A user with a live cookie session: what the destructive routes act on. */
  async function victim(): Promise<{ user: TestUser; sessionId: string }> {
    const user = await givenUser(auth);
    const { sessionId } = await givenCookieSession(auth, user);
    return { user, sessionId };
  }

  /** A mail that could not be delivered: what the retry route acts on. */
  async function deadMail(): Promise<string> {
    const database = auth.get(Database);
    const id = await database.transaction((repositories) =>
      auth.get(MailService).enqueue(repositories, {
        template: 'password-changed',
        to: `dead-${randomUUID()}@example.com`,
        params: { changedAt: new Date().toISOString() },
      }),
    );
    await database.mailMessages.markFailed(id, 'dead', 'ESOCKET: test');
    return id;
  }

  beforeAll(async () => {
    const env = { DATABASE_URL: await freshDatabaseUrl('adminkeys', { migrated: true }) };
    auth = await givenAuthApi(env);
    admin = await givenAdminApi(env);
    db = auth.get(DataSource);

    const plain = await givenUser(auth);
    const support = await operator(['support']);
    const administrator = await operator(['admin']);
    callers['plain user (cookie)'] = await cookieCaller(plain);
    callers['plain user (bearer)'] = await bearerCaller(plain);
    callers['support (cookie)'] = await cookieCaller(support);
    callers['support (bearer)'] = await bearerCaller(support);
    callers['admin (cookie)'] = await cookieCaller(administrator);
    callers['admin (bearer)'] = await bearerCaller(administrator);

    const sessionOfSomeone = (await victim()).sessionId;
    const someone = (await victim()).user;
    routes = [
      {
        method: 'GET',
        path: '/admin/sessions',
        capability: 'sessions:read',
        status: 200,
        target: () => ({ url: '/admin/sessions?limit=5' }),
      },
      {
        method: 'GET',
        path: '/admin/sessions/:id',
        capability: 'sessions:read',
        status: 200,
        target: () => ({ url: `/admin/sessions/${sessionOfSomeone}` }),
      },
      {
        method: 'DELETE',
        path: '/admin/sessions/:id',
        capability: 'sessions:revoke',
        status: 204,
        target: async () => ({
          url: `/admin/sessions/${(await victim()).sessionId}`,
          payload: { reason: 'access-control test' },
        }),
      },
      {
        method: 'POST',
        path: '/admin/users/:id/revoke-sessions',
        capability: 'sessions:revoke',
        status: 200,
        target: async () => ({ url: `/admin/users/${(await victim()).user.id}/revoke-sessions` }),
      },
      {
        method: 'GET',
        path: '/admin/users?email=',
        capability: 'users:manage',
        status: 200,
        target: () => ({ url: `/admin/users?email=${encodeURIComponent(someone.email)}` }),
      },
      {
        method: 'GET',
        path: '/admin/users/:id',
        capability: 'users:manage',
        status: 200,
        target: () => ({ url: `/admin/users/${someone.id}` }),
      },
      {
        method: 'PUT',
        path: '/admin/users/:id/roles',
        capability: 'users:manage',
        status: 200,
        target: async () => ({
          url: `/admin/users/${(await victim()).user.id}/roles`,
          payload: { roles: ['support'] },
        }),
      },
      {
        method: 'POST',
        path: '/admin/users/:id/disable',
        capability: 'users:manage',
        status: 200,
        target: async () => ({ url: `/admin/users/${(await victim()).user.id}/disable` }),
      },
      {
        method: 'POST',
        path: '/admin/users/:id/enable',
        capability: 'users:manage',
        status: 200,
        target: () => ({ url: `/admin/users/${someone.id}/enable` }),
      },
      {
        method: 'GET',
        path: '/admin/users/:id/mfa',
        capability: 'users:manage',
        status: 200,
        target: () => ({ url: `/admin/users/${someone.id}/mfa` }),
      },
      {
        method: 'DELETE',
        path: '/admin/users/:id/mfa',
        capability: 'users:manage',
        status: 200,
        target: async () => ({ url: `/admin/users/${(await victim()).user.id}/mfa` }),
      },
      {
        method: 'POST',
        path: '/admin/clients',
        capability: 'clients:manage',
        status: 201,
        target: () => ({
          url: '/admin/clients',
          payload: { name: `svc-${randomUUID()}`, grantTypes: ['client_credentials'] },
        }),
      },
      {
        method: 'GET',
        path: '/admin/clients',
        capability: 'clients:manage',
        status: 200,
        target: () => ({ url: '/admin/clients' }),
      },
      {
        method: 'GET',
        path: '/admin/clients/:id',
        capability: 'clients:manage',
        status: 200,
        target: async () => ({ url: `/admin/clients/${await someClient()}` }),
      },
      {
        method: 'PATCH',
        path: '/admin/clients/:id',
        capability: 'clients:manage',
        status: 200,
        target: async () => ({
          url: `/admin/clients/${await someClient()}`,
          payload: { scopes: ['notes:read'] },
        }),
      },
      {
        method: 'POST',
        path: '/admin/clients/:id/rotate-secret',
        capability: 'clients:manage',
        status: 200,
        target: async () => ({ url: `/admin/clients/${await someClient()}/rotate-secret` }),
      },
      {
        method: 'DELETE',
        path: '/admin/clients/:id',
        capability: 'clients:manage',
        status: 204,
        target: async () => ({ url: `/admin/clients/${await someClient()}` }),
      },
      {
        method: 'GET',
        path: '/admin/keys',
        capability: 'keys:manage',
        status: 200,
        target: () => ({ url: '/admin/keys' }),
      },
      {
        method: 'POST',
        path: '/admin/keys/rotate',
        capability: 'keys:manage',
        status: 200,
        target: () => ({ url: '/admin/keys/rotate' }),
      },
      {
        method: 'GET',
        path: '/admin/audit-events',
        capability: 'audit:read',
        status: 200,
        target: () => ({ url: '/admin/audit-events?limit=5' }),
      },
      {
        method: 'GET',
        path: '/admin/mail',
        capability: 'mail:read',
        status: 200,
        target: () => ({ url: '/admin/mail?limit=5' }),
      },
      {
        method: 'POST',
        path: '/admin/mail/:id/retry',
        capability: 'mail:manage',
        status: 200,
        target: async () => ({ url: `/admin/mail/${await deadMail()}/retry` }),
      },
      {
        method: 'POST',
        path: '/admin/identity-providers',
        capability: 'providers:manage',
        status: 201,
        target: () => ({
          url: '/admin/identity-providers',
          payload: {
            type: 'oidc',
            slug: `idp-${randomUUID().slice(0, 8)}`,
            displayName: 'Probe',
            issuer: 'https://sso.example.com',
            clientId: 'gatehouse',
          },
        }),
      },
      {
        method: 'GET',
        path: '/admin/identity-providers',
        capability: 'providers:manage',
        status: 200,
        target: () => ({ url: '/admin/identity-providers' }),
      },
      {
        method: 'GET',
        path: '/admin/identity-providers/:id',
        capability: 'providers:manage',
        status: 200,
        target: async () => ({ url: `/admin/identity-providers/${await someProvider()}` }),
      },
      {
        method: 'PATCH',
        path: '/admin/identity-providers/:id',
        capability: 'providers:manage',
        status: 200,
        target: async () => ({
          url: `/admin/identity-providers/${await someProvider()}`,
          payload: { displayName: 'Renamed' },
        }),
      },
      {
        method: 'DELETE',
        path: '/admin/identity-providers/:id',
        capability: 'providers:manage',
        status: 204,
        target: async () => ({ url: `/admin/identity-providers/${await someProvider()}` }),
      },
    ];
  });
  afterAll(async () => {
    await admin?.close();
    await auth?.close();
  });

  const SUPPORT_CAPABILITIES = new Set([
    'sessions:read',
    'sessions:revoke',
    'audit:read',
    'mail:read',
  ]);
  const WRITES = new Set<Method>(['POST', 'PUT', 'PATCH', 'DELETE']);

  /** The routes' table, summarised: method, path, capability (the descriptions below rely on it). */
  it('covers every admin-api route', () => {
    expect(routes.map((route) => `${route.method} ${route.path} ${route.capability}`)).toEqual([
      'GET /admin/sessions sessions:read',
      'GET /admin/sessions/:id sessions:read',
      'DELETE /admin/sessions/:id sessions:revoke',
      'POST /admin/users/:id/revoke-sessions sessions:revoke',
      'GET /admin/users?email= users:manage',
      'GET /admin/users/:id users:manage',
      'PUT /admin/users/:id/roles users:manage',
      'POST /admin/users/:id/disable users:manage',
      'POST /admin/users/:id/enable users:manage',
      'GET /admin/users/:id/mfa users:manage',
      'DELETE /admin/users/:id/mfa users:manage',
      'POST /admin/clients clients:manage',
      'GET /admin/clients clients:manage',
      'GET /admin/clients/:id clients:manage',
      'PATCH /admin/clients/:id clients:manage',
      'POST /admin/clients/:id/rotate-secret clients:manage',
      'DELETE /admin/clients/:id clients:manage',
      'GET /admin/keys keys:manage',
      'POST /admin/keys/rotate keys:manage',
      'GET /admin/audit-events audit:read',
      'GET /admin/mail mail:read',
      'POST /admin/mail/:id/retry mail:manage',
      'POST /admin/identity-providers providers:manage',
      'GET /admin/identity-providers providers:manage',
      'GET /admin/identity-providers/:id providers:manage',
      'PATCH /admin/identity-providers/:id providers:manage',
      'DELETE /admin/identity-providers/:id providers:manage',
    ]);
  });

  it('answers 401 MISSING_CREDENTIALS to a request without credentials, on every route', async () => {
    for (const route of routes) {
      const response = await call(route, () => ({ origin: TRUSTED_ORIGIN }), await route.target());
      expect(response.statusCode, `${route.method} ${route.path}`).toBe(401);
      expect(response.json()).toEqual(MISSING_CREDENTIALS);
      expect(response.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
    }
  });

  it('answers 403 FORBIDDEN naming the capability to a plain user (cookie), on every route', async () => {
    for (const route of routes) {
      const response = await call(route, callers['plain user (cookie)']!, await route.target());
      expect(response.statusCode, `${route.method} ${route.path}`).toBe(403);
      expect(response.json()).toEqual(forbidden(route.capability));
    }
  });

  it('answers 403 FORBIDDEN insufficient_scope to a plain user (bearer: never granted admin), on every route', async () => {
    for (const route of routes) {
      const response = await call(route, callers['plain user (bearer)']!, await route.target());
      expect(response.statusCode, `${route.method} ${route.path}`).toBe(403);
      expect(response.json()).toEqual(MISSING_ADMIN_SCOPE);
      expect(response.headers['www-authenticate']).toBe(
        'Bearer realm="gatehouse", error="insufficient_scope", scope="admin"',
      );
    }
  });

  it('answers 403 FORBIDDEN to a service token (client credentials), which never holds admin', async () => {
    const created = await admin.inject({
      method: 'POST',
      url: '/admin/clients',
      headers: callers['admin (bearer)']!('POST'),
      payload: { name: `svc-${randomUUID()}`, grantTypes: ['client_credentials'] },
    });
    const { clientId, clientSecret } = created.json<{ clientId: string; clientSecret: string }>();
    const token = await auth.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { authorization: basic(clientId, clientSecret) },
      payload: { grant_type: 'client_credentials' },
    });
    expect(token.statusCode).toBe(200);
    const service: Caller = () => ({
      authorization: `Bearer ${token.json<{ access_token: string }>().access_token}`,
    });
    for (const route of routes) {
      const response = await call(route, service, await route.target());
      expect(response.statusCode, `${route.method} ${route.path}`).toBe(403);
      expect(response.json()).toEqual(MISSING_ADMIN_SCOPE);
    }
  });

  for (const name of ['support (cookie)', 'support (bearer)']) {
    it(`lets a ${name} read and end sessions and read the audit log, and nothing else`, async () => {
      for (const route of routes) {
        const response = await call(route, callers[name]!, await route.target());
        const label = `${route.method} ${route.path}`;
        if (SUPPORT_CAPABILITIES.has(route.capability)) {
          expect(response.statusCode, label).toBe(route.status);
        } else {
          expect(response.statusCode, label).toBe(403);
          expect(response.json()).toEqual(forbidden(route.capability));
        }
      }
    });
  }

  // Rotation is last in the table; the bearer admin runs after the cookie admin, so its token is
  // signed by a key that has since been retired (still published), which it must survive.
  for (const name of ['admin (cookie)', 'admin (bearer)']) {
    it(`lets an ${name} use every route`, async () => {
      for (const route of routes) {
        const response = await call(route, callers[name]!, await route.target());
        expect(response.statusCode, `${route.method} ${route.path}: ${response.body}`).toBe(
          route.status,
        );
      }
    });
  }

  it('rotated the keys of this database twice (once per admin above); GET /admin/keys shows no secrets', async () => {
    const response = await admin.inject({
      method: 'GET',
      url: '/admin/keys',
      headers: callers['admin (bearer)']!('GET'),
    });
    expect(response.statusCode).toBe(200);
    const keys = response.json<{ status: string }[]>();
    for (const key of keys) {
      expect(key).toEqual({
        kid: expect.any(String),
        alg: expect.any(String),
        status: expect.stringMatching(/^(next|active|retired)$/),
        createdAt: expect.any(String),
        activatedAt: key.status === 'next' ? null : expect.any(String),
        retiredAt: key.status === 'retired' ? expect.any(String) : null,
      });
    }
    expect(keys.filter((key) => key.status === 'active')).toHaveLength(1);
    expect(keys.filter((key) => key.status === 'next')).toHaveLength(1);
    expect(keys.filter((key) => key.status === 'retired').length).toBeGreaterThanOrEqual(2);
  });

  it('refuses a cookie-authenticated admin write without a trusted Origin: 403 CSRF_REJECTED', async () => {
    const session = callers['admin (cookie)']!('GET');
    const writes = routes.filter((route) => WRITES.has(route.method));
    expect(writes).toHaveLength(15);
    for (const route of writes) {
      for (const origin of [EVIL_ORIGIN, null]) {
        const target = await route.target();
        const response = await admin.inject({
          method: route.method,
          url: target.url,
          headers: { cookie: session['cookie']!, ...(origin ? { origin } : {}) },
          ...(target.payload ? { payload: target.payload } : {}),
        });
        expect(response.statusCode, `${route.method} ${route.path} from ${origin}`).toBe(403);
        expect(response.json()).toEqual(origin ? CSRF_REJECTED : CSRF_NO_ORIGIN);
      }
    }
    // Reads need no Origin.
    const read = await admin.inject({
      method: 'GET',
      url: '/admin/sessions?limit=1',
      headers: { cookie: session['cookie']! },
    });
    expect(read.statusCode).toBe(200);
  });

  it('refuses a cookie-authenticated admin write that was not applied: the victim is untouched', async () => {
    const { user, sessionId } = await victim();
    const session = callers['admin (cookie)']!('GET');
    const response = await admin.inject({
      method: 'POST',
      url: `/admin/users/${user.id}/disable`,
      headers: { cookie: session['cookie']!, origin: EVIL_ORIGIN },
    });
    expect(response.statusCode).toBe(403);
    const [row] = await db.query<{ disabled_at: Date | null; revoked_at: Date | null }[]>(
      `SELECT u.disabled_at, s.revoked_at FROM users u JOIN sessions s ON s.user_id = u.id
       WHERE s.id = $1`,
      [sessionId],
    );
    expect(row).toEqual({ disabled_at: null, revoked_at: null });
  });

  describe('POST /admin/clients', () => {
    it('registers a client whose secret is shown once, stored as its SHA-256, and works at auth-api', async () => {
      const name = `reports-${randomUUID()}`;
      const response = await admin.inject({
        method: 'POST',
        url: '/admin/clients',
        headers: callers['admin (cookie)']!('POST'),
        payload: { name, grantTypes: ['client_credentials'], scopes: ['reports:read'] },
      });
      expect(response.statusCode).toBe(201);
      const created = response.json<{ clientId: string; clientSecret: string }>();
      expect(created).toEqual({
        clientId: expect.any(String),
        name,
        public: false,
        firstParty: false,
        resourceServer: false,
        audience: null,
        grantTypes: ['client_credentials'],
        scopes: ['reports:read'],
        redirectUris: [],
        postLogoutRedirectUris: [],
        requireConsent: true,
        requireState: false,
        backchannelLogoutUri: null,
        backchannelLogoutSessionRequired: false,
        createdAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
        clientSecret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      });

      const [stored] = await db.query<{ secret_hash: Buffer }[]>(
        'SELECT secret_hash FROM clients WHERE id = $1',
        [created.clientId],
      );
      expect(
        stored?.secret_hash.equals(createHash('sha256').update(created.clientSecret).digest()),
      ).toBe(true);

      const token = await auth.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { authorization: basic(created.clientId, created.clientSecret) },
        payload: { grant_type: 'client_credentials', scope: 'reports:read' },
      });
      expect(token.statusCode).toBe(200);
      expect(token.json()).toMatchObject({ token_type: 'Bearer', scope: 'reports:read' });
      const wrong = await auth.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { authorization: basic(created.clientId, `${created.clientSecret}x`) },
        payload: { grant_type: 'client_credentials' },
      });
      expect(wrong.statusCode).toBe(401);

      const list = await admin.inject({
        method: 'GET',
        url: '/admin/clients',
        headers: callers['admin (bearer)']!('GET'),
      });
      expect(list.statusCode).toBe(200);
      const clients = list.json<Record<string, unknown>[]>();
      const { clientSecret, ...withoutSecret } = created;
      expect(clients.find((client) => client['clientId'] === created.clientId)).toEqual(
        withoutSecret,
      );
      for (const client of clients) {
        expect(Object.keys(client).sort()).toEqual([
          'audience',
          'backchannelLogoutSessionRequired',
          'backchannelLogoutUri',
          'clientId',
          'createdAt',
          'firstParty',
          'grantTypes',
          'name',
          'postLogoutRedirectUris',
          'public',
          'redirectUris',
          'requireConsent',
          'requireState',
          'resourceServer',
          'scopes',
        ]);
      }
      expect(list.body).not.toContain(clientSecret);
    });

    it('registers a public client without a secret', async () => {
      const response = await admin.inject({
        method: 'POST',
        url: '/admin/clients',
        headers: callers['admin (bearer)']!('POST'),
        payload: { name: 'mobile', grantTypes: ['refresh_token'], public: true },
      });
      expect(response.statusCode).toBe(201);
      expect(response.json()).toMatchObject({ public: true, clientSecret: null, scopes: [] });
    });

    it('validates the body', async () => {
      const response = await admin.inject({
        method: 'POST',
        url: '/admin/clients',
        headers: callers['admin (bearer)']!('POST'),
        payload: { name: 'bad', grantTypes: ['password'] },
      });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ statusCode: 400, error: 'VALIDATION_FAILED' });
    });
  });
});
