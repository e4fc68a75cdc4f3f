import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ClientService } from '@gatehouse/identity';
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { HttpBrowser } from '../support/http-browser.js';
import {
  type AdminSessionRow,
  givenTokens,
  givenUser,
  type ListedSession,
  SESSION_REVOKED,
} from '../support/http.js';
import { givenAdminApi, givenListeningAuthApi } from '../support/test-app.js';

/** The relying party's callbacks: never dereferenced, only read from `Location`. */
const REDIRECT_URI = 'https://rp.example/callback';
const POST_LOGOUT_REDIRECT_URI = 'https://rp.example/signed-out';

/** Plain http on 127.0.0.1: openid-client refuses it unless told otherwise. */
const INSECURE = { execute: [client.allowInsecureRequests] };

/** The value of a page's hidden input `name`. */
function hidden(html: string, name: string): string {
  const value = new RegExp(`<input type="hidden" name="${name}" value="([^"]+)">`).exec(html)?.[1];
  expect(value, `the page carries the hidden ${name}`).toBeDefined();
  return value!;
}

/** A 303 and where it points, resolved against `base`. */
function redirectOf(response: Response, base: string): URL {
  expect(response.status).toBe(303);
  return new URL(response.headers.get('location')!, base);
}

async function htmlPage(response: Response): Promise<string> {
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
  return response.text();
}

/**
 * The acceptance test of Gatehouse as an OpenID Provider: openid-client v6 is a real relying party
 * from discovery to RP-initiated logout, the user's browser driven over HTTP through the real pages.
 */
