import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ClientService } from '@gatehouse/identity';
import { createRemoteJWKSet, decodeJwt, type JWTPayload, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { authorizeInBrowser } from '../support/code-flow.js';
import { HttpBrowser } from '../support/http-browser.js';
import {
  givenCookieSessionAt,
  givenOperatorAt,
  givenUserAt,
  passwordGrantAt,
  postForm,
  type TestUser,
  TRUSTED_ORIGIN,
} from '../support/http.js';
import { givenAdminApi, givenListeningAuthApi } from '../support/test-app.js';
import { freshDatabaseUrl } from '../support/test-database.js';

const FIRST_PARTY = 'gatehouse-first-party';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const REDIRECT_URI = 'http://127.0.0.1:8765/callback';
const LOGGED_OUT_URI = 'http://127.0.0.1:8765/signed-out';
/** Plain http on 127.0.0.1: openid-client refuses it unless told otherwise. */
const INSECURE = { execute: [oidc.allowInsecureRequests] };

interface Tokens {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  scope: string;
}

/** An RFC 6749 §5.2 refusal: the body is exactly `error` and `error_description`, never cached. */
async function expectOAuthError(response: Response, status: number, error: string): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(await response.json()).toEqual({ error, error_description: expect.any(String) });
}

/** Signs `user` in on the device page over HTTP and approves `userCode`, as in a browser. */
async function approveOnDevicePage(issuer: string, user: TestUser, userCode: string) {
  const browser = new HttpBrowser(issuer);
  const start = await browser.get(`/device?user_code=${userCode}`);
  expect(start.headers.get('location')).toBe(`/signin?device=${userCode}`);
  const signedIn = await browser.post('/signin', {
    email: user.email,
    password: user.password,
    device: userCode,
  });
  expect(signedIn.headers.get('location')).toBe(`/device?user_code=${userCode}`);
  const decided = await browser.post('/device/decision', {
    user_code: userCode,
    decision: 'approve',
  });
  expect(await decided.text()).toContain('Device connected');
}

/**
 * Issue 17, part 3: the platform's own client asks for `openid`, `email` and `offline_access` on
 * every grant it uses, and gets an ID token and userinfo like any relying party; third-party clients
 * keep the reserved-scope rules; operators edit the client through admin-api but cannot delete it.
 */
