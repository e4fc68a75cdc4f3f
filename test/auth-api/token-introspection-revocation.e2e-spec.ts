import { createHash } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ClientService, Clock } from '@gatehouse/identity';
import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { givenUser, SESSION_REVOKED, type TestUser } from '../support/http.js';
import { givenAuthApi } from '../support/test-app.js';

const ISSUER = 'http://localhost:3000';
const AUDIENCE = 'gatehouse';
const FIRST_PARTY = 'gatehouse-first-party';
const ACCESS_TTL_SECONDS = 900;
const REFRESH_TTL_SECONDS = 604_800;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface TokenBody {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
  scope: string;
}

interface ConfidentialClient {
  readonly id: string;
  readonly secret: string;
}

interface SessionRow {
  revoked_at: Date | null;
  revoked_reason: string | null;
  revoked_by: string | null;
}

const sha256 = (token: string) => createHash('sha256').update(token).digest();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const form = (params: Record<string, string>) => new URLSearchParams(params).toString();
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

function expectOAuthError(response: LightMyRequestResponse, body: object, status = 400): void {
  expect(response.json()).toEqual(body);
  expect(response.statusCode).toBe(status);
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.headers['pragma']).toBe('no-cache');
}

describe('token introspection and revocation', () => {
  let app: NestFastifyApplication;
  let clock: Clock;
  let db: DataSource;
  /** A confidential client that may introspect and use client credentials. */
  let resourceServer: ConfidentialClient;

  beforeAll(async () => {
    app = await givenAuthApi({ ISSUER, ACCESS_TOKEN_AUDIENCE: AUDIENCE });
    clock = app.get(Clock);
    db = app.get(DataSource);
    resourceServer = await confidentialClient(['client_credentials'], ['read', 'write']);
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(() => app.close());

  async function confidentialClient(
    grantTypes: ('client_credentials' | 'refresh_token')[],
    scopes: string[] = [],
  ): Promise<ConfidentialClient> {
    const { client, clientSecret } = await app.get(ClientService).create({
      name: 'introspection-test',
      grantTypes,
      scopes,
      resourceServer: true,
    });
    return { id: client.id, secret: clientSecret! };
  }

  /** Moves the service clock to `seconds` after `start`. */
  function at(start: number, seconds: number): void {
    vi.spyOn(clock, 'now').mockReturnValue(new Date(start + seconds * 1000));
  }

  function post(
    url: string,
    params: Record<string, string> | string,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> {
    return app.inject({
      method: 'POST',
      url,
      headers: { ...FORM, ...headers },
      payload: typeof params === 'string' ? params : form(params),
    });
  }

  async function tokensFor(user: TestUser): Promise<TokenBody> {
    const response = await post('/oauth/token', {
      grant_type: 'password',
      username: user.email,
      password: user.password,
      client_id: FIRST_PARTY,
    });
    expect(response.statusCode).toBe(200);
    return response.json<TokenBody>();
  }

  const refresh = (refreshToken: string) =>
    post('/oauth/token', {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: FIRST_PARTY,
    });

  async function clientCredentialsToken(client: ConfidentialClient, scope: string) {
    const response = await post('/oauth/token', {
      grant_type: 'client_credentials',
      client_id: client.id,
      client_secret: client.secret,
      scope,
    });
    expect(response.statusCode).toBe(200);
    return response.json<{ access_token: string }>().access_token;
  }

  function introspectAs(
    client: ConfidentialClient,
    token: string,
    extra: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> {
    return post('/oauth/introspect', {
      token,
      client_id: client.id,
      client_secret: client.secret,
      ...extra,
    });
  }

  async function introspect(token: string, extra: Record<string, string> = {}): Promise<object> {
    const response = await introspectAs(resourceServer, token, extra);
    expect(response.statusCode).toBe(200);
    return response.json<object>();
  }

  const revokeAsFirstParty = (token: string) =>
    post('/oauth/revoke', { token, client_id: FIRST_PARTY });

  const me = (accessToken: string) =>
    app.inject({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${accessToken}` } });

  async function sessionIdOf(refreshToken: string): Promise<string> {
    const rows = await db.query<{ session_id: string }[]>(
      'SELECT session_id FROM refresh_tokens WHERE token_hash = $1',
      [sha256(refreshToken)],
    );
    expect(rows).toHaveLength(1);
    return rows[0]!.session_id;
  }

  async function sessionRow(id: string): Promise<SessionRow> {
    const rows = await db.query<SessionRow[]>(
      'SELECT revoked_at, revoked_reason, revoked_by FROM sessions WHERE id = $1',
      [id],
    );
    expect(rows).toHaveLength(1);
    return rows[0]!;
  }

  async function expectSessionAlive(tokens: TokenBody, sessionId: string): Promise<void> {
    expect(await sessionRow(sessionId)).toEqual({
      revoked_at: null,
      revoked_reason: null,
      revoked_by: null,
    });
    expect(await introspect(tokens.access_token)).toMatchObject({ active: true, sid: sessionId });
    expect(await introspect(tokens.refresh_token)).toMatchObject({ active: true, sid: sessionId });
    expect((await me(tokens.access_token)).statusCode).toBe(200);
  }

  async function expectMeRevoked(accessToken: string): Promise<void> {
    const response = await me(accessToken);
    expect(response.json()).toEqual(SESSION_REVOKED);
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe(
      'Bearer realm="gatehouse", error="invalid_token"',
    );
  }

  describe('POST /oauth/introspect', () => {
    it('describes an active access token with all its claims', async () => {
      const now = Date.now();
      at(now, 0);
      const user = await givenUser(app);
      const tokens = await tokensFor(user);
      const sessionId = await sessionIdOf(tokens.refresh_token);
      const iat = Math.floor(now / 1000);

      const response = await introspectAs(resourceServer, tokens.access_token);
      expect(response.statusCode).toBe(200);
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.json()).toEqual({
        active: true,
        token_type: 'access_token',
        sub: user.id,
        client_id: FIRST_PARTY,
        scope: 'account',
        exp: iat + ACCESS_TTL_SECONDS,
        iat,
        iss: ISSUER,
        sid: sessionId,
        aud: AUDIENCE,
        jti: decodeJwt(tokens.access_token).jti,
        auth_time: iat,
        amr: ['pwd'],
        acr: 'urn:gatehouse:acr:pwd',
      });
      expect(decodeJwt(tokens.access_token).jti).toMatch(UUID);
    });

    it('describes an active refresh token with its session and lifetime', async () => {
      const now = Date.now();
      at(now, 0);
      const user = await givenUser(app);
      const tokens = await tokensFor(user);
      const iat = Math.floor(now / 1000);

      expect(await introspect(tokens.refresh_token)).toEqual({
        active: true,
        token_type: 'refresh_token',
        sub: user.id,
        client_id: FIRST_PARTY,
        scope: 'account',
        exp: Math.floor((now + REFRESH_TTL_SECONDS * 1000) / 1000),
        iat,
        iss: ISSUER,
        sid: await sessionIdOf(tokens.refresh_token),
      });
    });

    it('finds the token whatever the token_type_hint says', async () => {
      const tokens = await tokensFor(await givenUser(app));
      for (const hint of ['refresh_token', 'access_token', 'id_token']) {
        expect(await introspect(tokens.access_token, { token_type_hint: hint })).toMatchObject({
          active: true,
          token_type: 'access_token',
        });
        expect(await introspect(tokens.refresh_token, { token_type_hint: hint })).toMatchObject({
          active: true,
          token_type: 'refresh_token',
        });
      }
    });

    it('accepts client_secret_basic authentication', async () => {
      const tokens = await tokensFor(await givenUser(app));
      const response = await post(
        '/oauth/introspect',
        { token: tokens.access_token },
        { authorization: basic(resourceServer.id, resourceServer.secret) },
      );
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ active: true, token_type: 'access_token' });
    });

    it('answers exactly {active: false} to a used refresh token', async () => {
      const tokens = await tokensFor(await givenUser(app));
      expect((await refresh(tokens.refresh_token)).statusCode).toBe(200);
      expect(await introspect(tokens.refresh_token)).toEqual({ active: false });
    });

    it.each([
      ['garbage', 'not-a-token'],
      ['a well-formed refresh token that matches nothing', 'A'.repeat(43)],
      ['a JWT-shaped string with a bad signature', 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA'],
    ])('answers exactly {active: false} to %s', async (_label, token) => {
      expect(await introspect(token)).toEqual({ active: false });
    });

    it('answers exactly {active: false} to an expired access token', async () => {
      const start = Date.now();
      at(start, 0);
      const tokens = await tokensFor(await givenUser(app));
      at(start, 16 * 60);
      expect(await introspect(tokens.access_token)).toEqual({ active: false });
      // Its session (and refresh token) is still alive: only the access token expired.
      expect(await introspect(tokens.refresh_token)).toMatchObject({ active: true });
    });

    it('answers exactly {active: false} to an access token whose session was revoked through /oauth/revoke', async () => {
      const tokens = await tokensFor(await givenUser(app));
      expect(await introspect(tokens.access_token)).toMatchObject({ active: true });
      expect((await revokeAsFirstParty(tokens.refresh_token)).statusCode).toBe(200);
      expect(await introspect(tokens.access_token)).toEqual({ active: false });
      expect(await introspect(tokens.refresh_token)).toEqual({ active: false });
    });

    it('describes a client-credentials access token as active, without a session id', async () => {
      const now = Date.now();
      at(now, 0);
      const accessToken = await clientCredentialsToken(resourceServer, 'read');
      const iat = Math.floor(now / 1000);
      expect(await introspect(accessToken)).toEqual({
        active: true,
        token_type: 'access_token',
        sub: resourceServer.id,
        client_id: resourceServer.id,
        scope: 'read',
        exp: iat + ACCESS_TTL_SECONDS,
        iat,
        iss: ISSUER,
        aud: AUDIENCE,
        jti: decodeJwt(accessToken).jti,
      });
    });

    it('answers 401 invalid_client to a public client', async () => {
      const tokens = await tokensFor(await givenUser(app));
      const response = await post('/oauth/introspect', {
        token: tokens.access_token,
        client_id: FIRST_PARTY,
      });
      expectOAuthError(
        response,
        {
          error: 'invalid_client',
          error_description: 'Only a resource server may introspect.',
        },
        401,
      );
      expect(response.headers['www-authenticate']).toBeUndefined();
    });

    it('answers 401 invalid_client to a confidential client that is not a resource server', async () => {
      const tokens = await tokensFor(await givenUser(app));
      const { client, clientSecret } = await app.get(ClientService).create({
        name: 'not-a-resource-server',
        grantTypes: ['client_credentials'],
      });
      const response = await post('/oauth/introspect', {
        token: tokens.access_token,
        client_id: client.id,
        client_secret: clientSecret!,
      });
      expectOAuthError(
        response,
        { error: 'invalid_client', error_description: 'Only a resource server may introspect.' },
        401,
      );
    });

    it('answers 401 invalid_client to a wrong client_secret', async () => {
      const tokens = await tokensFor(await givenUser(app));
      const response = await introspectAs(
        { id: resourceServer.id, secret: 'wrong-secret' },
        tokens.access_token,
      );
      expectOAuthError(
        response,
        { error: 'invalid_client', error_description: 'Client authentication failed.' },
        401,
      );
      expect(response.headers['www-authenticate']).toBeUndefined();
    });

    it('answers 401 invalid_client with a Basic challenge to a wrong secret sent with Basic', async () => {
      const tokens = await tokensFor(await givenUser(app));
      const response = await post(
        '/oauth/introspect',
        { token: tokens.access_token },
        { authorization: basic(resourceServer.id, 'wrong-secret') },
      );
      expectOAuthError(
        response,
        { error: 'invalid_client', error_description: 'Client authentication failed.' },
        401,
      );
      expect(response.headers['www-authenticate']).toBe('Basic realm="gatehouse"');
    });

    it('answers 401 invalid_client when no client authenticates', async () => {
      const tokens = await tokensFor(await givenUser(app));
      expectOAuthError(
        await post('/oauth/introspect', { token: tokens.access_token }),
        { error: 'invalid_client', error_description: 'Client authentication is required.' },
        401,
      );
    });

    it('answers 400 invalid_request without a token', async () => {
      expectOAuthError(
        await post('/oauth/introspect', {
          client_id: resourceServer.id,
          client_secret: resourceServer.secret,
        }),
        { error: 'invalid_request', error_description: 'The parameter token is required.' },
      );
    });

    it('answers 400 invalid_request to a repeated token parameter', async () => {
      const tokens = await tokensFor(await givenUser(app));
      const body = `${form({ client_id: resourceServer.id, client_secret: resourceServer.secret })}&${form({ token: tokens.access_token })}&token=other`;
      expectOAuthError(await post('/oauth/introspect', body), {
        error: 'invalid_request',
        error_description: 'The parameter token must be given once, as a string.',
      });
    });

    it('ignores unknown parameters', async () => {
      const tokens = await tokensFor(await givenUser(app));
      expect(
        await introspect(tokens.access_token, { resource: 'https://api.example', foo: 'bar' }),
      ).toMatchObject({ active: true, token_type: 'access_token' });
    });
  });

  describe('POST /oauth/revoke', () => {
    it('revokes the session behind a refresh token', async () => {
      const user = await givenUser(app);
      const tokens = await tokensFor(user);
      const sessionId = await sessionIdOf(tokens.refresh_token);

      const response = await revokeAsFirstParty(tokens.refresh_token);
      expect(response.statusCode).toBe(200);
      expect(response.body).toBe('');

      expect(await sessionRow(sessionId)).toEqual({
        revoked_at: expect.any(Date),
        revoked_reason: 'token_revoked',
        revoked_by: `client:${FIRST_PARTY}`,
      });
      expectOAuthError(await refresh(tokens.refresh_token), {
        error: 'invalid_grant',
        error_description: 'The refresh token has been revoked.',
      });
      expect(await introspect(tokens.access_token)).toEqual({ active: false });
      await expectMeRevoked(tokens.access_token);

      const feed = await db.query<object[]>('SELECT 1 FROM revocations WHERE session_id = $1', [
        sessionId,
      ]);
      expect(feed).toHaveLength(1);
      const audit = await db.query<object[]>(
        `SELECT actor, action, details FROM audit_events
         WHERE subject = $1 AND action = 'session.revoked'`,
        [`session:${sessionId}`],
      );
      expect(audit).toEqual([
        {
          actor: `client:${FIRST_PARTY}`,
          action: 'session.revoked',
          details: { sessionIds: [sessionId], reason: 'token_revoked' },
        },
      ]);
    });

    it('revokes the session behind an access token', async () => {
      const tokens = await tokensFor(await givenUser(app));
      const sessionId = await sessionIdOf(tokens.refresh_token);

      const response = await revokeAsFirstParty(tokens.access_token);
      expect(response.statusCode).toBe(200);
      expect(response.body).toBe('');

      expect(await sessionRow(sessionId)).toEqual({
        revoked_at: expect.any(Date),
        revoked_reason: 'token_revoked',
        revoked_by: `client:${FIRST_PARTY}`,
      });
      expectOAuthError(await refresh(tokens.refresh_token), {
        error: 'invalid_grant',
        error_description: 'The refresh token has been revoked.',
      });
      expect(await introspect(tokens.access_token)).toEqual({ active: false });
      expect(await introspect(tokens.refresh_token)).toEqual({ active: false });
      await expectMeRevoked(tokens.access_token);
    });

    it('answers 200 again to a token whose session is already revoked, changing nothing', async () => {
      const tokens = await tokensFor(await givenUser(app));
      const sessionId = await sessionIdOf(tokens.refresh_token);
      await revokeAsFirstParty(tokens.refresh_token);
      const before = await sessionRow(sessionId);

      const again = await revokeAsFirstParty(tokens.access_token);
      expect(again.statusCode).toBe(200);
      expect(await sessionRow(sessionId)).toEqual(before);
      const feed = await db.query<object[]>('SELECT 1 FROM revocations WHERE session_id = $1', [
        sessionId,
      ]);
      expect(feed).toHaveLength(1);
    });

    it('answers 200 to an unknown token and changes nothing', async () => {
      const tokens = await tokensFor(await givenUser(app));
      const sessionId = await sessionIdOf(tokens.refresh_token);
      for (const token of ['A'.repeat(43), 'not-a-token']) {
        const response = await revokeAsFirstParty(token);
        expect(response.statusCode).toBe(200);
        expect(response.body).toBe('');
      }
      await expectSessionAlive(tokens, sessionId);
    });

    it("answers 200 to another client's tokens and leaves the session alive", async () => {
      const other = await confidentialClient(['refresh_token']);
      const tokens = await tokensFor(await givenUser(app));
      const sessionId = await sessionIdOf(tokens.refresh_token);
      for (const token of [tokens.refresh_token, tokens.access_token]) {
        const response = await post('/oauth/revoke', {
          token,
          client_id: other.id,
          client_secret: other.secret,
        });
        expect(response.statusCode).toBe(200);
        expect(response.body).toBe('');
      }
      await expectSessionAlive(tokens, sessionId);
      expect((await refresh(tokens.refresh_token)).statusCode).toBe(200);
    });

    it('answers 200 to a client-credentials access token, which has no session to end', async () => {
      const accessToken = await clientCredentialsToken(resourceServer, 'write');
      const response = await post(
        '/oauth/revoke',
        { token: accessToken },
        { authorization: basic(resourceServer.id, resourceServer.secret) },
      );
      expect(response.statusCode).toBe(200);
      expect(response.body).toBe('');
      expect(await introspect(accessToken)).toMatchObject({ active: true, scope: 'write' });
    });

    it('answers 400 invalid_request without a token', async () => {
      expectOAuthError(await post('/oauth/revoke', { client_id: FIRST_PARTY }), {
        error: 'invalid_request',
        error_description: 'The parameter token is required.',
      });
    });

    it('answers 400 invalid_request to a repeated token parameter, and revokes nothing', async () => {
      const tokens = await tokensFor(await givenUser(app));
      const sessionId = await sessionIdOf(tokens.refresh_token);
      const body = `client_id=${FIRST_PARTY}&${form({ token: tokens.refresh_token })}&${form({ token: tokens.access_token })}`;
      expectOAuthError(await post('/oauth/revoke', body), {
        error: 'invalid_request',
        error_description: 'The parameter token must be given once, as a string.',
      });
      await expectSessionAlive(tokens, sessionId);
    });

    it('answers 401 invalid_client to a confidential client with a wrong secret, and revokes nothing', async () => {
      const tokens = await tokensFor(await givenUser(app));
      const sessionId = await sessionIdOf(tokens.refresh_token);
      expectOAuthError(
        await post('/oauth/revoke', {
          token: tokens.access_token,
          client_id: resourceServer.id,
          client_secret: 'wrong-secret',
        }),
        { error: 'invalid_client', error_description: 'Client authentication failed.' },
        401,
      );
      await expectSessionAlive(tokens, sessionId);
    });

    it('accepts a JSON body as well as a form', async () => {
      const tokens = await tokensFor(await givenUser(app));
      const sessionId = await sessionIdOf(tokens.refresh_token);
      const response = await app.inject({
        method: 'POST',
        url: '/oauth/revoke',
        payload: { token: tokens.access_token, client_id: FIRST_PARTY },
      });
      expect(response.statusCode).toBe(200);
      expect((await sessionRow(sessionId)).revoked_reason).toBe('token_revoked');
    });

    it('ignores unknown parameters', async () => {
      const tokens = await tokensFor(await givenUser(app));
      const sessionId = await sessionIdOf(tokens.refresh_token);
      const response = await post('/oauth/revoke', {
        token: tokens.refresh_token,
        token_type_hint: 'refresh_token',
        client_id: FIRST_PARTY,
        foo: 'bar',
      });
      expect(response.statusCode).toBe(200);
      expect((await sessionRow(sessionId)).revoked_reason).toBe('token_revoked');
    });
  });
});
