import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { decodeJwt } from 'jose';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { authorizationUrl, authorizeInBrowser, hiddenInteraction } from '../support/code-flow.js';
import {
  givenOperatorCallAt,
  givenUserAt,
  passwordGrantAt,
  postForm,
  type TestUser,
  TRUSTED_ORIGIN,
  type OperatorCall,
} from '../support/http.js';
import { HttpBrowser } from '../support/http-browser.js';
import { givenListeningAdminApi, givenListeningAuthApi } from '../support/test-app.js';
import { eventually } from '../support/eventually.js';

const REDIRECT_URI = 'https://rp.example/callback';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

interface Tokens {
  readonly access_token: string;
  readonly refresh_token: string;
  readonly id_token: string;
  /** The ID token's `sid`: the token session. */
  readonly sid: string;
}

interface SessionRow {
  readonly id: string;
  readonly revokedReason: string | null;
  readonly parentSessionId: string | null;
}

/**
 * Logout that reaches the apps signed in through a browser session (issue 21): a token session
 * obtained through a sign-in at Gatehouse (code flow, device approval) is the child of that browser
 * session and ends with it, so each app gets its back-channel logout token with its own `sid` —
 * except offline access, and except a new sign-in replacing the browser session.
 */
describe('logout cascade: browser session → token sessions', () => {
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;
  let db: DataSource;
  let issuer: string;
  let adminUrl: string;
  let asOperator: OperatorCall;
  let receiver: Server;
  let receiverUrl: string;
  const received: { path: string; logoutToken: string }[] = [];

  function receive(request: IncomingMessage, response: ServerResponse): void {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push({
        path: request.url ?? '',
        logoutToken: new URLSearchParams(body).get('logout_token') ?? '',
      });
      response.writeHead(200).end();
    });
  }

  beforeAll(async () => {
    receiver = createServer(receive);
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const env = { OUTBOUND_ALLOW_PRIVATE: 'true', JOB_POLL_INTERVAL_MS: '200' };
    ({ app: auth, issuer } = await givenListeningAuthApi(env));
    ({ app: admin, url: adminUrl } = await givenListeningAdminApi(issuer, env));
    db = auth.get(DataSource);
    asOperator = await givenOperatorCallAt(auth, issuer, adminUrl);
  });
  afterAll(async () => {
    await admin?.close();
    await auth?.close();
    receiver?.closeAllConnections();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  /** A relying party whose logout tokens go to its own path on the receiver. */
  async function givenRelyingParty(
    fields: object = {},
  ): Promise<{ clientId: string; path: string }> {
    const path = `/rp/${randomUUID()}`;
    const response = await asOperator('POST', '/admin/clients', {
      name: `rp ${randomUUID()}`,
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['openid'],
      redirectUris: [REDIRECT_URI],
      public: true,
      backchannelLogoutUri: `${receiverUrl}${path}`,
      ...fields,
    });
    expect(response.status).toBe(201);
    return { clientId: ((await response.json()) as { clientId: string }).clientId, path };
  }

  async function redeem(clientId: string, callback: URL, codeVerifier: string): Promise<Tokens> {
    const response = await postForm(`${issuer}/oauth/token`, {
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code')!,
      redirect_uri: REDIRECT_URI,
      code_verifier: codeVerifier,
      client_id: clientId,
    });
    expect(response.status, await response.clone().text()).toBe(200);
    const tokens = (await response.json()) as Omit<Tokens, 'sid'>;
    return { ...tokens, sid: decodeJwt(tokens.id_token)['sid'] as string };
  }

  /** The user signs in once in a browser and completes the code flow of `clientId` there. */
  async function signIn(
    clientId: string,
    user: TestUser,
    scope = 'openid',
  ): Promise<{ browser: HttpBrowser; tokens: Tokens }> {
    const flow = await authorizeInBrowser(
      { issuer, clientId, redirectUri: REDIRECT_URI, scope },
      user,
    );
    return {
      browser: flow.browser,
      tokens: await redeem(clientId, flow.callback, flow.codeVerifier),
    };
  }

  /** The code flow of another client in a browser already signed in (consent page, no sign-in). */
  async function alsoSignIn(browser: HttpBrowser, clientId: string, scope = 'openid') {
    const { url, codeVerifier } = authorizationUrl({
      issuer,
      clientId,
      redirectUri: REDIRECT_URI,
      scope,
    });
    let response = await browser.get(url);
    if (response.status === 200) {
      response = await browser.post('/oauth/authorize/consent', {
        interaction: hiddenInteraction(await response.text()),
        decision: 'approve',
      });
    }
    expect(response.status).toBe(303);
    const callback = new URL(response.headers.get('location')!);
    expect(callback.origin + callback.pathname).toBe(REDIRECT_URI);
    return redeem(clientId, callback, codeVerifier);
  }

  /** The browser's own cookie session (the parent of the token sessions it approved). */
  async function browserSessionOf(tokenSid: string): Promise<string> {
    const [row] = await db.query<{ parent: string | null }[]>(
      'SELECT parent_session_id AS parent FROM sessions WHERE id = $1',
      [tokenSid],
    );
    expect(row?.parent, 'the token session has a parent').toEqual(expect.any(String));
    return row!.parent!;
  }

  async function sessions(ids: string[]): Promise<SessionRow[]> {
    return db.query(
      `SELECT id, revoked_reason AS "revokedReason", parent_session_id AS "parentSessionId"
       FROM sessions WHERE id = ANY($1::uuid[]) ORDER BY array_position($1::uuid[], id)`,
      [ids],
    );
  }

  const sidsAt = (path: string) =>
    received.filter((one) => one.path === path).map((one) => decodeJwt(one.logoutToken)['sid']);

  const refresh = (clientId: string, refreshToken: string) =>
    postForm(`${issuer}/oauth/token`, {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: clientId,
    });

  async function expectRefreshRefused(clientId: string, refreshToken: string): Promise<void> {
    const response = await refresh(clientId, refreshToken);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_grant');
  }

  /** Two apps with back-channel URIs, both signed in through one browser session. */
  async function givenTwoApps() {
    const one = await givenRelyingParty();
    const two = await givenRelyingParty();
    const user = await givenUserAt(issuer);
    const { browser, tokens: first } = await signIn(one.clientId, user);
    const second = await alsoSignIn(browser, two.clientId);
    const browserSessionId = await browserSessionOf(first.sid);
    expect(await browserSessionOf(second.sid)).toBe(browserSessionId);
    expect(first.sid).not.toBe(second.sid);
    return { one, two, user, browser, first, second, browserSessionId };
  }

  /** Both apps are told, each with its own `sid`, and both token sessions are over. */
  async function expectBothLoggedOut(
    apps: Awaited<ReturnType<typeof givenTwoApps>>,
    reason: string,
  ): Promise<void> {
    const { one, two, first, second } = apps;
    const told = await eventually(
      () => [sidsAt(one.path), sidsAt(two.path)],
      ([a, b]) => a!.length > 0 && b!.length > 0,
    );
    expect(told).toEqual([[first.sid], [second.sid]]);
    expect(await sessions([apps.browserSessionId, first.sid, second.sid])).toEqual([
      { id: apps.browserSessionId, revokedReason: reason, parentSessionId: null },
      { id: first.sid, revokedReason: reason, parentSessionId: apps.browserSessionId },
      { id: second.sid, revokedReason: reason, parentSessionId: apps.browserSessionId },
    ]);
    await expectRefreshRefused(one.clientId, first.refresh_token);
    await expectRefreshRefused(two.clientId, second.refresh_token);
  }

  it('signing out at Gatehouse (POST /auth/logout) tells every app signed in through the browser', async () => {
    const apps = await givenTwoApps();
    const response = await signOut(apps.browser);
    expect(response.status).toBe(204);
    await expectBothLoggedOut(apps, 'logout');
  });

  it('RP-initiated logout by one app tells the other app signed in through the browser too', async () => {
    const apps = await givenTwoApps();
    const query = new URLSearchParams({
      id_token_hint: apps.first.id_token,
      client_id: apps.one.clientId,
    });
    const page = await apps.browser.get(`/oauth/end_session?${query}`);
    expect(page.status).toBe(200);
    const sealed = /<input type="hidden" name="logout" value="([A-Za-z0-9_-]+)">/.exec(
      await page.text(),
    )?.[1];
    expect(sealed, 'the confirmation page carries the sealed request').toBeDefined();
    const confirmed = await apps.browser.post('/oauth/end_session/confirm', { logout: sealed! });
    expect([200, 303]).toContain(confirmed.status);
    await expectBothLoggedOut(apps, 'logout');
  });

  it("an operator's DELETE /admin/sessions/:id of the browser session tells both apps", async () => {
    const apps = await givenTwoApps();
    const response = await asOperator('DELETE', `/admin/sessions/${apps.browserSessionId}`, {
      reason: 'test',
    });
    expect(response.status).toBe(204);
    await expectBothLoggedOut(apps, 'admin');
  });

  it('the user revoking the browser session from their session list tells both apps', async () => {
    const apps = await givenTwoApps();
    // From another device of theirs: a fresh cookie session of the same user.
    const other = await givenUserSession(apps.user);
    const revoked = await fetch(`${issuer}/me/sessions/${apps.browserSessionId}`, {
      method: 'DELETE',
      headers: { cookie: other.sessionCookie!, origin: TRUSTED_ORIGIN },
    });
    expect(revoked.status).toBe(204);
    await expectBothLoggedOut(apps, 'revoked_by_user');
  });

  it('offline access outlives the sign-out: no logout token, its refresh token still works', async () => {
    const online = await givenRelyingParty();
    const offline = await givenRelyingParty({ scopes: ['openid', 'offline_access'] });
    const user = await givenUserAt(issuer);
    const { browser, tokens: first } = await signIn(online.clientId, user);
    const kept = await alsoSignIn(browser, offline.clientId, 'openid offline_access');
    const browserSessionId = await browserSessionOf(kept.sid);

    expect((await signOut(browser)).status).toBe(204);

    expect(
      await eventually(
        () => sidsAt(online.path),
        (sids) => sids.length > 0,
      ),
    ).toEqual([first.sid]);
    expect(await sessions([browserSessionId, kept.sid])).toEqual([
      { id: browserSessionId, revokedReason: 'logout', parentSessionId: null },
      { id: kept.sid, revokedReason: null, parentSessionId: browserSessionId },
    ]);
    const refreshed = await refresh(offline.clientId, kept.refresh_token);
    expect(refreshed.status, await refreshed.clone().text()).toBe(200);
    // The deliveries are written in the revocation's transaction: none exists for the kept session.
    expect(
      await db.query('SELECT id FROM logout_deliveries WHERE session_id = $1', [kept.sid]),
    ).toEqual([]);
    expect(sidsAt(offline.path)).toEqual([]);
  });

  it('signing in again in the same browser (replaced_by_login) tells nobody; the apps move to the new sign-in', async () => {
    const apps = await givenTwoApps();
    const signInPage = await apps.browser.get('/signin');
    expect(signInPage.status).toBe(200);
    const signedIn = await apps.browser.post('/signin', {
      email: apps.user.email,
      password: apps.user.password,
      device: '',
    });
    expect(signedIn.status).toBe(303);
    // Not a sign-out: the apps now hang on the new browser session, still signed in.
    const [row] = await db.query<{ current: string }[]>(
      `SELECT id AS current FROM sessions WHERE user_id = $1 AND kind = 'cookie'
         AND revoked_at IS NULL`,
      [apps.user.id],
    );
    const current = row!.current;
    expect(current).not.toBe(apps.browserSessionId);
    expect(await sessions([apps.browserSessionId, apps.first.sid, apps.second.sid])).toEqual([
      { id: apps.browserSessionId, revokedReason: 'replaced_by_login', parentSessionId: null },
      { id: apps.first.sid, revokedReason: null, parentSessionId: current },
      { id: apps.second.sid, revokedReason: null, parentSessionId: current },
    ]);
    expect(
      await db.query('SELECT id FROM logout_deliveries WHERE session_id = ANY($1::uuid[])', [
        [apps.first.sid, apps.second.sid],
      ]),
    ).toEqual([]);
    const rotated = await refresh(apps.one.clientId, apps.first.refresh_token);
    expect(rotated.status).toBe(200);

    // Signing out of the new browser session still reaches them.
    expect((await signOut(apps.browser)).status).toBe(204);
    const told = await eventually(
      () => [sidsAt(apps.one.path), sidsAt(apps.two.path)],
      ([a, b]) => a!.length > 0 && b!.length > 0,
    );
    expect(told).toEqual([[apps.first.sid], [apps.second.sid]]);
    await expectRefreshRefused(
      apps.one.clientId,
      ((await rotated.json()) as { refresh_token: string }).refresh_token,
    );
  });

  it('another user signing in on the same browser signs the previous one out, apps included', async () => {
    const apps = await givenTwoApps();
    const other = await givenUserAt(issuer);
    expect((await apps.browser.get('/signin')).status).toBe(200);
    const signedIn = await apps.browser.post('/signin', {
      email: other.email,
      password: other.password,
      device: '',
    });
    expect(signedIn.status).toBe(303);
    await expectBothLoggedOut(apps, 'logout');
  });

  it('a code whose browser session ended before redemption is refused (invalid_grant)', async () => {
    const app = await givenRelyingParty();
    const user = await givenUserAt(issuer);
    const flow = await authorizeInBrowser(
      { issuer, clientId: app.clientId, redirectUri: REDIRECT_URI, scope: 'openid' },
      user,
    );
    expect((await signOut(flow.browser)).status).toBe(204);
    const response = await postForm(`${issuer}/oauth/token`, {
      grant_type: 'authorization_code',
      code: flow.callback.searchParams.get('code')!,
      redirect_uri: REDIRECT_URI,
      code_verifier: flow.codeVerifier,
      client_id: app.clientId,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_grant' });
    expect(
      await db.query(`SELECT id FROM sessions WHERE user_id = $1 AND kind = 'token'`, [user.id]),
    ).toEqual([]);
  });

  it('a redemption racing the logout of its browser session waits for it, then is refused', async () => {
    const app = await givenRelyingParty();
    const user = await givenUserAt(issuer);
    const flow = await authorizeInBrowser(
      { issuer, clientId: app.clientId, redirectUri: REDIRECT_URI, scope: 'openid' },
      user,
    );
    const [browserSession] = await db.query<{ id: string }[]>(
      `SELECT id FROM sessions WHERE user_id = $1 AND kind = 'cookie'`,
      [user.id],
    );
    // A logout that has revoked the browser session but not committed yet: the redemption reads the
    // code (the session still live to it), then must wait for the logout before it may hang a token
    // session on that browser session.
    const logout = db.createQueryRunner();
    await logout.connect();
    await logout.startTransaction();
    try {
      await logout.query(
        `UPDATE sessions SET revoked_at = now(), revoked_reason = 'logout' WHERE id = $1`,
        [browserSession!.id],
      );
      const redemption = postForm(`${issuer}/oauth/token`, {
        grant_type: 'authorization_code',
        code: flow.callback.searchParams.get('code')!,
        redirect_uri: REDIRECT_URI,
        code_verifier: flow.codeVerifier,
        client_id: app.clientId,
      });
      await eventually(
        async () =>
          (
            await db.query<{ waiting: number }[]>(
              `SELECT count(*)::int AS waiting FROM pg_stat_activity
               WHERE wait_event_type = 'Lock' AND query LIKE '%FOR SHARE%'`,
            )
          )[0]!.waiting,
        (waiting) => waiting > 0,
      );
      await logout.commitTransaction();
      const response = await redemption;
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'invalid_grant' });
    } finally {
      if (logout.isTransactionActive) {
        await logout.rollbackTransaction();
      }
      await logout.release();
    }
    expect(
      await db.query(`SELECT id FROM sessions WHERE user_id = $1 AND kind = 'token'`, [user.id]),
    ).toEqual([]);
  });

  it("the device flow's token session is a child of the browser session that approved it", async () => {
    const path = `/rp/${randomUUID()}`;
    const registered = await asOperator('POST', '/admin/clients', {
      name: `device ${randomUUID()}`,
      grantTypes: [DEVICE_GRANT, 'refresh_token'],
      scopes: ['openid'],
      public: true,
      backchannelLogoutUri: `${receiverUrl}${path}`,
    });
    expect(registered.status, await registered.clone().text()).toBe(201);
    const { clientId } = (await registered.json()) as { clientId: string };
    const started = await postForm(`${issuer}/oauth/device_authorization`, {
      client_id: clientId,
      scope: 'openid',
    });
    expect(started.status).toBe(200);
    const { device_code, user_code } = (await started.json()) as {
      device_code: string;
      user_code: string;
    };

    const browser = await givenUserSession(await givenUserAt(issuer));
    const decided = await browser.post('/device/decision', {
      user_code,
      decision: 'approve',
    });
    expect(decided.status).toBe(200);
    const polled = await postForm(`${issuer}/oauth/token`, {
      grant_type: DEVICE_GRANT,
      device_code,
      client_id: clientId,
    });
    expect(polled.status, await polled.clone().text()).toBe(200);
    const tokens = (await polled.json()) as { id_token: string; refresh_token: string };
    const sid = decodeJwt(tokens.id_token)['sid'] as string;
    const browserSessionId = await browserSessionOf(sid);

    expect((await signOut(browser)).status).toBe(204);

    expect(
      await eventually(
        () => sidsAt(path),
        (sids) => sids.length > 0,
      ),
    ).toEqual([sid]);
    expect(await sessions([browserSessionId, sid])).toEqual([
      { id: browserSessionId, revokedReason: 'logout', parentSessionId: null },
      { id: sid, revokedReason: 'logout', parentSessionId: browserSessionId },
    ]);
    await expectRefreshRefused(clientId, tokens.refresh_token);
  });

  it('a password grant has no browser session: its token session has no parent', async () => {
    const user = await givenUserAt(issuer);
    const response = await passwordGrantAt(issuer, user);
    expect(response.status).toBe(200);
    const rows = await db.query<{ parent: string | null }[]>(
      `SELECT parent_session_id AS parent FROM sessions WHERE user_id = $1 AND kind = 'token'`,
      [user.id],
    );
    expect(rows).toEqual([{ parent: null }]);
  });

  /** `POST /auth/logout` with the browser's cookie, from a trusted origin (no body). */
  function signOut(browser: HttpBrowser): Promise<Response> {
    return fetch(`${issuer}/auth/logout`, {
      method: 'POST',
      headers: { cookie: browser.sessionCookie!, origin: TRUSTED_ORIGIN },
    });
  }

  /** A browser signed in at the sign-in page (no authorization request). */
  async function givenUserSession(user: TestUser): Promise<HttpBrowser> {
    const browser = new HttpBrowser(issuer);
    const page = await browser.get('/signin');
    expect(page.status).toBe(200);
    // `device` empty: the sign-in page of the device flow, which goes on to the device page.
    const signedIn = await browser.post('/signin', {
      email: user.email,
      password: user.password,
      device: '',
    });
    expect(signedIn.status).toBe(303);
    expect(browser.signedIn).toBe(true);
    return browser;
  }
});
