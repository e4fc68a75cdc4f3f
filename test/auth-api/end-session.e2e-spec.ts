import { createHash, randomBytes } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { GATEHOUSE_CONFIG, type GatehouseConfig } from '@gatehouse/config';
import { ClientService, Clock, SigningKeyService } from '@gatehouse/identity';
import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import {
  COOKIE_NAME,
  givenCookieSession,
  givenTokens,
  givenUser,
  SESSION_REVOKED,
  setCookies,
  type TestUser,
} from '../support/http.js';
import { givenListeningAuthApi, givenNotesApi } from '../support/test-app.js';

const REDIRECT_URI = 'https://rp.example/callback';
const POST_LOGOUT_URI = 'https://rp.example/signed-out';
const POST_LOGOUT_ORIGIN = 'https://rp.example';
const FOREIGN_ORIGIN = 'https://evil.example';

const PAGE_CSP = (formTargets = '') =>
  `default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'${formTargets}; frame-ancestors 'none'; base-uri 'none'`;

const HINT_REFUSED = 'The id_token_hint is not an ID token issued to this client.';
const CLIENT_UNKNOWN = 'The client is not registered.';
const REDIRECT_UNREGISTERED = 'The post_logout_redirect_uri is not registered for this client.';
const STATE_INVALID = 'state must be 1 to 512 printable characters.';

interface RelyingParty {
  readonly id: string;
  readonly name: string;
}

/** A user signed in at the relying party: the browser's cookie session and the token session. */
interface SignedIn {
  readonly user: TestUser;
  /** Ready for a `cookie` header. */
  readonly cookie: string;
  readonly cookieSessionId: string;
  readonly idToken: string;
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly tokenSessionId: string;
}

interface SessionRow {
  readonly revokedReason: string | null;
  readonly revokedBy: string | null;
}

const formEncoded = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

/** A 303's Location, resolved against a placeholder base (for our own paths). */
function locationOf(response: LightMyRequestResponse): URL {
  expect(response.statusCode).toBe(303);
  const location = response.headers.location;
  expect(typeof location).toBe('string');
  return new URL(location as string, 'http://gatehouse.invalid');
}

/** An HTML page of ours: no redirect, no script, locked down by its own CSP, never cached. */
function expectPage(response: LightMyRequestResponse, status: number, formTargets = ''): void {
  expect(response.statusCode).toBe(status);
  expect(response.headers.location).toBeUndefined();
  expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(response.headers['content-security-policy']).toBe(PAGE_CSP(formTargets));
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.body).not.toMatch(/<script/i);
}

/** A refused logout request: a 400 page with the reason, never a redirect (RP-Initiated Logout §4). */
function expectErrorPage(response: LightMyRequestResponse, message: string): void {
  expectPage(response, 400);
  expect(response.body).toContain('<title>Something went wrong · Gatehouse</title>');
  expect(response.body).toContain(`<p class="error" role="alert">${message}</p>`);
  expect(response.body).not.toContain('name="logout"');
}

/** The confirmation page: its sealed `logout` value. */
function expectConfirmationPage(response: LightMyRequestResponse, formTargets = ''): string {
  expectPage(response, 200, formTargets);
  expect(response.body).toContain('<title>Sign out? · Gatehouse</title>');
  expect(response.body).toContain('<form method="post" action="/oauth/end_session/confirm">');
  const sealed = /<input type="hidden" name="logout" value="([A-Za-z0-9_-]+)">/.exec(
    response.body,
  )?.[1];
  expect(sealed, 'the page carries the sealed logout request').toBeDefined();
  return sealed!;
}

/** Our own "Signed out" page. */
function expectSignedOutPage(response: LightMyRequestResponse, text: string): void {
  expectPage(response, 200);
  expect(response.body).toContain('<title>Signed out · Gatehouse</title>');
  expect(response.body).toContain(`<p role="status">${text}</p>`);
}

/** The response clears the session cookie. */
function expectCookieCleared(response: LightMyRequestResponse): void {
  const cleared = setCookies(response).find((cookie) => cookie.startsWith(`${COOKIE_NAME}=`));
  expect(cleared).toBeDefined();
  expect(cleared).toMatch(new RegExp(`^${COOKIE_NAME}=;`));
  expect(cleared).toMatch(/Expires=Thu, 01 Jan 1970|Max-Age=0/);
}

/** RFC 7636 §4.1–4.2: a verifier and its S256 challenge. */
function givenPkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/**
 * RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): `GET|POST /oauth/end_session`, its
 * confirmation page and `POST /oauth/end_session/confirm`; the validation of id_token_hint,
 * client_id, post_logout_redirect_uri and state; logout CSRF; and what confirming revokes. Also the
 * `insufficient_scope` challenge (RFC 6750 §3.1) of userinfo and other scope-guarded routes.
 */