describe('the first-party client speaks OpenID Connect', () => {
  let app: NestFastifyApplication;
  let issuer: string;
  let platformApp: oidc.Configuration;
  let verifyIdToken: (token: string) => Promise<JWTPayload>;

  beforeAll(async () => {
    ({ app, issuer } = await givenListeningAuthApi({ DEVICE_CODE_INTERVAL_SECONDS: '1' }));
    platformApp = await oidc.discovery(
      new URL(issuer),
      FIRST_PARTY,
      undefined,
      oidc.None(),
      INSECURE,
    );
    const keys = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));
    verifyIdToken = async (token) =>
      (
        await jwtVerify(token, keys, {
          issuer,
          audience: FIRST_PARTY,
          typ: 'JWT',
          requiredClaims: ['sub', 'iat', 'exp', 'auth_time', 'sid'],
        })
      ).payload;
  });
  afterAll(() => app.close());

  it('device flow with openid-client and scope "openid email": a valid ID token, and userinfo answers the email', async () => {
    const user = await givenUserAt(issuer);
    const started = await oidc.initiateDeviceAuthorization(platformApp, { scope: 'openid email' });
    const polling = oidc.pollDeviceAuthorizationGrant(platformApp, started);
    await approveOnDevicePage(issuer, user, started.user_code);
    const tokens = await polling;

    expect(tokens.scope).toBe('openid email');
    // As before: the client has the refresh_token grant, so a refresh token comes with it.
    expect(tokens.refresh_token).toEqual(expect.any(String));
    const claims = await verifyIdToken(tokens.id_token!);
    expect(claims).toEqual({
      iss: issuer,
      sub: user.id,
      aud: FIRST_PARTY,
      iat: expect.any(Number),
      exp: expect.any(Number),
      auth_time: expect.any(Number),
      amr: ['pwd'],
      acr: 'urn:gatehouse:acr:pwd',
      sid: decodeJwt(tokens.access_token)['sid'],
      at_hash: expect.any(String),
      email: user.email,
      email_verified: false,
    });
    expect(tokens.claims()).toMatchObject({ sub: user.id, aud: FIRST_PARTY });

    expect(await oidc.fetchUserInfo(platformApp, tokens.access_token, user.id)).toEqual({
      sub: user.id,
      email: user.email,
      email_verified: false,
    });
  });

  it('password grant with openid: an ID token like the code flow (no nonce), its auth_time the sign-in', async () => {
    const user = await givenUserAt(issuer);
    const tokens = await oidc.genericGrantRequest(platformApp, 'password', {
      username: user.email,
      password: user.password,
      scope: 'openid email offline_access account',
    });

    expect(tokens.scope).toBe('openid email offline_access account');
    expect(tokens.refresh_token).toEqual(expect.any(String));
    const claims = await verifyIdToken(tokens.id_token!);
    expect(claims).toMatchObject({ sub: user.id, email: user.email, email_verified: false });
    expect(claims).not.toHaveProperty('nonce');
    expect(claims['auth_time']).toBeLessThanOrEqual(claims.iat!);
    expect(claims['sid']).toBe(decodeJwt(tokens.access_token)['sid']);
    // The same token still opens the account routes: `account` was asked for too.
    const me = await fetch(`${issuer}/me`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(me.status).toBe(200);
  });

  it('password grant with openid alone: userinfo answers sub only, without the email scope', async () => {
    const user = await givenUserAt(issuer);
    const response = await passwordGrantAt(issuer, user, { scope: 'openid' });
    expect(response.status).toBe(200);
    const tokens = (await response.json()) as Tokens;
    expect(decodeJwt(tokens.id_token!)).not.toHaveProperty('email');
    expect(await oidc.fetchUserInfo(platformApp, tokens.access_token, user.id)).toEqual({
      sub: user.id,
    });
  });

  it('naming no scope gets what first-party apps always got: account, no ID token', async () => {
    const user = await givenUserAt(issuer);
    const tokens = (await (await passwordGrantAt(issuer, user)).json()) as Tokens;
    expect(tokens.scope).toBe('account');
    expect(tokens.id_token).toBeUndefined();
  });

  it('answers an unknown scope with RFC 6749 invalid_scope, on the password and device grants', async () => {
    const user = await givenUserAt(issuer);
    await expectOAuthError(
      await passwordGrantAt(issuer, user, { scope: 'openid profile' }),
      400,
      'invalid_scope',
    );
    await expectOAuthError(
      await postForm(`${issuer}/oauth/device_authorization`, {
        client_id: FIRST_PARTY,
        scope: 'openid phone',
      }),
      400,
      'invalid_scope',
    );
  });

  describe('third-party clients', () => {
    let thirdParty: { id: string };

    beforeAll(async () => {
      ({ client: thirdParty } = await app.get(ClientService).create({
        name: 'A third-party CLI',
        grantTypes: [DEVICE_GRANT, 'refresh_token'],
        scopes: ['openid', 'email', 'notes:read'],
        public: true,
      }));
    });

    it('are still refused the reserved scopes: invalid_scope', async () => {
      for (const scope of ['openid account', 'openid admin']) {
        await expectOAuthError(
          await postForm(`${issuer}/oauth/device_authorization`, {
            client_id: thirdParty.id,
            scope,
          }),
          400,
          'invalid_scope',
        );
      }
    });

    it('still get every scope they registered, openid included, when they name none', async () => {
      const user = await givenUserAt(issuer);
      const config = await oidc.discovery(
        new URL(issuer),
        thirdParty.id,
        undefined,
        oidc.None(),
        INSECURE,
      );
      const started = await oidc.initiateDeviceAuthorization(config, {});
      const polling = oidc.pollDeviceAuthorizationGrant(config, started);
      await approveOnDevicePage(issuer, user, started.user_code);
      const tokens = await polling;
      expect(tokens.scope).toBe('openid email notes:read');
      expect(tokens.claims()).toMatchObject({ sub: user.id, aud: thirdParty.id });
      expect(decodeJwt(tokens.access_token)).not.toHaveProperty('roles');
    });

    it('still may not use the password grant', async () => {
      const user = await givenUserAt(issuer);
      await expectOAuthError(
        await postForm(`${issuer}/oauth/token`, {
          grant_type: 'password',
          client_id: thirdParty.id,
          username: user.email,
          password: user.password,
          scope: 'openid',
        }),
        400,
        'unauthorized_client',
      );
    });
  });
});

