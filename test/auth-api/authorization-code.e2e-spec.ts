import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ClientService } from '@gatehouse/identity';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as client from 'openid-client';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { hiddenInteraction } from '../support/code-flow.js';
import { HttpBrowser } from '../support/http-browser.js';
import {
  type AdminSessionRow,
  givenTokens,
  givenUser,
  type ListedSession,
  SESSION_REVOKED,
  type TestUser,
} from '../support/http.js';
import { givenAdminApi, givenListeningAuthApi } from '../support/test-app.js';

/** Where the relying party receives its answer: never dereferenced, only read from `Location`. */
const REDIRECT_URI = 'https://rp.example/callback';
/** 32 random bytes, base64url. */
const CODE = /^[A-Za-z0-9_-]{43}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Plain http on 127.0.0.1: openid-client refuses it unless told otherwise. */
const INSECURE = { execute: [client.allowInsecureRequests] };

/** A relying party registered for the test: its client_id, name and openid-client configuration. */
interface RelyingParty {
  readonly id: string;
  readonly name: string;
  readonly config: client.Configuration;
}

/** An authorization request as the relying party started it: what it must keep for the callback. */
interface Authorization {
  readonly url: URL;
  readonly codeVerifier: string;
  readonly state: string;
}

/** Every `<li>` of the consent page's scope list. */
function listedScopes(html: string): string[] {
  return [...html.matchAll(/<li>([^<]*)<\/li>/g)].map((match) => match[1]!);
}

/**
 * openid-client v6 as the relying party of the authorization code flow (RFC 6749 §4.1, PKCE S256,
 * RFC 9207 `iss`), the browser part driven over plain HTTP: sign-in page, consent page, callback,
 * code exchange, refresh, the resulting token session as the user and an operator see it, revocation;
 * remembered consent, first-party and consent-free clients, confidential clients, clients without
 * refresh tokens, `prompt=login`, `max_age` and `prompt=none`.
 */