describe('RP-initiated logout: GET/POST /oauth/end_session', () => {
  let auth: NestFastifyApplication;
  let issuer: string;
  let origin: string;
  let db: DataSource;
  let clock: Clock;
  let config: GatehouseConfig;
  let rp: RelyingParty;

  beforeAll(async () => {
    const listening = await givenListeningAuthApi();
    auth = listening.app;
    issuer = listening.issuer;
    origin = new URL(issuer).origin;
    db = auth.get(DataSource);
    clock = auth.get(Clock);
    config = auth.get<GatehouseConfig>(GATEHOUSE_CONFIG);
    rp = await givenRelyingParty();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await auth?.close();
  });

  /** Moves the service clock `seconds` from now. */
  function later(seconds: number): void {
    const now = Date.now();
    vi.spyOn(clock, 'now').mockReturnValue(new Date(now + seconds * 1000));
  }

  async function givenRelyingParty(
    options: { name?: string; postLogoutRedirectUris?: string[] } = {},
  ): Promise<RelyingParty> {
    const name = options.name ?? `Notes Viewer ${Math.random().toString(36).slice(2, 8)}`;
    const { client } = await auth.get(ClientService).create({
      name,
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['openid', 'email'],
      redirectUris: [REDIRECT_URI],
      postLogoutRedirectUris: options.postLogoutRedirectUris ?? [POST_LOGOUT_URI],
      public: true,
      requireConsent: false,
    });
    return { id: client.id, name };
  }

  /**
   * The authorization code flow with scope `openid email` through the sign-in page (the client asks
   * no consent): the browser's cookie, the tokens and both session ids.
   */
  async function givenSignedIn(client: RelyingParty = rp, user?: TestUser): Promise<SignedIn> {
    const who = user ?? (await givenUser(auth));
    const pkce = givenPkce();
    const authorize = await auth.inject({
      method: 'GET',
      url: `/oauth/authorize?${formEncoded({
        response_type: 'code',
        client_id: client.id,
        redirect_uri: REDIRECT_URI,
        scope: 'openid email',
        state: 'authorize-state',
        code_challenge: pkce.challenge,
        code_challenge_method: 'S256',
      })}`,
    });
    const toSignIn = locationOf(authorize);
    expect(toSignIn.pathname).toBe('/signin');
    const signedIn = await post('/signin', {
      form: {
        email: who.email,
        password: who.password,
        interaction: toSignIn.searchParams.get('interaction')!,
      },
    });
    const cookie = setCookies(signedIn)
      .find((value) => value.startsWith(`${COOKIE_NAME}=`))
      ?.split(';')[0];
    expect(cookie).toBeDefined();
    const toResume = locationOf(signedIn);
    const callback = locationOf(
      await auth.inject({
        method: 'GET',
        url: toResume.pathname + toResume.search,
        headers: { cookie: cookie! },
      }),
    );
    expect(callback.origin + callback.pathname).toBe(REDIRECT_URI);
    const token = await auth.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: formEncoded({
        grant_type: 'authorization_code',
        client_id: client.id,
        code: callback.searchParams.get('code')!,
        redirect_uri: REDIRECT_URI,
        code_verifier: pkce.verifier,
      }),
    });
    expect(token.statusCode).toBe(200);
    const tokens = token.json<{ access_token: string; refresh_token: string; id_token: string }>();
    expect(tokens.id_token).toEqual(expect.any(String));
    const tokenSessionId = decodeJwt(tokens.id_token)['sid'] as string;
    expect(decodeJwt(tokens.access_token)['sid']).toBe(tokenSessionId);
    const [row] = await db.query<{ id: string }[]>(
      `SELECT id FROM sessions WHERE user_id = $1 AND kind = 'cookie'`,
      [who.id],
    );
    return {
      user: who,
      cookie: cookie!,
      cookieSessionId: row!.id,
      idToken: tokens.id_token,
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      tokenSessionId,
    };
  }

  function post(
    url: string,
    {
      form,
      body,
      cookie,
      from = origin,
      referer,
    }: {
      form?: Record<string, string>;
      body?: string;
      cookie?: string;
      from?: string | null;
      referer?: string;
    },
  ): Promise<LightMyRequestResponse> {
    return auth.inject({
      method: 'POST',
      url,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(from === null ? {} : { origin: from }),
        ...(referer ? { referer } : {}),
        ...(cookie ? { cookie } : {}),
      },
      payload: body ?? formEncoded(form ?? {}),
    });
  }

  /** `GET /oauth/end_session` with these parameters (a string: the raw query). */
  function endSession(
    params: Record<string, string> | string,
    cookie?: string,
  ): Promise<LightMyRequestResponse> {
    const query = typeof params === 'string' ? params : formEncoded(params);
    return auth.inject({
      method: 'GET',
      url: `/oauth/end_session?${query}`,
      ...(cookie ? { headers: { cookie } } : {}),
    });
  }

  function confirm(
    sealed: string,
    options: { cookie?: string; from?: string | null; referer?: string } = {},
  ): Promise<LightMyRequestResponse> {
    return post('/oauth/end_session/confirm', { form: { logout: sealed }, ...options });
  }

  async function sessionRow(id: string): Promise<SessionRow> {
    const [row] = await db.query<SessionRow[]>(
      `SELECT revoked_reason AS "revokedReason", revoked_by AS "revokedBy" FROM sessions WHERE id = $1`,
      [id],
    );
    expect(row).toBeDefined();
    return row!;
  }

  async function me(headers: Record<string, string>): Promise<LightMyRequestResponse> {
    return auth.inject({ method: 'GET', url: '/me', headers });
  }

  /** What the relying party's own token may call: it holds `openid`, never `account`. */
  async function userinfo(accessToken: string): Promise<LightMyRequestResponse> {
    return auth.inject({
      method: 'GET',
      url: '/oauth/userinfo',
      headers: { authorization: `Bearer ${accessToken}` },
    });
  }

  function refresh(client: RelyingParty, refreshToken: string): Promise<LightMyRequestResponse> {
    return auth.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: formEncoded({
        grant_type: 'refresh_token',
        client_id: client.id,
        refresh_token: refreshToken,
      }),
    });
  }

  /** Both sessions still live: nothing was revoked. */
  async function expectStillSignedIn(signedIn: SignedIn): Promise<void> {
    expect(await sessionRow(signedIn.cookieSessionId)).toEqual({
      revokedReason: null,
      revokedBy: null,
    });
    expect(await sessionRow(signedIn.tokenSessionId)).toEqual({
      revokedReason: null,
      revokedBy: null,
    });
    expect((await me({ cookie: signedIn.cookie })).statusCode).toBe(200);
    expect((await userinfo(signedIn.accessToken)).statusCode).toBe(200);
  }

  /** The token session is ended for logout: its access token 401, its refresh token invalid_grant. */
  async function expectTokenSessionEnded(signedIn: SignedIn, client = rp): Promise<void> {
    expect(await sessionRow(signedIn.tokenSessionId)).toEqual({
      revokedReason: 'logout',
      revokedBy: `user:${signedIn.user.id}`,
    });
    const bearer = await userinfo(signedIn.accessToken);
    expect(bearer.statusCode).toBe(401);
    expect(bearer.json()).toEqual(SESSION_REVOKED);
    const refreshed = await refresh(client, signedIn.refreshToken);
    expect(refreshed.statusCode).toBe(400);
    expect(refreshed.json()).toMatchObject({ error: 'invalid_grant' });
  }

  async function expectCookieSessionEnded(signedIn: SignedIn): Promise<void> {
    expect(await sessionRow(signedIn.cookieSessionId)).toEqual({
      revokedReason: 'logout',
      revokedBy: `user:${signedIn.user.id}`,
    });
    const response = await me({ cookie: signedIn.cookie });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual(SESSION_REVOKED);
  }

  async function logoutEvents(userId: string): Promise<{ actor: string; details: unknown }[]> {
    return db.query(
      `SELECT actor, details FROM audit_events WHERE action = 'session.logout' AND subject = $1 ORDER BY id`,
      [`user:${userId}`],
    );
  }

  /** An ID token like ours, signed with our active key: only what the test changes differs. */
  async function signedWithOurKey(
    claims: JWTPayload,
    header: { typ?: string } = { typ: 'JWT' },
  ): Promise<string> {
    const { kid, alg, key } = await auth.get(SigningKeyService).activeKey();
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iat: now, exp: now + 900, ...claims })
      .setProtectedHeader({ alg, kid, ...header })
      .sign(key);
  }

  it('is advertised in the discovery document as end_session_endpoint', async () => {
    const response = await auth.inject({ method: 'GET', url: '/.well-known/openid-configuration' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ end_session_endpoint: `${issuer}/oauth/end_session` });
  });

  describe('a signed-in browser: the confirmation page, by GET and by POST', () => {
    it('shows a confirmation page naming the client, and ends nothing by itself', async () => {
      const signedIn = await givenSignedIn();
      const response = await endSession(
        {
          id_token_hint: signedIn.idToken,
          post_logout_redirect_uri: POST_LOGOUT_URI,
          state: 'logout-state',
        },
        signedIn.cookie,
      );
      const sealed = expectConfirmationPage(response, ` ${POST_LOGOUT_ORIGIN}`);
      expect(response.body).toContain(`<strong>${rp.name}</strong> asks to sign you out.`);
      expect(response.body).toContain('<button type="submit">Sign out</button>');
      // The sealed request is opaque: neither the hint nor the state show through.
      expect(sealed).not.toContain(signedIn.idToken);
      expect(response.body).not.toContain('logout-state');
      expect(setCookies(response)).toEqual([]);
      await expectStillSignedIn(signedIn);
    });

    it('confirming ends both sessions (reason logout), clears the cookie and returns with state only', async () => {
      const signedIn = await givenSignedIn();
      const sealed = expectConfirmationPage(
        await endSession(
          {
            id_token_hint: signedIn.idToken,
            post_logout_redirect_uri: POST_LOGOUT_URI,
            state: 'logout-state',
            client_id: rp.id,
          },
          signedIn.cookie,
        ),
        ` ${POST_LOGOUT_ORIGIN}`,
      );
      const response = await confirm(sealed, { cookie: signedIn.cookie });
      const location = locationOf(response);
      expect(location.origin + location.pathname).toBe(POST_LOGOUT_URI);
      expect([...location.searchParams]).toEqual([['state', 'logout-state']]);
      expectCookieCleared(response);

      await expectCookieSessionEnded(signedIn);
      await expectTokenSessionEnded(signedIn);
      const events = await logoutEvents(signedIn.user.id);
      expect(events).toEqual([
        {
          actor: `user:${signedIn.user.id}`,
          details: {
            sessionIds: expect.arrayContaining([signedIn.cookieSessionId, signedIn.tokenSessionId]),
            reason: 'logout',
            clientId: rp.id,
          },
        },
      ]);
      expect((events[0]!.details as { sessionIds: string[] }).sessionIds).toHaveLength(2);
    });

    it('without post_logout_redirect_uri, confirming ends in our "Signed out" page (state is not used)', async () => {
      const signedIn = await givenSignedIn();
      const sealed = expectConfirmationPage(
        await endSession({ id_token_hint: signedIn.idToken, state: 'ignored' }, signedIn.cookie),
      );
      const response = await confirm(sealed, { cookie: signedIn.cookie });
      expectSignedOutPage(response, 'You are signed out. You can close this page.');
      expect(response.body).not.toContain('ignored');
      expectCookieCleared(response);
      await expectCookieSessionEnded(signedIn);
      await expectTokenSessionEnded(signedIn);
    });

    it('accepts the same request as a form POST to /oauth/end_session (RP-Initiated Logout §2)', async () => {
      const signedIn = await givenSignedIn();
      // Posted by the relying party's page: cross-site, so the SameSite=Lax cookie stays behind.
      const response = await post('/oauth/end_session', {
        form: {
          id_token_hint: signedIn.idToken,
          post_logout_redirect_uri: POST_LOGOUT_URI,
          state: 'posted',
        },
        from: POST_LOGOUT_ORIGIN,
      });
      const sealed = expectConfirmationPage(response, ` ${POST_LOGOUT_ORIGIN}`);
      await expectStillSignedIn(signedIn);
      // Our own page's form is same-site: the cookie comes along.
      const done = locationOf(await confirm(sealed, { cookie: signedIn.cookie }));
      expect(done.href).toBe(`${POST_LOGOUT_URI}?state=posted`);
      await expectCookieSessionEnded(signedIn);
      await expectTokenSessionEnded(signedIn);
    });

    it('a form POST without hint asks too: the cookie it lacks does not mean the browser is signed out', async () => {
      const user = await givenUser(auth);
      const session = await givenCookieSession(auth, user);
      const response = await post('/oauth/end_session', {
        form: { client_id: rp.id, post_logout_redirect_uri: POST_LOGOUT_URI, state: 'no-hint' },
        from: POST_LOGOUT_ORIGIN,
      });
      const sealed = expectConfirmationPage(response, ` ${POST_LOGOUT_ORIGIN}`);
      expect(await sessionRow(session.sessionId)).toMatchObject({ revokedReason: null });
      const done = await confirm(sealed, { cookie: session.cookie });
      expect(locationOf(done).href).toBe(`${POST_LOGOUT_URI}?state=no-hint`);
      expectCookieCleared(done);
      expect(await sessionRow(session.sessionId)).toEqual({
        revokedReason: 'logout',
        revokedBy: `user:${user.id}`,
      });
    });

    it('accepts the confirmation with a Referer of our origin when Origin is absent', async () => {
      const signedIn = await givenSignedIn();
      const sealed = expectConfirmationPage(
        await endSession({ id_token_hint: signedIn.idToken }, signedIn.cookie),
      );
      const response = await confirm(sealed, {
        cookie: signedIn.cookie,
        from: null,
        referer: `${issuer}/oauth/end_session?id_token_hint=x`,
      });
      expectSignedOutPage(response, 'You are signed out. You can close this page.');
      await expectCookieSessionEnded(signedIn);
      await expectTokenSessionEnded(signedIn);
    });
  });

  describe('who is signed out', () => {
    it('a hint alone, in a browser that is not signed in: still confirmed, then only the token session ends', async () => {
      const signedIn = await givenSignedIn();
      const response = await endSession({
        id_token_hint: signedIn.idToken,
        post_logout_redirect_uri: POST_LOGOUT_URI,
      });
      const sealed = expectConfirmationPage(response, ` ${POST_LOGOUT_ORIGIN}`);
      expect(response.body).toContain('<p>This ends the application’s session.</p>');
      const done = await confirm(sealed);
      expect(locationOf(done).href).toBe(POST_LOGOUT_URI);
      await expectTokenSessionEnded(signedIn);
      // The browser that signed in elsewhere keeps its own sign-in.
      expect(await sessionRow(signedIn.cookieSessionId)).toEqual({
        revokedReason: null,
        revokedBy: null,
      });
      expect((await me({ cookie: signedIn.cookie })).statusCode).toBe(200);
    });

    it('a signed-in browser without hint or client: confirmed, then only the cookie session ends', async () => {
      const user = await givenUser(auth);
      const session = await givenCookieSession(auth, user);
      const tokens = await givenTokens(auth, user);
      const response = await endSession({}, session.cookie);
      const sealed = expectConfirmationPage(response);
      expect(response.body).not.toContain('asks to sign you out');
      expect(response.body).not.toContain('the application’s session');
      const done = await confirm(sealed, { cookie: session.cookie });
      expectSignedOutPage(done, 'You are signed out. You can close this page.');
      expectCookieCleared(done);
      expect(await sessionRow(session.sessionId)).toEqual({
        revokedReason: 'logout',
        revokedBy: `user:${user.id}`,
      });
      expect((await logoutEvents(user.id)).map(({ details }) => details)).toEqual([
        { sessionIds: [session.sessionId], reason: 'logout', clientId: null },
      ]);
      // The user's other sessions (here a password-grant token session) are left alone.
      expect((await me({ authorization: `Bearer ${tokens.access_token}` })).statusCode).toBe(200);
    });

    it('by GET, neither signed in nor a hint: straight back to the registered URI with state, or a "Signed out" page', async () => {
      const back = await endSession({
        client_id: rp.id,
        post_logout_redirect_uri: POST_LOGOUT_URI,
        state: 'a b&c=d/?%',
      });
      const location = locationOf(back);
      expect(location.origin + location.pathname).toBe(POST_LOGOUT_URI);
      expect([...location.searchParams]).toEqual([['state', 'a b&c=d/?%']]);
      expect(setCookies(back)).toEqual([]);

      // A cookie that is no longer a live sign-in counts as none.
      const user = await givenUser(auth);
      const stale = await givenCookieSession(auth, user);
      expect(
        (
          await auth.inject({
            method: 'POST',
            url: '/auth/logout',
            headers: { cookie: stale.cookie, origin: config.trustedOrigins[0]! },
          })
        ).statusCode,
      ).toBeLessThan(300);
      expect(
        locationOf(
          await endSession(
            { client_id: rp.id, post_logout_redirect_uri: POST_LOGOUT_URI },
            stale.cookie,
          ),
        ).href,
      ).toBe(POST_LOGOUT_URI);

      expectSignedOutPage(await endSession({}), 'You are not signed in.');
      expectSignedOutPage(await endSession({ client_id: rp.id }), 'You are not signed in.');
    });

    it("ends the hinted session only if it is the hinted user's: a hint naming another user's session leaves it alone", async () => {
      const victim = await givenSignedIn();
      const attacker = await givenSignedIn();
      // An ID token of ours (our key) whose sid is someone else's session: the sid is not trusted
      // on its own, the session must belong to the hint's sub.
      const forged = await signedWithOurKey({
        iss: issuer,
        sub: attacker.user.id,
        aud: rp.id,
        sid: victim.tokenSessionId,
      });
      const sealed = expectConfirmationPage(
        await endSession({ id_token_hint: forged }, attacker.cookie),
      );
      expectSignedOutPage(
        await confirm(sealed, { cookie: attacker.cookie }),
        'You are signed out. You can close this page.',
      );
      await expectCookieSessionEnded(attacker);
      await expectStillSignedIn(victim);
      expect(await logoutEvents(victim.user.id)).toEqual([]);
    });
  });

  describe('id_token_hint', () => {
    it('accepts an expired ID token (RP-Initiated Logout §2): two hours after it expired', async () => {
      const signedIn = await givenSignedIn();
      const expiry = decodeJwt(signedIn.idToken).exp! * 1000;
      later((expiry - Date.now()) / 1000 + 2 * 3600);
      const sealed = expectConfirmationPage(
        await endSession(
          { id_token_hint: signedIn.idToken, post_logout_redirect_uri: POST_LOGOUT_URI },
          signedIn.cookie,
        ),
        ` ${POST_LOGOUT_ORIGIN}`,
      );
      expect(locationOf(await confirm(sealed, { cookie: signedIn.cookie })).href).toBe(
        POST_LOGOUT_URI,
      );
      vi.restoreAllMocks();
      expect(await sessionRow(signedIn.tokenSessionId)).toMatchObject({ revokedReason: 'logout' });
      expect(await sessionRow(signedIn.cookieSessionId)).toMatchObject({ revokedReason: 'logout' });
      expect((await refresh(rp, signedIn.refreshToken)).json()).toMatchObject({
        error: 'invalid_grant',
      });
    });

    it('accepts one up to REFRESH_FAMILY_MAX_SECONDS past its expiry, and refuses it after', async () => {
      const signedIn = await givenSignedIn();
      const untilExpiry = decodeJwt(signedIn.idToken).exp! - Date.now() / 1000;
      const limit = config.tokens.refreshFamilyMaxSeconds;
      later(untilExpiry + limit - 60);
      expectConfirmationPage(await endSession({ id_token_hint: signedIn.idToken }));
      later(untilExpiry + limit + 60);
      expectErrorPage(await endSession({ id_token_hint: signedIn.idToken }), HINT_REFUSED);
    });

    it('refuses an ID token signed by a foreign key, even under our kid, and revokes nothing', async () => {
      const signedIn = await givenSignedIn();
      const { alg, kid } = decodeProtectedHeader(signedIn.idToken);
      const { privateKey } = await generateKeyPair(alg!);
      const forged = await new SignJWT(decodeJwt(signedIn.idToken))
        .setProtectedHeader({ alg: alg!, kid: kid!, typ: 'JWT' })
        .sign(privateKey);
      const response = await endSession(
        { id_token_hint: forged, post_logout_redirect_uri: POST_LOGOUT_URI },
        signedIn.cookie,
      );
      expectErrorPage(response, HINT_REFUSED);
      await expectStillSignedIn(signedIn);
    });

    it.each([
      ['an access token (typ at+jwt)', 'access'],
      ['a string that is no JWT', 'garbage'],
      ['an ID token whose signature was altered', 'altered'],
      ['a token of ours with another issuer', 'issuer'],
      ['a token of ours without typ JWT', 'untyped'],
      ['a token of ours for two audiences', 'audiences'],
      ['a token longer than 8192 characters', 'long'],
    ])('refuses %s as hint', async (_name, kind) => {
      const signedIn = await givenSignedIn();
      const claims = decodeJwt(signedIn.idToken);
      const hints: Record<string, () => Promise<string>> = {
        access: () => Promise.resolve(signedIn.accessToken),
        garbage: () => Promise.resolve('not-a-jwt'),
        altered: () => {
          const [header, payload, signature] = signedIn.idToken.split('.');
          const flipped = signature!.startsWith('A')
            ? `B${signature!.slice(1)}`
            : `A${signature!.slice(1)}`;
          return Promise.resolve(`${header}.${payload}.${flipped}`);
        },
        issuer: () => signedWithOurKey({ ...claims, iss: 'https://other-issuer.example' }),
        untyped: () => signedWithOurKey(claims, {}),
        audiences: () => signedWithOurKey({ ...claims, aud: [rp.id, 'gatehouse'] }),
        long: () => signedWithOurKey({ ...claims, padding: 'x'.repeat(8200) }),
      };
      expectErrorPage(
        await endSession(
          { id_token_hint: await hints[kind]!(), post_logout_redirect_uri: POST_LOGOUT_URI },
          signedIn.cookie,
        ),
        HINT_REFUSED,
      );
      await expectStillSignedIn(signedIn);
    });

    it("refuses a client_id that is not the hint's audience", async () => {
      const signedIn = await givenSignedIn();
      const other = await givenRelyingParty();
      expectErrorPage(
        await endSession({ id_token_hint: signedIn.idToken, client_id: other.id }, signedIn.cookie),
        HINT_REFUSED,
      );
      await expectStillSignedIn(signedIn);
    });
  });

  describe('post_logout_redirect_uri: never an open redirect', () => {
    it.each([
      ['with a trailing slash', `${POST_LOGOUT_URI}/`],
      ['with an extra query', `${POST_LOGOUT_URI}?next=https://evil.example`],
      ['on another host', 'https://evil.example/signed-out'],
      ['registered as the login redirect_uri, not for logout', REDIRECT_URI],
      ['in another case', POST_LOGOUT_URI.toUpperCase()],
    ])('refuses one %s, with a hint or a client_id, signed in or not', async (_name, uri) => {
      const signedIn = await givenSignedIn();
      for (const [params, cookie] of [
        [{ id_token_hint: signedIn.idToken }, signedIn.cookie],
        [{ client_id: rp.id }, signedIn.cookie],
        [{ client_id: rp.id }, undefined],
      ] as const) {
        const response = await endSession({ ...params, post_logout_redirect_uri: uri }, cookie);
        expectErrorPage(response, REDIRECT_UNREGISTERED);
      }
      await expectStillSignedIn(signedIn);
    });

    it('refuses one without hint or client_id (whose URIs would it be?), even a registered one', async () => {
      const signedIn = await givenSignedIn();
      expectErrorPage(
        await endSession({ post_logout_redirect_uri: POST_LOGOUT_URI, state: 's' }),
        REDIRECT_UNREGISTERED,
      );
      expectErrorPage(
        await endSession({ post_logout_redirect_uri: POST_LOGOUT_URI }, signedIn.cookie),
        REDIRECT_UNREGISTERED,
      );
      await expectStillSignedIn(signedIn);
    });

    it("refuses another client's registered URI", async () => {
      const other = await givenRelyingParty({
        postLogoutRedirectUris: ['https://other-rp.example/bye'],
      });
      expectErrorPage(
        await endSession({
          client_id: rp.id,
          post_logout_redirect_uri: 'https://other-rp.example/bye',
        }),
        REDIRECT_UNREGISTERED,
      );
      expect(
        locationOf(
          await endSession({
            client_id: other.id,
            post_logout_redirect_uri: 'https://other-rp.example/bye',
          }),
        ).href,
      ).toBe('https://other-rp.example/bye');
    });

    it('refuses a registered value that is no absolute URL (registered in code) instead of failing', async () => {
      const schemeless = 'rp.example/signed-out';
      const client = await givenRelyingParty({ postLogoutRedirectUris: [schemeless] });
      const signedIn = await givenSignedIn(client);
      expectErrorPage(
        await endSession({ client_id: client.id, post_logout_redirect_uri: schemeless }),
        REDIRECT_UNREGISTERED,
      );
      expectErrorPage(
        await endSession(
          { id_token_hint: signedIn.idToken, post_logout_redirect_uri: schemeless },
          signedIn.cookie,
        ),
        REDIRECT_UNREGISTERED,
      );
      await expectStillSignedIn(signedIn);
    });

    it('checks the URI again on confirmation: removed from the client meanwhile, it is refused', async () => {
      const client = await givenRelyingParty();
      const signedIn = await givenSignedIn(client);
      const sealed = expectConfirmationPage(
        await endSession(
          { id_token_hint: signedIn.idToken, post_logout_redirect_uri: POST_LOGOUT_URI },
          signedIn.cookie,
        ),
        ` ${POST_LOGOUT_ORIGIN}`,
      );
      await auth
        .get(ClientService)
        .update(client.id, { postLogoutRedirectUris: [] }, 'user:test-operator');
      expectErrorPage(await confirm(sealed, { cookie: signedIn.cookie }), REDIRECT_UNREGISTERED);
      await expectStillSignedIn(signedIn);
    });
  });

  describe('other parameters', () => {
    it.each([
      ['an unknown client_id', { client_id: 'no-such-client' }],
      ['a client_id with a control character', { client_id: 'a\u0001b' }],
      ['an empty client_id', { client_id: '' }],
      [
        'an unknown client_id with a redirect',
        { client_id: 'no-such-client', post_logout_redirect_uri: POST_LOGOUT_URI },
      ],
    ])('refuses %s', async (_name, params) => {
      expectErrorPage(await endSession(params), CLIENT_UNKNOWN);
    });

    it.each([
      ['empty', ''],
      ['with a line feed', 'a\nb'],
      ['with a non-ASCII character', 'é'],
      ['of 513 characters', 'x'.repeat(513)],
    ])('refuses a state %s; accepts one of 512 printable characters', async (_name, state) => {
      expectErrorPage(
        await endSession({ client_id: rp.id, post_logout_redirect_uri: POST_LOGOUT_URI, state }),
        STATE_INVALID,
      );
      const longest = '~'.repeat(512);
      expect(
        locationOf(
          await endSession({
            client_id: rp.id,
            post_logout_redirect_uri: POST_LOGOUT_URI,
            state: longest,
          }),
        ).searchParams.get('state'),
      ).toBe(longest);
    });

    it.each(['state', 'id_token_hint', 'post_logout_redirect_uri', 'client_id'])(
      'refuses a repeated %s, by GET and by POST',
      async (name) => {
        const signedIn = await givenSignedIn();
        const valid: Record<string, string> = {
          id_token_hint: signedIn.idToken,
          post_logout_redirect_uri: POST_LOGOUT_URI,
          state: 'once',
          client_id: rp.id,
        };
        const query = `${formEncoded(valid)}&${formEncoded({ [name]: valid[name]! })}`;
        expectErrorPage(await endSession(query, signedIn.cookie), `${name} is repeated.`);
        expectErrorPage(
          await post('/oauth/end_session', { body: query, cookie: signedIn.cookie }),
          `${name} is repeated.`,
        );
        await expectStillSignedIn(signedIn);
      },
    );

    it('escapes the client name on the confirmation page', async () => {
      const name = `<img src=x onerror="alert(1)"> & 'Co'`;
      const client = await givenRelyingParty({ name });
      const signedIn = await givenSignedIn(client);
      const response = await endSession({ id_token_hint: signedIn.idToken }, signedIn.cookie);
      expectConfirmationPage(response);
      expect(response.body).toContain(
        '<strong>&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &#39;Co&#39;</strong>',
      );
      expect(response.body).not.toContain('<img');
    });

    it('carries a state with markup and URL delimiters through the page to the redirect, intact', async () => {
      const signedIn = await givenSignedIn();
      const state = `"><img src=x>&x=1#frag%20'`;
      const response = await endSession(
        { id_token_hint: signedIn.idToken, post_logout_redirect_uri: POST_LOGOUT_URI, state },
        signedIn.cookie,
      );
      const sealed = expectConfirmationPage(response, ` ${POST_LOGOUT_ORIGIN}`);
      expect(response.body).not.toContain('<img');
      const location = locationOf(await confirm(sealed, { cookie: signedIn.cookie }));
      expect(location.origin + location.pathname).toBe(POST_LOGOUT_URI);
      expect(location.hash).toBe('');
      expect([...location.searchParams]).toEqual([['state', state]]);
    });
  });

  describe('the confirmation form: logout CSRF', () => {
    it.each([
      ['from another origin', { from: FOREIGN_ORIGIN }],
      ['with Origin: null', { from: 'null' }],
      ['from another origin by Referer only', { from: null, referer: `${FOREIGN_ORIGIN}/page` }],
      ['with neither Origin nor Referer', { from: null }],
      ['from our host on another port', { from: 'http://127.0.0.1:1' }],
    ])('is refused %s with a 403 page, and nothing ends', async (_name, headers) => {
      const signedIn = await givenSignedIn();
      const sealed = expectConfirmationPage(
        await endSession(
          { id_token_hint: signedIn.idToken, post_logout_redirect_uri: POST_LOGOUT_URI },
          signedIn.cookie,
        ),
        ` ${POST_LOGOUT_ORIGIN}`,
      );
      const response = await confirm(sealed, { cookie: signedIn.cookie, ...headers });
      expectPage(response, 403);
      expect(response.body).toContain('This form must be sent from the sign-out page.');
      expect(setCookies(response)).toEqual([]);
      await expectStillSignedIn(signedIn);
      expect(await logoutEvents(signedIn.user.id)).toEqual([]);
    });

    it('refuses a tampered, missing, foreign-purpose or expired sealed request with a 400 page', async () => {
      const signedIn = await givenSignedIn();
      const sealed = expectConfirmationPage(
        await endSession({ id_token_hint: signedIn.idToken }, signedIn.cookie),
      );
      const expired = 'This sign-out request has expired. Sign out again.';
      const flipped = `${sealed.slice(0, -2)}${sealed.endsWith('AA') ? 'BB' : 'AA'}`;
      expectErrorPage(await confirm(flipped, { cookie: signedIn.cookie }), expired);
      expectErrorPage(
        await post('/oauth/end_session/confirm', { form: {}, cookie: signedIn.cookie }),
        expired,
      );
      expectErrorPage(await confirm(`${sealed}=`, { cookie: signedIn.cookie }), expired);
      // A sealed authorization request (another purpose) is no sealed logout request.
      const toSignIn = locationOf(
        await auth.inject({
          method: 'GET',
          url: `/oauth/authorize?${formEncoded({
            response_type: 'code',
            client_id: rp.id,
            redirect_uri: REDIRECT_URI,
            scope: 'openid',
            code_challenge: givenPkce().challenge,
            code_challenge_method: 'S256',
          })}`,
        }),
      );
      expectErrorPage(
        await confirm(toSignIn.searchParams.get('interaction')!, { cookie: signedIn.cookie }),
        expired,
      );
      later(601);
      expectErrorPage(await confirm(sealed, { cookie: signedIn.cookie }), expired);
      vi.restoreAllMocks();
      await expectStillSignedIn(signedIn);
      // Within its ten minutes, the same value still works.
      expectSignedOutPage(
        await confirm(sealed, { cookie: signedIn.cookie }),
        'You are signed out. You can close this page.',
      );
    });
  });
});

