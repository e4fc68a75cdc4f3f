import { createHash, randomBytes, randomUUID } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { decodeJwt } from 'jose';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { authorizeInBrowser, hiddenInteraction } from '../support/code-flow.js';
import { HttpBrowser } from '../support/http-browser.js';
import {
  type CookieSession,
  givenCookieSessionAt,
  givenOperatorAt,
  givenUserAt,
  type ListedSession,
  passwordGrantAt,
  postForm,
  SESSION_REVOKED,
  type TestUser,
  type TokenResponse,
  TRUSTED_ORIGIN,
} from '../support/http.js';
import { givenListeningAdminApi, givenListeningAuthApi } from '../support/test-app.js';
import { freshDatabaseUrl } from '../support/test-database.js';

const FIRST_PARTY = 'gatehouse-first-party';
/** ACCESS_TOKEN_AUDIENCE and ADMIN_API_AUDIENCE, their defaults. */
const AUDIENCE = 'gatehouse';
const ADMIN_AUDIENCE = 'urn:gatehouse:admin-api';
/** Where the relying party receives its answer: never dereferenced, only read from `Location`. */
const REDIRECT_URI = 'https://rp.example/callback';
const THIRD_PARTY_SCOPES = ['openid', 'email', 'notes:read'];

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One request of a route table: `operation` as the OpenAPI document names it. */
interface RouteCall {
  readonly operation: string;
  readonly url: string;
  readonly body?: object;
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

/** What a caller adds to a request: a bearer token, or a cookie (with the trusted Origin). */
type Credential =
  { readonly token: string } | { readonly cookie: string; readonly origin?: string };

const CSRF_REJECTED_NO_ORIGIN = {
  statusCode: 403,
  error: 'CSRF_REJECTED',
  message:
    'Cross-site request refused: the request has no Origin or Referer header. Send the Origin of a trusted site.',
};

const missingScope = (scope: string) => ({
  statusCode: 403,
  error: 'FORBIDDEN',
  message: `Missing scope: ${scope}.`,
});
/** RFC 6750 §3.1. */
const insufficientScope = (scope: string) =>
  `Bearer realm="gatehouse", error="insufficient_scope", scope="${scope}"`;

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/** `METHOD /path/{param}` for every operation of an OpenAPI document that needs a credential. */
async function securedOperations(base: string): Promise<string[]> {
  const response = await fetch(`${base}/docs-json`);
  expect(response.status).toBe(200);
  const document = (await response.json()) as {
    paths: Record<string, Record<string, { security?: unknown[] }>>;
  };
  return Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.entries(operations)
      .filter(([, operation]) => (operation.security ?? []).length > 0)
      .map(([method]) => `${method.toUpperCase()} ${path}`),
  );
}

/**
 * Issue 14: what a token may do depends on the client it was issued to. The reserved scopes `account`
 * (auth-api's /me routes) and `admin` (admin-api) belong to first-party clients only; a third-party
 * client's token, even an operator's, opens neither. Both apps listen on loopback and are driven with
 * fetch. The file runs on a database of its own: its admin-api table includes POST /admin/keys/rotate,
 * which must not rotate the keys other files on the worker database rely on (should it ever succeed).
 */