describe('OpenID Connect acceptance: openid-client from discovery to RP-initiated logout', () => {
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;
  let issuer: string;
  let operatorToken: string;

  beforeAll(async () => {
    const listening = await givenListeningAuthApi();
    auth = listening.app;
    issuer = listening.issuer;
    // Same issuer and database: auth-api's access tokens are accepted as bearer there.
    admin = await givenAdminApi({ ISSUER: issuer });
    const operator = await givenUser(auth);
    await auth
      .get(DataSource)
      .query('UPDATE users SET roles = $2 WHERE id = $1', [operator.id, ['admin']]);
    operatorToken = (await givenTokens(auth, operator)).access_token;
  });
  afterAll(async () => {
    await admin?.close();
    await auth?.close();
  });

  async function adminSessions(userId: string): Promise<AdminSessionRow[]> {
    const response = await admin.inject({
      method: 'GET',
      url: `/admin/sessions?${new URLSearchParams({ userId }).toString()}`,
      headers: { authorization: `Bearer ${operatorToken}` },
    });
    expect(response.statusCode).toBe(200);
    return response.json<{ items: AdminSessionRow[] }>().items;
  }

  async function me(headers: Record<string, string>): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${issuer}/me`, { headers });
    return { status: response.status, body: await response.json() };
  }

  it('signs in, validates the ID token, calls userinfo, refreshes, is listed, and signs out with end_session', async () => {
    // A third-party relying party, registered with its post-logout redirect.
    const name = `Acceptance RP ${Math.random().toString(36).slice(2, 8)}`;
    const { client: registered } = await auth.get(ClientService).create({
      name,
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['openid', 'email'],
      redirectUris: [REDIRECT_URI],
      postLogoutRedirectUris: [POST_LOGOUT_REDIRECT_URI],
      public: true,
    });
    const user = await givenUser(auth);
    const browser = new HttpBrowser(issuer);

    // 1. Discovery.
    const config = await client.discovery(
      new URL(issuer),
      registered.id,
      undefined,
      client.None(),
      INSECURE,
    );
    expect(config.serverMetadata()).toMatchObject({
      issuer,
      authorization_endpoint: `${issuer}/oauth/authorize`,
      token_endpoint: `${issuer}/oauth/token`,
      userinfo_endpoint: `${issuer}/oauth/userinfo`,
      end_session_endpoint: `${issuer}/oauth/end_session`,
      jwks_uri: expect.any(String),
    });

    // 2. Authorization request: code, PKCE S256, state, nonce, scope openid email.
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const authorizationUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid email',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });

    // 3. The browser: sign-in page, sign in, consent page, approve, callback.
    const signInUrl = redirectOf(await browser.get(authorizationUrl), issuer);
    expect(signInUrl.pathname).toBe('/signin');
    const signInPage = await htmlPage(await browser.get(signInUrl));
    const signedIn = await browser.post('/signin', {
      email: user.email,
      password: user.password,
      interaction: hidden(signInPage, 'interaction'),
    });
    expect(browser.sessionCookie).not.toBeNull();
    const browserCookie = browser.sessionCookie!;
    const resume = redirectOf(signedIn, issuer);
    expect(resume.pathname).toBe('/oauth/authorize/resume');
    const consentPage = await htmlPage(await browser.get(resume));
    expect(consentPage).toContain(`<strong>${name}</strong> asks for access`);
    expect([...consentPage.matchAll(/<li>([^<]*)<\/li>/g)].map((match) => match[1])).toEqual([
      'openid',
      'email',
    ]);
    const callback = redirectOf(
      await browser.post('/oauth/authorize/consent', {
        interaction: hidden(consentPage, 'interaction'),
        decision: 'approve',
      }),
      issuer,
    );
    expect(callback.origin + callback.pathname).toBe(REDIRECT_URI);

    // 4. Code exchange: openid-client checks state, iss, PKCE, and the ID token (signature, iss,
    // aud, exp, nonce, at_hash).
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: codeVerifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    const idToken = tokens.id_token!;
    const claims = tokens.claims()!;
    const sid = decodeJwt(tokens.access_token)['sid'] as string;
    expect(claims).toMatchObject({
      iss: issuer,
      sub: user.id,
      aud: registered.id,
      nonce,
      sid,
      email: user.email,
      email_verified: false,
    });
    expect(tokens.scope).toBe('openid email');
    expect(tokens.refresh_token).toEqual(expect.any(String));

    // 5. Userinfo, its sub checked against the ID token's.
    expect(await client.fetchUserInfo(config, tokens.access_token, claims.sub)).toEqual({
      sub: user.id,
      email: user.email,
      email_verified: false,
    });

    // 6. Refresh: same session, rotated refresh token.
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(decodeJwt(refreshed.access_token)).toMatchObject({ sub: user.id, sid });
    expect(await client.fetchUserInfo(config, refreshed.access_token, user.id)).toMatchObject({
      sub: user.id,
    });

    // 7. The token session as the user's browser sees it, and as an operator does.
    const listed = await fetch(`${issuer}/me/sessions`, { headers: { cookie: browserCookie } });
    expect(listed.status).toBe(200);
    const mine = (await listed.json()) as ListedSession[];
    expect(mine.find(({ id }) => id === sid)).toMatchObject({
      kind: 'token',
      client: { id: registered.id, name },
      current: false,
    });
    const cookieSession = mine.find(({ kind }) => kind === 'cookie');
    expect(cookieSession).toMatchObject({ current: true, client: null });
    expect((await adminSessions(user.id)).find(({ id }) => id === sid)).toMatchObject({
      user: { id: user.id, email: user.email },
      kind: 'token',
      client: { id: registered.id, name },
      active: true,
      revokedReason: null,
    });

    // 8. RP-initiated logout: the browser follows the end-session URL and confirms on our page.
    const logoutState = client.randomState();
    const endSessionUrl = client.buildEndSessionUrl(config, {
      id_token_hint: idToken,
      post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI,
      state: logoutState,
    });
    expect(endSessionUrl.origin + endSessionUrl.pathname).toBe(`${issuer}/oauth/end_session`);
    expect(endSessionUrl.searchParams.get('client_id')).toBe(registered.id);
    const confirmation = await browser.get(endSessionUrl);
    expect(confirmation.headers.get('content-security-policy')).toContain(
      "form-action 'self' https://rp.example",
    );
    const confirmationPage = await htmlPage(confirmation);
    expect(confirmationPage).toContain(`<strong>${name}</strong> asks to sign you out.`);
    expect(confirmationPage).toContain('<form method="post" action="/oauth/end_session/confirm">');
    // Nothing ends before the user confirms.
    expect((await me({ cookie: browserCookie })).status).toBe(200);
    // The relying party's token is alive (authenticated), but never the user's account: 403.
    expect((await me({ authorization: `Bearer ${refreshed.access_token}` })).status).toBe(403);

    const signedOut = redirectOf(
      await browser.post('/oauth/end_session/confirm', {
        logout: hidden(confirmationPage, 'logout'),
      }),
      issuer,
    );
    expect(signedOut.origin + signedOut.pathname).toBe(POST_LOGOUT_REDIRECT_URI);
    expect(Object.fromEntries(signedOut.searchParams)).toEqual({ state: logoutState });
    expect(browser.sessionCookie).toBeNull();

    // 9. The token session is over: bearer refused, refresh refused, shown revoked for logout.
    expect(await me({ authorization: `Bearer ${refreshed.access_token}` })).toEqual({
      status: 401,
      body: SESSION_REVOKED,
    });
    const refusal: unknown = await client.refreshTokenGrant(config, refreshed.refresh_token!).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(client.ResponseBodyError);
    expect(refusal).toMatchObject({ status: 400, error: 'invalid_grant' });
    const ended = await adminSessions(user.id);
    expect(ended.find(({ id }) => id === sid)).toMatchObject({
      kind: 'token',
      active: false,
      revokedReason: 'logout',
    });

    // 10. So is the browser's sign-in: its old cookie is refused, and a new authorization asks to
    // sign in again.
    expect(await me({ cookie: browserCookie })).toEqual({ status: 401, body: SESSION_REVOKED });
    expect(ended.find(({ id }) => id === cookieSession!.id)).toMatchObject({
      kind: 'cookie',
      active: false,
      revokedReason: 'logout',
    });
    const again = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid email',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
      state: client.randomState(),
    });
    expect(redirectOf(await browser.get(again), issuer).pathname).toBe('/signin');
  });
});