/** On a database of its own: the first-party client it edits is shared by a worker's files. */
describe('operators edit the first-party client through admin-api', () => {
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;
  let issuer: string;
  let operator: TestUser;
  let cookie: string;

  beforeAll(async () => {
    const databaseUrl = await freshDatabaseUrl('first_party_edit', { migrated: true });
    ({ app: auth, issuer } = await givenListeningAuthApi({ DATABASE_URL: databaseUrl }));
    admin = await givenAdminApi({ ISSUER: issuer, DATABASE_URL: databaseUrl });
    operator = await givenOperatorAt(auth, issuer);
    ({ cookie } = await givenCookieSessionAt(issuer, operator));
  });
  afterAll(async () => {
    await admin?.close();
    await auth?.close();
  });

  const call = (method: 'GET' | 'PATCH' | 'DELETE', payload?: object) =>
    admin.inject({
      method,
      url: `/admin/clients/${FIRST_PARTY}`,
      headers: { cookie, origin: TRUSTED_ORIGIN },
      ...(payload ? { payload } : {}),
    });

  const auditOf = (action: string) =>
    auth
      .get(DataSource)
      .query<{ actor: string; details: Record<string, unknown> }[]>(
        `SELECT actor, details FROM audit_events WHERE action = $1 AND subject = $2 ORDER BY at, id`,
        [action, `client:${FIRST_PARTY}`],
      );

  it('change its scopes, redirect URIs and grants; it stays first-party and public; audited', async () => {
    const changes = {
      scopes: ['openid', 'email', 'offline_access', 'account', 'admin', 'notes:read'],
      redirectUris: [REDIRECT_URI],
      postLogoutRedirectUris: [LOGGED_OUT_URI],
      grantTypes: ['refresh_token', DEVICE_GRANT, 'authorization_code'],
    };
    const patched = await call('PATCH', changes);
    expect(patched.statusCode, patched.body).toBe(200);
    // The password grant is not admin-api's to give or take: it stays.
    const registered = {
      ...changes,
      grantTypes: ['password', 'refresh_token', DEVICE_GRANT, 'authorization_code'],
    };
    expect(patched.json()).toMatchObject({
      clientId: FIRST_PARTY,
      firstParty: true,
      public: true,
      ...registered,
    });
    expect((await call('GET')).json()).toMatchObject(registered);
    expect(await auditOf('admin.client_updated')).toEqual([
      { actor: `user:${operator.id}`, details: registered },
    ]);
  });

  it('then serve the code flow to it: an ID token with the nonce, no consent page', async () => {
    const user = await givenUserAt(issuer);
    const nonce = 'n-0S6_WzA2Mj';
    const { callback, codeVerifier } = await authorizeInBrowser(
      {
        issuer,
        clientId: FIRST_PARTY,
        redirectUri: REDIRECT_URI,
        scope: 'openid email account',
        extra: { nonce },
      },
      user,
    );
    const response = await postForm(`${issuer}/oauth/token`, {
      grant_type: 'authorization_code',
      client_id: FIRST_PARTY,
      code: callback.searchParams.get('code')!,
      redirect_uri: REDIRECT_URI,
      code_verifier: codeVerifier,
    });
    expect(response.status).toBe(200);
    const tokens = (await response.json()) as Tokens;
    expect(tokens.scope).toBe('openid email account');
    expect(decodeJwt(tokens.id_token!)).toMatchObject({
      iss: issuer,
      aud: FIRST_PARTY,
      sub: user.id,
      nonce,
      email: user.email,
      sid: decodeJwt(tokens.access_token)['sid'],
    });
  });

  it('keep the reserved-scope rules: admin is still granted to operators only', async () => {
    const user = await givenUserAt(issuer);
    const asUser = (await (
      await passwordGrantAt(issuer, user, { scope: 'openid account admin' })
    ).json()) as Tokens;
    expect(asUser.scope).toBe('openid account');
    const asOperator = (await (
      await passwordGrantAt(issuer, operator, { scope: 'openid account admin' })
    ).json()) as Tokens;
    expect(asOperator.scope).toBe('openid account admin');
  });

  it('taking a scope away ends the sessions of the first-party apps, as for any client', async () => {
    const user = await givenUserAt(issuer);
    const before = (await (
      await passwordGrantAt(issuer, user, { scope: 'openid notes:read' })
    ).json()) as Tokens;
    const patched = await call('PATCH', {
      scopes: ['openid', 'email', 'offline_access', 'account', 'admin'],
    });
    expect(patched.statusCode).toBe(200);
    await expectOAuthError(
      await postForm(`${issuer}/oauth/token`, {
        grant_type: 'refresh_token',
        client_id: FIRST_PARTY,
        refresh_token: before.refresh_token!,
      }),
      400,
      'invalid_grant',
    );
    const [, narrowed] = await auditOf('admin.client_updated');
    expect(narrowed!.details['revokedSessionIds']).toContain(decodeJwt(before.access_token)['sid']);
  });

  it('refuse to make it third-party: 409 CLIENT_PROTECTED, nothing changed', async () => {
    const answer = await call('PATCH', { firstParty: false, scopes: ['openid'] });
    expect(answer.statusCode).toBe(409);
    expect(answer.json()).toEqual({
      statusCode: 409,
      error: 'CLIENT_PROTECTED',
      message: 'The first-party client stays first-party.',
    });
    expect((await call('GET')).json()).toMatchObject({
      firstParty: true,
      scopes: ['openid', 'email', 'offline_access', 'account', 'admin'],
    });
  });

  it('still refuse to delete it: 409 CLIENT_PROTECTED, the client and its sessions kept', async () => {
    const user = await givenUserAt(issuer);
    const tokens = (await (await passwordGrantAt(issuer, user)).json()) as Tokens;
    const answer = await call('DELETE');
    expect(answer.statusCode).toBe(409);
    expect(answer.json()).toEqual({
      statusCode: 409,
      error: 'CLIENT_PROTECTED',
      message:
        'The first-party client cannot be deleted; change its scopes or redirect URIs instead.',
    });
    expect((await call('GET')).statusCode).toBe(200);
    const me = await fetch(`${issuer}/me`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(me.status).toBe(200);
    expect(await auditOf('admin.client_deleted')).toEqual([]);
  });

  it('have no secret to rotate for it, a public client: 409 CLIENT_PROTECTED', async () => {
    const answer = await admin.inject({
      method: 'POST',
      url: `/admin/clients/${FIRST_PARTY}/rotate-secret`,
      headers: { cookie, origin: TRUSTED_ORIGIN },
    });
    expect(answer.statusCode).toBe(409);
    expect(answer.json()).toMatchObject({
      error: 'CLIENT_PROTECTED',
      message: 'A public client has no secret to rotate.',
    });
  });
});