describe('authorization boundaries: reserved scopes, audiences and resource servers', () => {
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;
  let issuer: string;
  let adminUrl: string;
  let db: DataSource;
  /** An admin's first-party token, for setting things up through admin-api. */
  let setupToken: string;

  beforeAll(async () => {
    const databaseUrl = await freshDatabaseUrl('boundaries', { migrated: true });
    // Sliding expiry writes on every request, so a session check that slides it shows at once (D).
    ({ app: auth, issuer } = await givenListeningAuthApi({
      DATABASE_URL: databaseUrl,
      SESSION_TOUCH_INTERVAL_SECONDS: '0',
    }));
    ({ app: admin, url: adminUrl } = await givenListeningAdminApi(issuer, {
      DATABASE_URL: databaseUrl,
    }));
    db = auth.get(DataSource);
    setupToken = (await tokensOf(await givenOperator(['admin']))).access_token;
  });
  afterAll(async () => {
    await admin?.close();
    await auth?.close();
  });

  const givenOperator = (roles: string[]): Promise<TestUser> =>
    givenOperatorAt(auth, issuer, roles);

  /** The first-party password grant, expected to succeed. */
  async function tokensOf(
    user: TestUser,
    parameters: Record<string, string> = {},
  ): Promise<TokenResponse> {
    const response = await passwordGrantAt(issuer, user, parameters);
    expect(response.status, JSON.stringify(await response.clone().json())).toBe(200);
    return (await response.json()) as TokenResponse;
  }

  async function call(
    base: string,
    method: Method,
    url: string,
    credential?: Credential,
    body?: object,
  ): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (credential && 'token' in credential) {
      headers['authorization'] = `Bearer ${credential.token}`;
    } else if (credential) {
      headers['cookie'] = credential.cookie;
      if (credential.origin !== undefined) {
        headers['origin'] = credential.origin;
      }
    }
    if (body) {
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(`${base}${url}`, {
      method,
      headers,
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON: kept as text.
    }
    return { status: response.status, headers: response.headers, body: parsed };
  }

  const atAuth = (method: Method, url: string, credential?: Credential, body?: object) =>
    call(issuer, method, url, credential, body);
  const atAdmin = (method: Method, url: string, credential?: Credential, body?: object) =>
    call(adminUrl, method, url, credential, body);

  /** Every route answers `token` 403 "Missing scope: <scope>." with RFC 6750's challenge. */
  async function expectScopeRefusals(
    at: typeof atAuth,
    routes: readonly RouteCall[],
    token: string,
    scope: string,
  ): Promise<void> {
    for (const route of routes) {
      const answer = await at(methodOf(route), route.url, { token }, route.body);
      expect(answer.status, `${route.operation}: ${JSON.stringify(answer.body)}`).toBe(403);
      expect(answer.body, route.operation).toEqual(missingScope(scope));
      expect(answer.headers.get('www-authenticate'), route.operation).toBe(
        insufficientScope(scope),
      );
    }
  }

  async function registeredClient(
    body: object,
  ): Promise<{ clientId: string; clientSecret: string | null }> {
    const response = await atAdmin('POST', '/admin/clients', { token: setupToken }, body);
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body as { clientId: string; clientSecret: string | null };
  }

  /** A third-party public client of the code flow, registered through admin-api. */
  function givenThirdPartyClient(scopes = THIRD_PARTY_SCOPES): Promise<{ clientId: string }> {
    return registeredClient({
      name: `Notes Viewer ${randomUUID()}`,
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes,
      redirectUris: [REDIRECT_URI],
      public: true,
    });
  }

  /** The browser part of the code flow (PKCE S256) for `user`, at this auth-api. */
  function authorize(
    clientId: string,
    user: TestUser,
    scope: string,
  ): Promise<{ browser: HttpBrowser; callback: URL; codeVerifier: string }> {
    return authorizeInBrowser({ issuer, clientId, redirectUri: REDIRECT_URI, scope }, user);
  }

  async function exchange(
    clientId: string,
    callback: URL,
    codeVerifier: string,
  ): Promise<TokenResponse> {
    const response = await postForm(`${issuer}/oauth/token`, {
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code')!,
      redirect_uri: REDIRECT_URI,
      code_verifier: codeVerifier,
      client_id: clientId,
    });
    const body = (await response.json()) as TokenResponse;
    expect(response.status, JSON.stringify(body)).toBe(200);
    return body;
  }

  /** A confidential client registered through admin-api, and a client-credentials token of it. */
  async function givenServiceToken(): Promise<{ clientId: string; token: string }> {
    const { clientId, clientSecret } = await registeredClient({
      name: `svc-${randomUUID()}`,
      grantTypes: ['client_credentials'],
      scopes: ['notes:read'],
    });
    const response = await postForm(
      `${issuer}/oauth/token`,
      { grant_type: 'client_credentials', scope: 'notes:read' },
      { authorization: basic(clientId, clientSecret!) },
    );
    const body = (await response.json()) as TokenResponse;
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body.scope).toBe('notes:read');
    return { clientId, token: body.access_token };
  }

  /**
   * Polls `probe` until it answers `status`, for at most `ms` (no sleeping: each probe is a request).
   * The last answer, for the assertion.
   */
  async function answerWithin(
    ms: number,
    status: number,
    probe: () => Promise<Answer>,
  ): Promise<Answer> {
    const deadline = Date.now() + ms;
    let answer = await probe();
    while (answer.status !== status && Date.now() < deadline) {
      answer = await probe();
    }
    return answer;
  }

  /**
   * auth-api's account routes (every authenticated /me* operation), each on a real target of the
   * user's: a token whose scope lacked `account` and still got through would show in `accountState`.
   */
  function accountRoutes(user: TestUser, sessionId: string): RouteCall[] {
    return [
      { operation: 'GET /me', url: '/me' },
      {
        operation: 'POST /me/password',
        url: '/me/password',
        body: { currentPassword: user.password, newPassword: 'a completely different passphrase' },
      },
      { operation: 'GET /me/sessions', url: '/me/sessions' },
      { operation: 'DELETE /me/sessions/{id}', url: `/me/sessions/${sessionId}` },
      { operation: 'POST /me/sessions/revoke-others', url: '/me/sessions/revoke-others' },
      {
        operation: 'POST /me/email',
        url: '/me/email',
        body: { newEmail: `moved-${user.email}`, password: user.password },
      },
      { operation: 'POST /me/email/verification', url: '/me/email/verification' },
      { operation: 'GET /me/mfa', url: '/me/mfa' },
      { operation: 'POST /me/mfa/totp', url: '/me/mfa/totp' },
      {
        operation: 'POST /me/mfa/totp/{id}/confirm',
        url: `/me/mfa/totp/${randomUUID()}/confirm`,
        body: { code: '123456' },
      },
      {
        operation: 'DELETE /me/mfa/{id}',
        url: `/me/mfa/${randomUUID()}`,
        body: { password: user.password },
      },
      {
        operation: 'POST /me/mfa/recovery-codes',
        url: '/me/mfa/recovery-codes',
        body: { password: user.password },
      },
      { operation: 'GET /me/identities', url: '/me/identities' },
      { operation: 'DELETE /me/identities/{id}', url: `/me/identities/${randomUUID()}` },
      { operation: 'POST /me/mfa/passkeys/options', url: '/me/mfa/passkeys/options' },
      {
        operation: 'POST /me/mfa/passkeys',
        url: '/me/mfa/passkeys',
        body: {
          response: {
            id: 'AA',
            rawId: 'AA',
            type: 'public-key',
            clientExtensionResults: {},
            response: { clientDataJSON: 'AA', attestationObject: 'AA' },
          },
        },
      },
      {
        operation: 'PATCH /me/mfa/passkeys/{id}',
        url: `/me/mfa/passkeys/${randomUUID()}`,
        body: { name: 'Renamed' },
      },
    ];
  }

  async function accountState(user: TestUser): Promise<unknown> {
    return db.query(
      `SELECT u.password_hash, u.email, s.id, s.revoked_at,
         (SELECT count(*) FROM email_verifications e WHERE e.user_id = u.id) AS links,
         (SELECT count(*) FROM mfa_factors f WHERE f.user_id = u.id) AS factors,
         (SELECT count(*) FROM mfa_recovery_codes r WHERE r.user_id = u.id) AS recovery_codes,
         (SELECT count(*) FROM webauthn_challenges c WHERE c.user_id = u.id) AS passkey_challenges
       FROM users u JOIN sessions s ON s.user_id = u.id
       WHERE u.id = $1 ORDER BY s.id`,
      [user.id],
    );
  }

  /** The real objects admin-api's routes act on, and a snapshot of everything they could change. */
  interface AdminTargets {
    readonly victim: TestUser;
    readonly victimSessionId: string;
    readonly disabledUser: TestUser;
    readonly clientId: string;
    readonly probeClientName: string;
  }

  async function givenAdminTargets(): Promise<AdminTargets> {
    const victim = await givenUserAt(issuer);
    const { sessionId } = await givenCookieSessionAt(issuer, victim);
    const disabledUser = await givenUserAt(issuer);
    await db.query('UPDATE users SET disabled_at = now() WHERE id = $1', [disabledUser.id]);
    const { clientId } = await registeredClient({
      name: `target-${randomUUID()}`,
      grantTypes: ['client_credentials'],
      scopes: ['notes:read'],
    });
    return {
      victim,
      victimSessionId: sessionId,
      disabledUser,
      clientId,
      probeClientName: `must-not-exist-${randomUUID()}`,
    };
  }

  /** Every admin-api operation, each on a real target (a refused write must leave it as it was). */
  function adminRoutes(targets: AdminTargets): RouteCall[] {
    const { victim, victimSessionId, disabledUser, clientId, probeClientName } = targets;
    return [
      { operation: 'GET /admin/sessions', url: '/admin/sessions?limit=5' },
      { operation: 'GET /admin/sessions/{id}', url: `/admin/sessions/${victimSessionId}` },
      {
        operation: 'DELETE /admin/sessions/{id}',
        url: `/admin/sessions/${victimSessionId}`,
        body: { reason: 'boundary test' },
      },
      {
        operation: 'POST /admin/users/{id}/revoke-sessions',
        url: `/admin/users/${victim.id}/revoke-sessions`,
      },
      {
        operation: 'GET /admin/users',
        url: `/admin/users?email=${encodeURIComponent(victim.email)}`,
      },
      { operation: 'GET /admin/users/{id}', url: `/admin/users/${victim.id}` },
      {
        operation: 'PUT /admin/users/{id}/roles',
        url: `/admin/users/${victim.id}/roles`,
        body: { roles: ['admin'] },
      },
      { operation: 'POST /admin/users/{id}/disable', url: `/admin/users/${victim.id}/disable` },
      { operation: 'POST /admin/users/{id}/enable', url: `/admin/users/${disabledUser.id}/enable` },
      {
        operation: 'POST /admin/users/{id}/email-verified',
        url: `/admin/users/${victim.id}/email-verified`,
      },
      {
        operation: 'POST /admin/users/{id}/password-reset',
        url: `/admin/users/${victim.id}/password-reset`,
      },
      { operation: 'GET /admin/users/{id}/mfa', url: `/admin/users/${victim.id}/mfa` },
      { operation: 'DELETE /admin/users/{id}/mfa', url: `/admin/users/${victim.id}/mfa` },
      {
        operation: 'POST /admin/clients',
        url: '/admin/clients',
        body: { name: probeClientName, grantTypes: ['client_credentials'] },
      },
      { operation: 'GET /admin/clients', url: '/admin/clients' },
      { operation: 'GET /admin/clients/{id}', url: `/admin/clients/${clientId}` },
      {
        operation: 'PATCH /admin/clients/{id}',
        url: `/admin/clients/${clientId}`,
        body: { name: 'renamed without the admin scope' },
      },
      {
        operation: 'POST /admin/clients/{id}/rotate-secret',
        url: `/admin/clients/${clientId}/rotate-secret`,
      },
      {
        operation: 'GET /admin/clients/{id}/logout-deliveries',
        url: `/admin/clients/${clientId}/logout-deliveries`,
      },
      { operation: 'DELETE /admin/clients/{id}', url: `/admin/clients/${clientId}` },
      { operation: 'GET /admin/keys', url: '/admin/keys' },
      { operation: 'POST /admin/keys/rotate', url: '/admin/keys/rotate' },
      { operation: 'GET /admin/audit-events', url: '/admin/audit-events?limit=5' },
      { operation: 'GET /admin/mail', url: '/admin/mail?limit=5' },
      // Refused before the mail is looked up: any id serves.
      { operation: 'POST /admin/mail/{id}/retry', url: `/admin/mail/${randomUUID()}/retry` },
      {
        operation: 'POST /admin/identity-providers',
        url: '/admin/identity-providers',
        body: {
          type: 'oidc',
          slug: 'must-not-exist',
          displayName: 'Probe',
          issuer: 'https://sso.example.com',
          clientId: 'gatehouse',
        },
      },
      { operation: 'GET /admin/identity-providers', url: '/admin/identity-providers' },
      {
        operation: 'GET /admin/identity-providers/{id}',
        url: `/admin/identity-providers/${randomUUID()}`,
      },
      {
        operation: 'PATCH /admin/identity-providers/{id}',
        url: `/admin/identity-providers/${randomUUID()}`,
        body: { displayName: 'Renamed' },
      },
      {
        operation: 'DELETE /admin/identity-providers/{id}',
        url: `/admin/identity-providers/${randomUUID()}`,
      },
      // Refused before anything is looked up or registered: any id serves.
      {
        operation: 'POST /admin/webhooks',
        url: '/admin/webhooks',
        body: { url: 'https://hooks.example.com/probe', eventTypes: ['user.created'] },
      },
      { operation: 'GET /admin/webhooks', url: '/admin/webhooks' },
      { operation: 'GET /admin/webhooks/{id}', url: `/admin/webhooks/${randomUUID()}` },
      {
        operation: 'PATCH /admin/webhooks/{id}',
        url: `/admin/webhooks/${randomUUID()}`,
        body: { enabled: false },
      },
      { operation: 'DELETE /admin/webhooks/{id}', url: `/admin/webhooks/${randomUUID()}` },
      {
        operation: 'POST /admin/webhooks/{id}/secret/rotate',
        url: `/admin/webhooks/${randomUUID()}/secret/rotate`,
      },
      {
        operation: 'GET /admin/webhooks/{id}/deliveries',
        url: `/admin/webhooks/${randomUUID()}/deliveries`,
      },
      {
        operation: 'POST /admin/webhooks/{id}/deliveries/{deliveryId}/replay',
        url: `/admin/webhooks/${randomUUID()}/deliveries/msg_probe/replay`,
      },
    ];
  }

  async function adminState(targets: AdminTargets): Promise<unknown> {
    const [victim] = await db.query<unknown[]>(
      `SELECT u.roles, u.disabled_at, u.email_verified_at, s.revoked_at,
         (SELECT count(*) FROM password_resets r WHERE r.user_id = u.id) AS resets
       FROM users u JOIN sessions s ON s.user_id = u.id
       WHERE s.id = $1`,
      [targets.victimSessionId],
    );
    const [disabled] = await db.query<unknown[]>('SELECT disabled_at FROM users WHERE id = $1', [
      targets.disabledUser.id,
    ]);
    const clients = await db.query<unknown[]>(
      `SELECT id, name, encode(secret_hash, 'hex') AS secret FROM clients
       WHERE id = $1 OR name = $2 ORDER BY id`,
      [targets.clientId, targets.probeClientName],
    );
    const keys = await db.query<unknown[]>('SELECT kid, status FROM signing_keys ORDER BY kid');
    const providers = await db.query<unknown[]>(
      'SELECT slug FROM identity_providers ORDER BY slug',
    );
    const webhooks = await db.query<unknown[]>('SELECT url FROM webhook_endpoints ORDER BY url');
    return { victim, disabled, clients, keys, providers, webhooks };
  }

  const methodOf = (route: RouteCall) => route.operation.split(' ')[0] as Method;

  describe("the first-party client's password grant", () => {
    it.each([['admin'], ['support']])(
      'grants an operator (%s) "account admin", with roles and both audiences',
      async (role) => {
        const tokens = await tokensOf(await givenOperator([role]));
        expect(tokens.scope).toBe('account admin');
        expect(decodeJwt(tokens.access_token)).toMatchObject({
          client_id: FIRST_PARTY,
          scope: 'account admin',
          roles: [role],
          aud: [AUDIENCE, ADMIN_AUDIENCE],
        });
      },
    );

    it('grants a user without an operator role "account" only: admin is dropped, not refused', async () => {
      const user = await givenUserAt(issuer);
      const tokens = await tokensOf(user);
      expect(tokens.scope).toBe('account');
      const claims = decodeJwt(tokens.access_token);
      expect(claims).toMatchObject({ sub: user.id, client_id: FIRST_PARTY, scope: 'account' });
      expect(claims['roles']).toEqual([]);
      expect(claims.aud).toBe(AUDIENCE);
      expect((await atAuth('GET', '/me', { token: tokens.access_token })).status).toBe(200);
    });
  });

  describe("A. an operator's token of a third-party client", () => {
    let operator: TestUser;
    let clientId: string;
    let firstParty: TokenResponse;
    let thirdParty: TokenResponse;
    /** The cookie session the sign-in page started in the operator's browser. */
    let browserSessionId: string;

    beforeAll(async () => {
      operator = await givenOperator(['admin']);
      firstParty = await tokensOf(operator);
      ({ clientId } = await givenThirdPartyClient());
      const { callback, codeVerifier } = await authorize(
        clientId,
        operator,
        THIRD_PARTY_SCOPES.join(' '),
      );
      thirdParty = await exchange(clientId, callback, codeVerifier);
      const sessions = (await atAuth('GET', '/me/sessions', { token: firstParty.access_token }))
        .body as ListedSession[];
      const cookies = sessions.filter((session) => session.kind === 'cookie');
      expect(cookies).toHaveLength(1);
      browserSessionId = cookies[0]!.id;
    });

    it('carries no roles, no reserved scope and only the general audience', () => {
      expect(thirdParty.scope).toBe('openid email notes:read');
      const claims = decodeJwt(thirdParty.access_token);
      expect(claims).toMatchObject({
        sub: operator.id,
        client_id: clientId,
        scope: 'openid email notes:read',
      });
      expect(claims).not.toHaveProperty('roles');
      expect(claims.aud).toBe(AUDIENCE);
    });

    it('the route table covers every authenticated /me route of the OpenAPI document', async () => {
      const documented = (await securedOperations(issuer)).filter((operation) =>
        operation.split(' ')[1]!.startsWith('/me'),
      );
      expect(
        accountRoutes(operator, browserSessionId)
          .map((route) => route.operation)
          .sort(),
      ).toEqual(documented.sort());
    });

    it('answers 403 "Missing scope: account." with an insufficient_scope challenge on every account route, and changes nothing', async () => {
      const before = await accountState(operator);
      await expectScopeRefusals(
        atAuth,
        accountRoutes(operator, browserSessionId),
        thirdParty.access_token,
        'account',
      );
      // Every session still lives (none ended, none added) and the password is the same.
      expect(await accountState(operator)).toEqual(before);
      const listed = (await atAuth('GET', '/me/sessions', { token: firstParty.access_token }))
        .body as ListedSession[];
      expect(listed.map(({ id }) => id)).toEqual(
        expect.arrayContaining([
          browserSessionId,
          decodeJwt(thirdParty.access_token)['sid'],
          decodeJwt(firstParty.access_token)['sid'],
        ]),
      );
    });

    it('the route table covers every operation of admin-api', async () => {
      const routes = adminRoutes(await givenAdminTargets());
      expect(routes.map((route) => route.operation).sort()).toEqual(
        (await securedOperations(adminUrl)).sort(),
      );
    });

    it('answers 403 "Missing scope: admin." with an insufficient_scope challenge on every admin-api route, and changes nothing', async () => {
      const targets = await givenAdminTargets();
      const before = await adminState(targets);
      await expectScopeRefusals(atAdmin, adminRoutes(targets), thirdParty.access_token, 'admin');
      expect(await adminState(targets)).toEqual(before);
      // POST /admin/clients created nothing, as admin-api itself lists.
      const clients = await atAdmin('GET', '/admin/clients', { token: setupToken });
      expect(
        (clients.body as { name: string }[]).filter(({ name }) => name === targets.probeClientName),
      ).toEqual([]);
    });

    it("the same operator's first-party token works at /me, /me/sessions and admin-api", async () => {
      const token = { token: firstParty.access_token };
      expect((await atAuth('GET', '/me', token)).status).toBe(200);
      expect((await atAuth('GET', '/me/sessions', token)).status).toBe(200);
      const clients = await atAdmin('GET', '/admin/clients', token);
      expect(clients.status).toBe(200);
      expect((clients.body as { clientId: string }[]).map((client) => client.clientId)).toContain(
        clientId,
      );
    });

    it("the third-party token still reads the user's claims at userinfo (openid email)", async () => {
      const answer = await atAuth('GET', '/oauth/userinfo', { token: thirdParty.access_token });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ sub: operator.id, email: operator.email });
    });

    it('a refresh asking for account or admin is refused or granted without them', async () => {
      const response = await postForm(`${issuer}/oauth/token`, {
        grant_type: 'refresh_token',
        client_id: clientId,
        refresh_token: thirdParty.refresh_token,
        scope: 'notes:read account admin',
      });
      const body = (await response.json()) as TokenResponse & { error?: string };
      if (response.status !== 200) {
        expect(response.status).toBe(400);
        expect(body.error).toBe('invalid_scope');
        return;
      }
      const claims = decodeJwt(body.access_token);
      for (const scope of [body.scope, claims['scope'] as string]) {
        expect(scope.split(' ')).not.toContain('account');
        expect(scope.split(' ')).not.toContain('admin');
      }
      expect(claims).not.toHaveProperty('roles');
      expect(claims.aud).toBe(AUDIENCE);
    });

    describe("an operator's cookie session keeps working on both apps", () => {
      let session: CookieSession;
      let other: CookieSession;

      beforeAll(async () => {
        const someone = await givenOperator(['admin']);
        session = await givenCookieSessionAt(issuer, someone);
        other = await givenCookieSessionAt(issuer, someone);
      });

      it('reads /me, /me/sessions and admin-api without an Origin', async () => {
        const cookie = { cookie: session.cookie };
        expect((await atAuth('GET', '/me', cookie)).status).toBe(200);
        expect((await atAuth('GET', '/me/sessions', cookie)).status).toBe(200);
        expect((await atAdmin('GET', '/admin/clients', cookie)).status).toBe(200);
      });

      it('writes at admin-api from the trusted Origin, and is refused CSRF_REJECTED from nowhere', async () => {
        const body = { name: `cookie-${randomUUID()}`, grantTypes: ['client_credentials'] };
        const refused = await atAdmin('POST', '/admin/clients', { cookie: session.cookie }, body);
        expect(refused.status).toBe(403);
        expect(refused.body).toEqual(CSRF_REJECTED_NO_ORIGIN);
        const created = await atAdmin(
          'POST',
          '/admin/clients',
          { cookie: session.cookie, origin: TRUSTED_ORIGIN },
          body,
        );
        expect(created.status, JSON.stringify(created.body)).toBe(201);
      });

      it('writes at auth-api from the trusted Origin (revoke-others ends the other session)', async () => {
        const refused = await atAuth('POST', '/me/sessions/revoke-others', {
          cookie: session.cookie,
        });
        expect(refused.status).toBe(403);
        expect(refused.body).toEqual(CSRF_REJECTED_NO_ORIGIN);
        const revoked = await atAuth('POST', '/me/sessions/revoke-others', {
          cookie: session.cookie,
          origin: TRUSTED_ORIGIN,
        });
        expect(revoked.status).toBe(200);
        expect(revoked.body).toEqual({ revoked: 1 });
        expect((await atAuth('GET', '/me', { cookie: other.cookie })).body).toEqual(
          SESSION_REVOKED,
        );
        expect((await atAuth('GET', '/me', { cookie: session.cookie })).status).toBe(200);
      });
    });
  });

  describe('a third-party client holding reserved scopes in its row (registered before the rules)', () => {
    it('never gets account or admin, nor roles: the request is refused or the token lacks them', async () => {
      const operator = await givenOperator(['admin']);
      const { clientId } = await givenThirdPartyClient(['notes:read']);
      await db.query(`UPDATE clients SET scopes = '{notes:read,account,admin}' WHERE id = $1`, [
        clientId,
      ]);
      const browser = new HttpBrowser(issuer);
      const codeVerifier = randomBytes(32).toString('base64url');
      const request = new URL('/oauth/authorize', issuer);
      request.search = new URLSearchParams({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: REDIRECT_URI,
        scope: 'notes:read account admin',
        state: 'reserved',
        code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
        code_challenge_method: 'S256',
      }).toString();
      let response = await browser.get(request);
      if (
        response.status === 303 &&
        new URL(response.headers.get('location')!, issuer).pathname === '/signin'
      ) {
        const page = await browser.get(new URL(response.headers.get('location')!, issuer));
        const signedIn = await browser.post('/signin', {
          email: operator.email,
          password: operator.password,
          interaction: hiddenInteraction(await page.text()),
        });
        response = await browser.get(new URL(signedIn.headers.get('location')!, issuer));
        if (response.status === 200) {
          response = await browser.post('/oauth/authorize/consent', {
            interaction: hiddenInteraction(await response.text()),
            decision: 'approve',
          });
        }
      }
      const location = response.headers.get('location');
      if (response.status !== 303 || location === null || !location.startsWith(REDIRECT_URI)) {
        // Refused before any redirect to the client (an error page): nothing was granted.
        expect(response.status).toBeGreaterThanOrEqual(400);
        return;
      }
      const callback = new URL(location);
      if (callback.searchParams.has('error')) {
        expect(callback.searchParams.get('error')).toBe('invalid_scope');
        return;
      }
      const tokens = await exchange(clientId, callback, codeVerifier);
      const claims = decodeJwt(tokens.access_token);
      for (const scope of [tokens.scope, claims['scope'] as string]) {
        expect(scope.split(' ')).not.toContain('account');
        expect(scope.split(' ')).not.toContain('admin');
      }
      expect(claims).not.toHaveProperty('roles');
      expect(claims.aud).toBe(AUDIENCE);
      expect((await atAdmin('GET', '/admin/clients', { token: tokens.access_token })).status).toBe(
        403,
      );
      expect((await atAuth('GET', '/me', { token: tokens.access_token })).status).toBe(403);
    });
  });

  describe('B. tokens short of the scope', () => {
    it('a first-party token asked with scope=account gets 403 "Missing scope: admin." at admin-api, even an operator\'s', async () => {
      const tokens = await tokensOf(await givenOperator(['admin']), { scope: 'account' });
      expect(tokens.scope).toBe('account');
      expect(decodeJwt(tokens.access_token)).toMatchObject({ scope: 'account', aud: AUDIENCE });
      expect((await atAuth('GET', '/me', { token: tokens.access_token })).status).toBe(200);
      const answer = await atAdmin('GET', '/admin/clients', { token: tokens.access_token });
      expect(answer.status).toBe(403);
      expect(answer.body).toEqual(missingScope('admin'));
      expect(answer.headers.get('www-authenticate')).toBe(insufficientScope('admin'));
    });

    it('a client-credentials token (no roles) gets 403 on every account route and every admin-api route', async () => {
      const service = await givenServiceToken();
      const claims = decodeJwt(service.token);
      expect(claims).toMatchObject({
        client_id: service.clientId,
        scope: 'notes:read',
        aud: AUDIENCE,
      });
      expect(claims).not.toHaveProperty('roles');

      const user = await givenUserAt(issuer);
      const { sessionId } = await givenCookieSessionAt(issuer, user);
      const accountBefore = await accountState(user);
      // A client acting for itself is never granted the reserved scopes.
      await expectScopeRefusals(atAuth, accountRoutes(user, sessionId), service.token, 'account');
      expect(await accountState(user)).toEqual(accountBefore);

      const targets = await givenAdminTargets();
      const adminBefore = await adminState(targets);
      await expectScopeRefusals(atAdmin, adminRoutes(targets), service.token, 'admin');
      expect(await adminState(targets)).toEqual(adminBefore);
    });
  });

  describe('C. demotion and disabling reach a live first-party token', () => {
    it('answers 403 within 1 s once another operator sets the roles to []', async () => {
      const demoted = await givenOperator(['admin']);
      const token = { token: (await tokensOf(demoted)).access_token };
      const other = { token: (await tokensOf(await givenOperator(['admin']))).access_token };
      expect((await atAdmin('GET', '/admin/clients', token)).status).toBe(200);

      const set = await atAdmin('PUT', `/admin/users/${demoted.id}/roles`, other, { roles: [] });
      expect(set.status, JSON.stringify(set.body)).toBe(200);
      const answer = await answerWithin(1000, 403, () => atAdmin('GET', '/admin/clients', token));
      expect(answer.status, JSON.stringify(answer.body)).toBe(403);
      expect(answer.body).toMatchObject({ statusCode: 403, error: 'FORBIDDEN' });
    });

    it('answers 401 SESSION_REVOKED within 1 s once another operator disables the user', async () => {
      const disabled = await givenOperator(['admin']);
      const token = { token: (await tokensOf(disabled)).access_token };
      const other = { token: (await tokensOf(await givenOperator(['admin']))).access_token };
      expect((await atAdmin('GET', '/admin/clients', token)).status).toBe(200);

      const done = await atAdmin('POST', `/admin/users/${disabled.id}/disable`, other);
      expect(done.status, JSON.stringify(done.body)).toBe(200);
      const answer = await answerWithin(1000, 401, () => atAdmin('GET', '/admin/clients', token));
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual(SESSION_REVOKED);
    });
  });

  describe('D. POST /oauth/introspect is for resource servers', () => {
    let resourceServer: { id: string; secret: string };
    let plainConfidential: { id: string; secret: string };

    beforeAll(async () => {
      const registered = await registeredClient({
        name: `rs-${randomUUID()}`,
        grantTypes: ['client_credentials'],
        resourceServer: true,
      });
      resourceServer = { id: registered.clientId, secret: registered.clientSecret! };
      const plain = await registeredClient({
        name: `not-rs-${randomUUID()}`,
        grantTypes: ['client_credentials'],
        scopes: ['notes:read'],
      });
      plainConfidential = { id: plain.clientId, secret: plain.clientSecret! };
    });

    const introspect = (client: { id: string; secret: string }, form: Record<string, string>) =>
      postForm(`${issuer}/oauth/introspect`, form, {
        authorization: basic(client.id, client.secret),
      });

    it('answers a resource server {active: true, …} for a live access token', async () => {
      const user = await givenUserAt(issuer);
      const tokens = await tokensOf(user);
      const response = await introspect(resourceServer, { token: tokens.access_token });
      const body = await response.json();
      expect(response.status, JSON.stringify(body)).toBe(200);
      expect(body).toMatchObject({ active: true, sub: user.id, client_id: FIRST_PARTY });
    });

    it('answers 401 invalid_client to a confidential client that is not a resource server, like the token endpoint does', async () => {
      const tokens = await tokensOf(await givenUserAt(issuer));
      // Its credentials are good: the token endpoint serves it.
      const served = await postForm(
        `${issuer}/oauth/token`,
        { grant_type: 'client_credentials' },
        { authorization: basic(plainConfidential.id, plainConfidential.secret) },
      );
      expect(served.status).toBe(200);
      // What the token endpoint answers an invalid_client today, with Basic and in the body.
      const tokenRefusal = await postForm(
        `${issuer}/oauth/token`,
        { grant_type: 'client_credentials' },
        { authorization: basic(plainConfidential.id, 'wrong') },
      );
      expect(tokenRefusal.status).toBe(401);
      const tokenRefusalPost = await postForm(`${issuer}/oauth/token`, {
        grant_type: 'client_credentials',
        client_id: plainConfidential.id,
        client_secret: 'wrong',
      });
      expect(tokenRefusalPost.status).toBe(401);

      const withBasic = await introspect(plainConfidential, { token: tokens.access_token });
      expect(withBasic.status).toBe(401);
      expect(await withBasic.json()).toEqual({
        error: 'invalid_client',
        error_description: expect.any(String),
      });
      expect(withBasic.headers.get('www-authenticate')).toBe(
        tokenRefusal.headers.get('www-authenticate'),
      );
      expect(withBasic.headers.get('www-authenticate')).toBe('Basic realm="gatehouse"');
      expect(withBasic.headers.get('cache-control')).toBe(
        tokenRefusal.headers.get('cache-control'),
      );

      const inBody = await postForm(`${issuer}/oauth/introspect`, {
        token: tokens.access_token,
        client_id: plainConfidential.id,
        client_secret: plainConfidential.secret,
      });
      expect(inBody.status).toBe(401);
      expect(await inBody.json()).toEqual({
        error: 'invalid_client',
        error_description: expect.any(String),
      });
      expect(inBody.headers.get('www-authenticate')).toBe(
        tokenRefusalPost.headers.get('www-authenticate'),
      );
    });

    it('introspects a session cookie for a resource server without sliding the session', async () => {
      const user = await givenUserAt(issuer);
      const session = await givenCookieSessionAt(issuer, user);
      const row = async () =>
        (
          await db.query<{ last_seen_at: Date; idle_expires_at: Date }[]>(
            'SELECT last_seen_at, idle_expires_at FROM sessions WHERE id = $1',
            [session.sessionId],
          )
        )[0]!;
      const before = await row();

      const response = await introspect(resourceServer, {
        token: session.token,
        token_type_hint: 'session_cookie',
      });
      const body = await response.json();
      expect(response.status, JSON.stringify(body)).toBe(200);
      expect(body).toMatchObject({ active: true, sub: user.id, sid: session.sessionId });
      expect(await row()).toEqual(before);

      // The control: the user's own request does slide it (SESSION_TOUCH_INTERVAL_SECONDS=0 here).
      expect((await atAuth('GET', '/me', { cookie: session.cookie })).status).toBe(200);
      expect((await row()).last_seen_at.getTime()).toBeGreaterThan(before.last_seen_at.getTime());
    });
  });

  describe('F. resource indicators (RFC 8707) at the token endpoint', () => {
    it("narrows an operator's password grant to admin-api: aud is admin-api alone, refused at auth-api", async () => {
      const tokens = await tokensOf(await givenOperator(['admin']), { resource: ADMIN_AUDIENCE });
      expect(decodeJwt(tokens.access_token).aud).toBe(ADMIN_AUDIENCE);
      expect((await atAdmin('GET', '/admin/clients', { token: tokens.access_token })).status).toBe(
        200,
      );
      const me = await atAuth('GET', '/me', { token: tokens.access_token });
      expect(me.status).toBe(401);
      expect(me.body).toMatchObject({ statusCode: 401, error: 'INVALID_TOKEN' });
      expect(me.headers.get('www-authenticate')).toBe(
        'Bearer realm="gatehouse", error="invalid_token"',
      );
    });

    it('answers 400 invalid_target to an unknown resource', async () => {
      const response = await passwordGrantAt(issuer, await givenOperator(['admin']), {
        resource: 'https://unknown.example',
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'invalid_target' });
    });

    it('answers 400 invalid_target to a user without an operator role asking for admin-api', async () => {
      const response = await passwordGrantAt(issuer, await givenUserAt(issuer), {
        resource: ADMIN_AUDIENCE,
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'invalid_target' });
    });

    it('narrows the audience on refresh the same way', async () => {
      const tokens = await tokensOf(await givenOperator(['admin']));
      expect(decodeJwt(tokens.access_token).aud).toEqual([AUDIENCE, ADMIN_AUDIENCE]);
      const response = await postForm(`${issuer}/oauth/token`, {
        grant_type: 'refresh_token',
        client_id: FIRST_PARTY,
        refresh_token: tokens.refresh_token,
        resource: ADMIN_AUDIENCE,
      });
      const refreshed = (await response.json()) as TokenResponse;
      expect(response.status, JSON.stringify(refreshed)).toBe(200);
      expect(decodeJwt(refreshed.access_token).aud).toBe(ADMIN_AUDIENCE);
      expect(
        (await atAdmin('GET', '/admin/clients', { token: refreshed.access_token })).status,
      ).toBe(200);
      expect((await atAuth('GET', '/me', { token: refreshed.access_token })).status).toBe(401);
    });
  });
});