describe('authorization code flow with openid-client as the relying party', () => {
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;
  let issuer: string;
  let db: DataSource;
  let operatorToken: string;

  beforeAll(async () => {
    const listening = await givenListeningAuthApi();
    auth = listening.app;
    issuer = listening.issuer;
    // Same issuer and database: auth-api's access tokens are accepted as bearer there.
    admin = await givenAdminApi({ ISSUER: issuer });
    db = auth.get(DataSource);
    const operator = await givenUser(auth);
    await db.query('UPDATE users SET roles = $2 WHERE id = $1', [operator.id, ['admin']]);
    operatorToken = (await givenTokens(auth, operator)).access_token;
  });
  afterAll(async () => {
    await admin?.close();
    await auth?.close();
  });

  async function givenRelyingParty(
    options: {
      scopes?: string[];
      grantTypes?: ('authorization_code' | 'refresh_token')[];
      requireConsent?: boolean;
      confidential?: boolean;
      firstParty?: boolean;
    } = {},
  ): Promise<RelyingParty & { readonly secret: string | null }> {
    const name = `Notes Viewer ${Math.random().toString(36).slice(2, 8)}`;
    const { client: registered, clientSecret } = await auth.get(ClientService).create({
      name,
      grantTypes: options.grantTypes ?? ['authorization_code', 'refresh_token'],
      scopes: options.scopes ?? ['notes:read'],
      redirectUris: [REDIRECT_URI],
      public: !options.confidential,
      ...(options.requireConsent === undefined ? {} : { requireConsent: options.requireConsent }),
    });
    if (options.firstParty) {
      // Registration never makes a first-party client: only an operator's database change does.
      await db.query('UPDATE clients SET first_party = true WHERE id = $1', [registered.id]);
    }
    const secret = clientSecret ?? null;
    const config = await client.discovery(
      new URL(issuer),
      registered.id,
      secret ?? undefined,
      secret ? client.ClientSecretBasic(secret) : client.None(),
      INSECURE,
    );
    return { id: registered.id, name, secret, config };
  }

  async function startAuthorization(
    rp: RelyingParty,
    parameters: Record<string, string> = {},
  ): Promise<Authorization> {
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(rp.config, {
      redirect_uri: REDIRECT_URI,
      scope: 'notes:read',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      ...parameters,
    });
    return { url, codeVerifier, state };
  }

  /** A 303 and where it points, resolved against the issuer. */
  function redirectOf(response: Response): URL {
    expect(response.status).toBe(303);
    return new URL(response.headers.get('location')!, issuer);
  }

  function expectSignInRedirect(response: Response): URL {
    const location = redirectOf(response);
    expect(location.origin + location.pathname).toBe(`${issuer}/signin`);
    expect(location.searchParams.get('interaction')).toEqual(expect.any(String));
    return location;
  }

  /** The callback: the registered redirect_uri with `code`, the request's `state` and `iss`. */
  function expectCallback(response: Response, authorization: Authorization): URL {
    const location = redirectOf(response);
    expect(location.origin + location.pathname).toBe(REDIRECT_URI);
    expect(Object.fromEntries(location.searchParams)).toEqual({
      code: expect.stringMatching(CODE),
      state: authorization.state,
      iss: issuer,
    });
    return location;
  }

  /** Fills in the sign-in page's form; answers the resumed authorization request. */
  async function signIn(browser: HttpBrowser, signInPage: URL, user: TestUser): Promise<Response> {
    const page = await browser.get(signInPage);
    expect(page.status).toBe(200);
    const interaction = hiddenInteraction(await page.text());
    expect(interaction).toBe(signInPage.searchParams.get('interaction'));
    const signedIn = await browser.post('/signin', {
      email: user.email,
      password: user.password,
      interaction,
    });
    const resume = redirectOf(signedIn);
    expect(resume.pathname).toBe('/oauth/authorize/resume');
    expect(browser.signedIn).toBe(true);
    return browser.get(resume);
  }

  /** A 200 consent page; its HTML. */
  async function expectConsentPage(response: Response): Promise<string> {
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await response.text();
    expect(html).toContain('action="/oauth/authorize/consent"');
    return html;
  }

  function approve(browser: HttpBrowser, consentPage: string): Promise<Response> {
    return browser.post('/oauth/authorize/consent', {
      interaction: hiddenInteraction(consentPage),
      decision: 'approve',
    });
  }

  function exchange(
    rp: RelyingParty,
    callback: URL,
    authorization: Authorization,
  ): Promise<client.TokenEndpointResponse> {
    return client.authorizationCodeGrant(rp.config, callback, {
      pkceCodeVerifier: authorization.codeVerifier,
      expectedState: authorization.state,
    });
  }

  /**
   * A signed-in browser that has consented to `notes:read` for the relying party (when it asks):
   * the whole first authorization, code exchange included.
   */
  async function givenConsentedBrowser(rp: RelyingParty, user: TestUser): Promise<HttpBrowser> {
    const browser = new HttpBrowser(issuer);
    const authorization = await startAuthorization(rp);
    let response = await signIn(
      browser,
      expectSignInRedirect(await browser.get(authorization.url)),
      user,
    );
    if (response.status === 200) {
      response = await approve(browser, await expectConsentPage(response));
    }
    await exchange(rp, expectCallback(response, authorization), authorization);
    return browser;
  }

  async function refusal(attempt: Promise<unknown>): Promise<{ status: number; error: string }> {
    const error: unknown = await attempt.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(client.ResponseBodyError);
    const { status, error: code } = error as client.ResponseBodyError;
    return { status, error: code };
  }

  /**
   * The user's own session list, read with the browser's cookie session; the relying party's token
   * is not the user's to manage the account with (it never holds `account`): 403.
   */
  async function mySessions(browser: HttpBrowser, rpToken: string): Promise<ListedSession[]> {
    const refused = await fetch(`${issuer}/me/sessions`, {
      headers: { authorization: `Bearer ${rpToken}` },
    });
    expect(refused.status).toBe(403);
    const response = await browser.get('/me/sessions');
    expect(response.status).toBe(200);
    return (await response.json()) as ListedSession[];
  }

  async function adminSessions(userId: string): Promise<AdminSessionRow[]> {
    const response = await admin.inject({
      method: 'GET',
      url: `/admin/sessions?${new URLSearchParams({ userId }).toString()}`,
      headers: { authorization: `Bearer ${operatorToken}` },
    });
    expect(response.statusCode).toBe(200);
    return response.json<{ items: AdminSessionRow[] }>().items;
  }

  async function me(accessToken: string): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${issuer}/me`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    return { status: response.status, body: await response.json() };
  }

  it('advertises the authorization endpoint, code with PKCE S256 and the iss parameter', async () => {
    const rp = await givenRelyingParty();
    expect(rp.config.serverMetadata()).toMatchObject({
      issuer,
      authorization_endpoint: `${issuer}/oauth/authorize`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
      grant_types_supported: expect.arrayContaining(['authorization_code', 'refresh_token']),
    });
  });

  describe('a third-party public client, from the first request to revocation', () => {
    let rp: RelyingParty;
    let user: TestUser;
    let browser: HttpBrowser;
    let authorization: Authorization;
    let signInPage: URL;
    let consentPage: string;
    let callback: URL;
    let tokens: client.TokenEndpointResponse;
    let refreshed: client.TokenEndpointResponse;

    beforeAll(async () => {
      rp = await givenRelyingParty();
      user = await givenUser(auth);
      browser = new HttpBrowser(issuer);
      authorization = await startAuthorization(rp);
    });

    it('sends a browser that is not signed in to the sign-in page', async () => {
      expect(authorization.url.origin + authorization.url.pathname).toBe(
        `${issuer}/oauth/authorize`,
      );
      signInPage = expectSignInRedirect(await browser.get(authorization.url));
    });

    it('serves the sign-in form under a CSP that allows only our own script (the passkey ceremony) and forbids framing', async () => {
      const response = await browser.get(signInPage);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('no-store');
      const csp = response.headers.get('content-security-policy')!;
      expect(csp.split('; ')).toEqual(
        expect.arrayContaining([
          "default-src 'none'",
          "frame-ancestors 'none'",
          "form-action 'self' https://rp.example",
        ]),
      );
      expect(csp.split('; ')).toEqual(
        expect.arrayContaining(["script-src 'self'", "connect-src 'self'"]),
      );
      expect(csp).not.toContain('unsafe');
      const html = await response.text();
      const passkeyScript = '<script src="/assets/passkey.js" defer></script>';
      expect(html).toContain(passkeyScript);
      expect(html.replace(passkeyScript, '')).not.toMatch(/<script/i);
      expect(html).toContain('<form method="post" action="/signin">');
      expect(html).toContain('name="email"');
      expect(html).toContain('name="password"');
      hiddenInteraction(html);
    });

    it('after sign-in, asks consent naming the client and the requested scope', async () => {
      const response = await signIn(browser, signInPage, user);
      consentPage = await expectConsentPage(response);
      expect(consentPage).toContain(`<strong>${rp.name}</strong> asks for access`);
      expect(listedScopes(consentPage)).toEqual(['notes:read']);
      expect(consentPage).toContain('value="approve"');
      expect(consentPage).toContain('value="deny"');
      expect(consentPage).not.toMatch(/<script/i);
      const csp = response.headers.get('content-security-policy')!;
      expect(csp).toContain("default-src 'none'");
      expect(csp).not.toContain('script-src');
    });

    it('on approval, redirects to the callback with code, state and iss', async () => {
      callback = expectCallback(await approve(browser, consentPage), authorization);
    });

    it('openid-client exchanges the code (PKCE verifier, state and iss checked) for tokens', async () => {
      tokens = await exchange(rp, callback, authorization);
      expect({
        access_token: tokens.access_token,
        token_type: tokens.token_type,
        expires_in: tokens.expires_in,
        refresh_token: tokens.refresh_token,
        scope: tokens.scope,
        id_token: tokens.id_token,
      }).toEqual({
        access_token: expect.any(String),
        token_type: 'bearer',
        expires_in: 900,
        refresh_token: expect.any(String),
        scope: 'notes:read',
        id_token: undefined,
      });
      expect(decodeJwt(tokens.access_token)).toMatchObject({
        iss: issuer,
        sub: user.id,
        client_id: rp.id,
        scope: 'notes:read',
        sid: expect.stringMatching(UUID),
      });
    });

    it('refreshes with openid-client: same session and scope, rotated refresh token', async () => {
      refreshed = await client.refreshTokenGrant(rp.config, tokens.refresh_token!);
      expect(refreshed.refresh_token).toEqual(expect.any(String));
      expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
      expect(refreshed.scope).toBe('notes:read');
      expect(decodeJwt(refreshed.access_token)).toMatchObject({
        sub: user.id,
        client_id: rp.id,
        sid: decodeJwt(tokens.access_token)['sid'],
      });
    });

    it("lists the token session, with its client, in the user's GET /me/sessions (not to the client)", async () => {
      const sid = decodeJwt(refreshed.access_token)['sid'];
      const sessions = await mySessions(browser, refreshed.access_token);
      expect(sessions.find(({ id }) => id === sid)).toMatchObject({
        kind: 'token',
        client: { id: rp.id, name: rp.name },
        current: false,
      });
      // The browser's own session (from the sign-in page) is a separate cookie session.
      expect(sessions.map(({ kind }) => kind).sort()).toEqual(['cookie', 'token']);
    });

    it("lists it for an operator in admin-api's GET /admin/sessions?userId=", async () => {
      const sid = decodeJwt(refreshed.access_token)['sid'];
      const sessions = await adminSessions(user.id);
      expect(sessions.find(({ id }) => id === sid)).toMatchObject({
        user: { id: user.id, email: user.email },
        kind: 'token',
        client: { id: rp.id, name: rp.name },
        active: true,
      });
    });

    it('openid-client revocation ends the session: tokens refused, shown as revoked', async () => {
      const sid = decodeJwt(refreshed.access_token)['sid'];
      await client.tokenRevocation(rp.config, refreshed.refresh_token!);
      expect(await me(refreshed.access_token)).toEqual({ status: 401, body: SESSION_REVOKED });
      expect(await refusal(client.refreshTokenGrant(rp.config, refreshed.refresh_token!))).toEqual({
        status: 400,
        error: 'invalid_grant',
      });
      expect((await adminSessions(user.id)).find(({ id }) => id === sid)).toMatchObject({
        active: false,
        revokedReason: 'token_revoked',
      });
    });
  });

  describe('OpenID Connect: scope openid', () => {
    it('adds an ID token that openid-client validates (signature, iss, aud, nonce, at_hash), and userinfo', async () => {
      const rp = await givenRelyingParty({ scopes: ['openid', 'email', 'notes:read'] });
      const user = await givenUser(auth);
      const browser = new HttpBrowser(issuer);
      const nonce = client.randomNonce();
      const authorization = await startAuthorization(rp, {
        scope: 'openid email',
        nonce,
        max_age: '600',
      });
      const consent = await expectConsentPage(
        await signIn(browser, expectSignInRedirect(await browser.get(authorization.url)), user),
      );
      expect(listedScopes(consent)).toEqual(['openid', 'email']);
      const callback = expectCallback(await approve(browser, consent), authorization);
      const tokens = await client.authorizationCodeGrant(rp.config, callback, {
        pkceCodeVerifier: authorization.codeVerifier,
        expectedState: authorization.state,
        expectedNonce: nonce,
        maxAge: 600,
      });
      const idToken = tokens.claims()!;
      const access = decodeJwt(tokens.access_token);
      expect(idToken).toMatchObject({
        iss: issuer,
        sub: user.id,
        aud: rp.id,
        nonce,
        sid: access['sid'],
        email: user.email,
        email_verified: false,
        auth_time: expect.any(Number),
        at_hash: expect.any(String),
      });
      expect(decodeProtectedHeader(tokens.id_token!)).toMatchObject({ typ: 'JWT' });
      const info = await client.fetchUserInfo(rp.config, tokens.access_token, user.id);
      expect(info).toEqual({ sub: user.id, email: user.email, email_verified: false });
    });

    it('answers userinfo 403 to a token without the openid scope', async () => {
      const rp = await givenRelyingParty();
      const user = await givenUser(auth);
      const browser = new HttpBrowser(issuer);
      const authorization = await startAuthorization(rp);
      const consent = await expectConsentPage(
        await signIn(browser, expectSignInRedirect(await browser.get(authorization.url)), user),
      );
      const tokens = await exchange(
        rp,
        expectCallback(await approve(browser, consent), authorization),
        authorization,
      );
      expect(tokens.id_token).toBeUndefined();
      const response = await fetch(`${issuer}/oauth/userinfo`, {
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      expect(response.status).toBe(403);
    });
  });

  describe('remembered consent', () => {
    it('a second authorization of the same client and scopes goes straight to the callback', async () => {
      const rp = await givenRelyingParty();
      const user = await givenUser(auth);
      const browser = await givenConsentedBrowser(rp, user);

      const again = await startAuthorization(rp);
      const callback = expectCallback(await browser.get(again.url), again);
      const tokens = await exchange(rp, callback, again);
      expect(tokens.scope).toBe('notes:read');
      expect(decodeJwt(tokens.access_token)).toMatchObject({ sub: user.id, client_id: rp.id });
    });

    it('asking for a scope not yet granted shows the consent page again, then remembers both', async () => {
      const rp = await givenRelyingParty({ scopes: ['notes:read', 'notes:write'] });
      const user = await givenUser(auth);
      const browser = await givenConsentedBrowser(rp, user);

      const wider = await startAuthorization(rp, { scope: 'notes:read notes:write' });
      const consentPage = await expectConsentPage(await browser.get(wider.url));
      expect(listedScopes(consentPage)).toEqual(['notes:read', 'notes:write']);
      const callback = expectCallback(await approve(browser, consentPage), wider);
      expect((await exchange(rp, callback, wider)).scope).toBe('notes:read notes:write');

      for (const scope of ['notes:read notes:write', 'notes:write', 'notes:read']) {
        const again = await startAuthorization(rp, { scope });
        expectCallback(await browser.get(again.url), again);
      }
    });
  });

  describe('clients that never ask for consent', () => {
    it.each([
      ['a first-party client', { firstParty: true }],
      ['a client registered with requireConsent: false', { requireConsent: false }],
    ])('%s: from sign-in straight to the callback', async (_, options) => {
      const rp = await givenRelyingParty(options);
      const user = await givenUser(auth);
      const browser = new HttpBrowser(issuer);
      const authorization = await startAuthorization(rp);

      const signInPage = expectSignInRedirect(await browser.get(authorization.url));
      const callback = expectCallback(await signIn(browser, signInPage, user), authorization);
      const tokens = await exchange(rp, callback, authorization);
      expect(decodeJwt(tokens.access_token)).toMatchObject({ sub: user.id, client_id: rp.id });

      const { count } = (
        await db.query<{ count: number }[]>(
          'SELECT count(*)::int AS count FROM consents WHERE user_id = $1',
          [user.id],
        )
      )[0]!;
      expect(count).toBe(0);
    });
  });

  describe('a confidential client', () => {
    let rp: RelyingParty & { readonly secret: string | null };
    let user: TestUser;
    let browser: HttpBrowser;

    beforeAll(async () => {
      rp = await givenRelyingParty({ confidential: true });
      user = await givenUser(auth);
      browser = await givenConsentedBrowser(rp, user);
    });

    async function freshCode(): Promise<{ authorization: Authorization; callback: URL }> {
      const authorization = await startAuthorization(rp);
      return {
        authorization,
        callback: expectCallback(await browser.get(authorization.url), authorization),
      };
    }

    it('redeems the code with client_secret_basic and the PKCE verifier', async () => {
      expect(rp.secret).toEqual(expect.any(String));
      const { authorization, callback } = await freshCode();
      const tokens = await exchange(rp, callback, authorization);
      expect(tokens.refresh_token).toEqual(expect.any(String));
      expect(decodeJwt(tokens.access_token)).toMatchObject({ sub: user.id, client_id: rp.id });
    });

    it('refuses the exchange without client authentication (invalid_client)', async () => {
      const unauthenticated = await client.discovery(
        new URL(issuer),
        rp.id,
        undefined,
        client.None(),
        INSECURE,
      );
      const { authorization, callback } = await freshCode();
      expect(
        await refusal(
          client.authorizationCodeGrant(unauthenticated, callback, {
            pkceCodeVerifier: authorization.codeVerifier,
            expectedState: authorization.state,
          }),
        ),
      ).toEqual({ status: 401, error: 'invalid_client' });
    });

    it('still requires PKCE: authenticated, with another verifier, it is invalid_grant', async () => {
      const { authorization, callback } = await freshCode();
      expect(
        await refusal(
          client.authorizationCodeGrant(rp.config, callback, {
            pkceCodeVerifier: client.randomPKCECodeVerifier(),
            expectedState: authorization.state,
          }),
        ),
      ).toEqual({ status: 400, error: 'invalid_grant' });
    });
  });

  it('a client without the refresh_token grant gets no refresh token; its session is listed and dies with revocation', async () => {
    const rp = await givenRelyingParty({ grantTypes: ['authorization_code'] });
    const user = await givenUser(auth);
    const browser = new HttpBrowser(issuer);
    const authorization = await startAuthorization(rp);
    const consentPage = await expectConsentPage(
      await signIn(browser, expectSignInRedirect(await browser.get(authorization.url)), user),
    );
    const callback = expectCallback(await approve(browser, consentPage), authorization);

    const tokens = await exchange(rp, callback, authorization);
    expect(tokens.refresh_token).toBeUndefined();
    expect(tokens.access_token).toEqual(expect.any(String));
    expect(tokens.scope).toBe('notes:read');
    const sid = decodeJwt(tokens.access_token)['sid'];
    expect(
      (await mySessions(browser, tokens.access_token)).find(({ id }) => id === sid),
    ).toMatchObject({
      kind: 'token',
      client: { id: rp.id, name: rp.name },
      current: false,
    });
    expect((await adminSessions(user.id)).find(({ id }) => id === sid)).toMatchObject({
      kind: 'token',
      client: { id: rp.id, name: rp.name },
      active: true,
    });

    await client.tokenRevocation(rp.config, tokens.access_token, {
      token_type_hint: 'access_token',
    });
    expect(await me(tokens.access_token)).toEqual({ status: 401, body: SESSION_REVOKED });
    expect((await adminSessions(user.id)).find(({ id }) => id === sid)).toMatchObject({
      active: false,
      revokedReason: 'token_revoked',
    });
  });

  describe('re-authentication', () => {
    let rp: RelyingParty;
    let user: TestUser;
    let browser: HttpBrowser;

    beforeAll(async () => {
      rp = await givenRelyingParty();
      user = await givenUser(auth);
      browser = await givenConsentedBrowser(rp, user);
    });

    it('max_age longer than the sign-in age: a signed-in user is not asked to sign in again', async () => {
      const authorization = await startAuthorization(rp, { max_age: '3600' });
      expectCallback(await browser.get(authorization.url), authorization);
    });

    it.each([
      ['prompt=login', { prompt: 'login' }],
      ['max_age=0', { max_age: '0' }],
    ])(
      '%s sends a signed-in user to the sign-in page; signing in again returns a code',
      async (_, parameters) => {
        const authorization = await startAuthorization(rp, parameters);
        const signInPage = expectSignInRedirect(await browser.get(authorization.url));
        const callback = expectCallback(await signIn(browser, signInPage, user), authorization);
        const tokens = await exchange(rp, callback, authorization);
        expect(decodeJwt(tokens.access_token)).toMatchObject({ sub: user.id, client_id: rp.id });
      },
    );

    it('prompt=none for a signed-in user who already consented returns a code without any page', async () => {
      const authorization = await startAuthorization(rp, { prompt: 'none' });
      const callback = expectCallback(await browser.get(authorization.url), authorization);
      const tokens = await exchange(rp, callback, authorization);
      expect(tokens.scope).toBe('notes:read');
    });
  });
});