describe('insufficient_scope (RFC 6750 §3.1) on scope-guarded routes', () => {
  let auth: NestFastifyApplication;
  let notes: NestFastifyApplication;

  beforeAll(async () => {
    const listening = await givenListeningAuthApi();
    auth = listening.app;
    notes = await givenNotesApi(listening.issuer);
  });
  afterAll(async () => {
    await notes?.close();
    await auth?.close();
  });

  it('answers userinfo 403 with the insufficient_scope challenge to a bearer token without openid', async () => {
    const tokens = await givenTokens(auth, await givenUser(auth));
    expect(tokens.scope.split(' ')).not.toContain('openid');
    const response = await auth.inject({
      method: 'GET',
      url: '/oauth/userinfo',
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toEqual({
      statusCode: 403,
      error: 'FORBIDDEN',
      message: 'Missing scope: openid.',
    });
    expect(response.headers['www-authenticate']).toBe(
      'Bearer realm="gatehouse", error="insufficient_scope", scope="openid"',
    );
  });

  it('answers a cookie caller 403 without any bearer challenge', async () => {
    const session = await givenCookieSession(auth, await givenUser(auth));
    const response = await auth.inject({
      method: 'GET',
      url: '/oauth/userinfo',
      headers: { cookie: session.cookie },
    });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toEqual({
      statusCode: 403,
      error: 'FORBIDDEN',
      message: 'Missing scope: openid.',
    });
    expect(response.headers['www-authenticate']).toBeUndefined();
  });

  it("names the route's scope on another app's route (notes-api GET /notes/stats)", async () => {
    const tokens = await givenTokens(auth, await givenUser(auth));
    const response = await notes.inject({
      method: 'GET',
      url: '/notes/stats',
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toEqual({
      statusCode: 403,
      error: 'FORBIDDEN',
      message: 'Missing scope: notes:read.',
    });
    expect(response.headers['www-authenticate']).toBe(
      'Bearer realm="gatehouse", error="insufficient_scope", scope="notes:read"',
    );
  });

  it('keeps the plain invalid_token challenge for a refused token', async () => {
    const refused = await auth.inject({
      method: 'GET',
      url: '/oauth/userinfo',
      headers: { authorization: 'Bearer not.a.token' },
    });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['www-authenticate']).toBe(
      'Bearer realm="gatehouse", error="invalid_token"',
    );
  });
});
