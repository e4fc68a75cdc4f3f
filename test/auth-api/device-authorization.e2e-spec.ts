import { createHash, randomBytes, randomInt } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ConfigError, GATEHOUSE_CONFIG, type GatehouseConfig } from '@gatehouse/config';
import { ClientService, Clock, type GrantType, SessionHousekeeping } from '@gatehouse/identity';
import type { LightMyRequestResponse } from 'fastify';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import {
  givenOperatorSession,
  givenUser,
  setCookies,
  type TestUser,
  TRUSTED_ORIGIN,
} from '../support/http.js';
import { HttpBrowser } from '../support/http-browser.js';
import {
  givenAdminApi,
  givenAuthApi,
  givenListeningAuthApi,
  testConfig,
} from '../support/test-app.js';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const FIRST_PARTY = 'gatehouse-first-party';
/** RFC 8628 §6.1 as Gatehouse draws them: 20 consonants, shown XXXX-XXXX. */
const ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;
/** 32 random bytes, base64url. */
const DEVICE_CODE = /^[A-Za-z0-9_-]{43}$/;
/** DEVICE_CODE_TTL_SECONDS left at its default. */
const TTL_SECONDS = 600;
/** DEVICE_CODE_INTERVAL_SECONDS of this file's app: a fast suite. */
const INTERVAL_SECONDS = 1;
const SECOND = 1000;
const PAGE_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/** The sign-in pages run the passkey ceremony: our own script and endpoints, nothing inline. */
const SIGN_IN_PAGE_CSP =
  "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/** The one script a page may load. */
const PASSKEY_SCRIPT = '<script src="/assets/passkey.js" defer></script>';
const UNKNOWN_CODE = 'That code is not valid, or it has expired. Check the code on your device.';
const TOO_MANY = 'Too many wrong codes. Try again later.';
const NOT_OUR_FORM = 'This form must be sent from the device page.';
const FOREIGN_ORIGIN = 'https://evil.example';
const REDIRECT_URI = 'https://client.example/cb';

/** Plain http on 127.0.0.1: openid-client refuses it unless told otherwise. */
const INSECURE = { execute: [oidc.allowInsecureRequests] };

interface DeviceResponse {
  readonly device_code: string;
  readonly user_code: string;
  readonly verification_uri: string;
  readonly verification_uri_complete: string;
  readonly expires_in: number;
  readonly interval: number;
}

interface Tokens {
  readonly access_token: string;
  readonly token_type: string;
  readonly expires_in: number;
  readonly scope: string;
  readonly refresh_token?: string;
  readonly id_token?: string;
}

interface TestClient {
  readonly id: string;
  readonly name: string;
  readonly secret: string | null;
}

interface ClientOptions {
  readonly name?: string;
  readonly grantTypes?: GrantType[];
  readonly scopes?: string[];
  readonly confidential?: boolean;
}

const formEncoded = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const sha256 = (value: string) => createHash('sha256').update(value).digest();
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/** A well-formed user code nobody was given (2^-34 odds of hitting a live one). */
function randomUserCode(): string {
  let letters = '';
  for (let i = 0; i < 8; i += 1) {
    letters += ALPHABET[randomInt(ALPHABET.length)];
  }
  return `${letters.slice(0, 4)}-${letters.slice(4)}`;
}

/** A documentation-range address of its own, so guess budgets per IP never leak between tests. */
function randomIp(): string {
  return `198.51.${randomInt(256)}.${randomInt(1, 255)}`;
}

/** RFC 6749 §5.2 JSON refusal. */
function expectOAuthError(
  response: LightMyRequestResponse,
  error: string,
  { status = 400, description }: { status?: number; description?: string } = {},
): void {
  expect(response.json()).toEqual({
    error,
    error_description: description ?? expect.any(String),
  });
  expect(response.statusCode).toBe(status);
}

/**
 * An HTML page of ours: no redirect, locked down by its CSP, never cached; no script but the
 * passkey ceremony's own file on the sign-in pages (and then a CSP that allows only that).
 */
function expectPage(response: LightMyRequestResponse, status: number): string {
  expect(response.statusCode).toBe(status);
  expect(response.headers.location).toBeUndefined();
  expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
  const scripted = response.body.includes(PASSKEY_SCRIPT);
  expect(response.headers['content-security-policy']).toBe(scripted ? SIGN_IN_PAGE_CSP : PAGE_CSP);
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.body.replace(PASSKEY_SCRIPT, '')).not.toMatch(/<script/i);
  return response.body;
}

/** The page to type a code in, with `problem` shown (or none). */
function expectEntryPage(
  response: LightMyRequestResponse,
  status: number,
  problem: string | null,
): void {
  const html = expectPage(response, status);
  expect(html).toContain('<h1>Connect a device</h1>');
  expect(html).toContain('<form method="post" action="/device">');
  expect(html).toContain('name="user_code"');
  if (problem === null) {
    expect(html).not.toContain('role="alert"');
  } else {
    expect(html).toContain(`<p class="error" role="alert">${problem}</p>`);
  }
}

function expectErrorPage(response: LightMyRequestResponse, status: number, message: string): void {
  const html = expectPage(response, status);
  expect(html).toContain(`<p class="error" role="alert">${message}</p>`);
  expect(html).not.toContain('action="/device/decision"');
}

/** Every `<li>` of the confirmation page's scope list. */
function listedScopes(html: string): string[] {
  return [...html.matchAll(/<li>([^<]*)<\/li>/g)].map((match) => match[1]!);
}

/** The hidden `user_code` of the confirmation form. */
function hiddenUserCode(html: string): string {
  const value = /<input type="hidden" name="user_code" value="([^"]+)">/.exec(html)?.[1];
  expect(value, 'the confirmation form carries the code').toBeDefined();
  return value!;
}

/** The confirmation page (RFC 8628 §5.4): who asks, the code to compare, the scopes, two buttons. */
function expectConfirmation(
  response: LightMyRequestResponse,
  expected: { clientName: string; userCode: string; scopes: string[] },
): string {
  const html = expectPage(response, 200);
  expect(html).toContain(`<h1>Sign in ${expected.clientName}?</h1>`);
  expect(html).toContain(`<strong class="code">${expected.userCode}</strong>`);
  expect(listedScopes(html)).toEqual(expected.scopes);
  expect(html).toContain('<form method="post" action="/device/decision">');
  expect(hiddenUserCode(html)).toBe(expected.userCode);
  expect(html).toContain('<button type="submit" name="decision" value="approve">');
  expect(html).toContain('<button type="submit" name="decision" value="deny">');
  return html;
}

/** A 303 to one of our own pages: its path and query. */
function locationOf(response: LightMyRequestResponse): string {
  expect(response.statusCode).toBe(303);
  const location = response.headers.location;
  expect(typeof location).toBe('string');
  return location as string;
}

/** One running auth-api (listening: real HTTP for the walkthrough) and the device grant's steps. */
class Harness {
  readonly clock: Clock;
  readonly db: DataSource;
  readonly cookieName: string;

  constructor(
    readonly app: NestFastifyApplication,
    readonly issuer: string,
  ) {
    this.clock = app.get(Clock);
    this.db = app.get(DataSource);
    this.cookieName = app.get<GatehouseConfig>(GATEHOUSE_CONFIG).session.cookieName;
  }

  /** The issuer's origin: what the browser sends with the device page's own forms. */
  get origin(): string {
    return new URL(this.issuer).origin;
  }

  /** Freezes the service clock at `moment` (epoch ms) until the next call or the end of the test. */
  at(moment: number): void {
    vi.spyOn(this.clock, 'now').mockReturnValue(new Date(moment));
  }

  async givenClient(options: ClientOptions = {}): Promise<TestClient> {
    const name = options.name ?? `TV app ${Math.random().toString(36).slice(2, 8)}`;
    const grantTypes = options.grantTypes ?? [DEVICE_GRANT, 'refresh_token'];
    const { client, clientSecret } = await this.app.get(ClientService).create({
      name,
      grantTypes,
      scopes: options.scopes ?? ['notes:read'],
      redirectUris: grantTypes.includes('authorization_code') ? [REDIRECT_URI] : [],
      public: !options.confidential,
      requireConsent: true,
    });
    return { id: client.id, name, secret: clientSecret };
  }

  authorizeDevice(
    fields: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> {
    return this.postForm('/oauth/device_authorization', fields, headers);
  }

  /** A pending device request of a public client (scope: the client's default unless given). */
  async givenDeviceRequest(client: TestClient, scope?: string): Promise<DeviceResponse> {
    const response = await this.authorizeDevice({
      client_id: client.id,
      ...(scope === undefined ? {} : { scope }),
    });
    expect(response.statusCode).toBe(200);
    return response.json<DeviceResponse>();
  }

  token(
    fields: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> {
    return this.postForm('/oauth/token', fields, headers);
  }

  /** A form-encoded POST to an OAuth endpoint. */
  private postForm(
    url: string,
    fields: Record<string, string>,
    headers: Record<string, string>,
  ): Promise<LightMyRequestResponse> {
    return this.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload: formEncoded(fields),
    });
  }

  /** The device's poll of the token endpoint. */
  poll(client: Pick<TestClient, 'id'>, deviceCode: string): Promise<LightMyRequestResponse> {
    return this.token({ grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: client.id });
  }

  /** The stored request behind a device code. */
  async row(deviceCode: string): Promise<{
    status: string;
    intervalSeconds: number;
    userId: string | null;
    tokenSessionId: string | null;
  } | null> {
    const rows = await this.db.query<
      {
        status: string;
        intervalSeconds: number;
        userId: string | null;
        tokenSessionId: string | null;
      }[]
    >(
      `SELECT status, interval_seconds AS "intervalSeconds", user_id AS "userId",
         token_session_id AS "tokenSessionId"
       FROM device_authorizations WHERE device_code_hash = $1`,
      [sha256(deviceCode)],
    );
    return rows[0] ?? null;
  }

  async tokenSessionsOf(clientId: string): Promise<number> {
    const [row] = await this.db.query<{ count: number }[]>(
      'SELECT count(*)::int AS count FROM sessions WHERE client_id = $1',
      [clientId],
    );
    return row!.count;
  }

  async deviceAudit(
    clientId: string,
  ): Promise<{ actor: string; action: string; ip: string; details: Record<string, unknown> }[]> {
    return this.db.query(
      `SELECT actor, action, host(ip) AS ip, details FROM audit_events
       WHERE subject = $1 AND action LIKE 'oauth.device_%' ORDER BY id`,
      [`client:${clientId}`],
    );
  }

  /** A browser signed in at the sign-in page, from an address of its own. */
  async givenBrowser(user?: TestUser): Promise<PageBrowser> {
    const browser = new PageBrowser(this);
    const signedIn = await browser.signIn(user ?? (await givenUser(this.app)), '');
    expect(locationOf(signedIn)).toBe('/device');
    return browser;
  }

  /** A device request approved on the device page by a fresh user. */
  async givenApproved(
    client: TestClient,
    scope?: string,
  ): Promise<{ request: DeviceResponse; browser: PageBrowser }> {
    const request = await this.givenDeviceRequest(client, scope);
    const browser = await this.givenBrowser();
    expectDecided(await browser.decide(request.user_code, 'approve'), 'approve');
    return { request, browser };
  }
}

/** The "Device connected" or "Request denied" page. */
function expectDecided(response: LightMyRequestResponse, decision: 'approve' | 'deny'): string {
  const html = expectPage(response, 200);
  expect(html).toContain(
    decision === 'approve' ? '<h1>Device connected</h1>' : '<h1>Request denied</h1>',
  );
  return html;
}

type FormHeaders = Record<string, string | undefined>;

/**
 * A browser driven through Fastify's inject: keeps the session cookie, sends the issuer's Origin with
 * its forms unless told otherwise, and comes from its own IP address.
 */
class PageBrowser {
  cookie: string | null = null;

  constructor(
    private readonly h: Harness,
    readonly ip = randomIp(),
  ) {}

  async signIn(user: TestUser, device?: string): Promise<LightMyRequestResponse> {
    const response = await this.post('/signin', {
      email: user.email,
      password: user.password,
      ...(device === undefined ? {} : { device }),
    });
    const prefix = `${this.h.cookieName}=`;
    const cookie = setCookies(response)
      .find((value) => value.startsWith(prefix))
      ?.split(';')[0];
    if (cookie) {
      this.cookie = cookie;
    }
    return response;
  }

  get(url: string): Promise<LightMyRequestResponse> {
    return this.h.app.inject({
      method: 'GET',
      url,
      remoteAddress: this.ip,
      headers: this.cookie ? { cookie: this.cookie } : {},
    });
  }

  post(
    url: string,
    form: Record<string, string>,
    headers: FormHeaders = { origin: this.h.origin },
  ): Promise<LightMyRequestResponse> {
    const defined = Object.fromEntries(
      Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
    return this.h.app.inject({
      method: 'POST',
      url,
      remoteAddress: this.ip,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...defined,
      },
      payload: formEncoded(form),
    });
  }

  /** The device page with `?user_code=` (what verification_uri_complete opens). */
  open(userCode: string): Promise<LightMyRequestResponse> {
    return this.get(`/device?${formEncoded({ user_code: userCode })}`);
  }

  /** Types a code into the entry form. */
  enter(userCode: string, headers?: FormHeaders): Promise<LightMyRequestResponse> {
    return this.post('/device', { user_code: userCode }, headers);
  }

  decide(
    userCode: string,
    decision: 'approve' | 'deny',
    headers?: FormHeaders,
  ): Promise<LightMyRequestResponse> {
    return this.post('/device/decision', { user_code: userCode, decision }, headers);
  }
}

/** The value of the hidden `device` input of the sign-in form. */
function hiddenDevice(html: string): string | undefined {
  return /<input type="hidden" name="device" value="([^"]*)">/.exec(html)?.[1];
}

/**
 * The device authorization grant (RFC 8628) end to end: the device authorization endpoint, the device
 * page (sign-in round trip, confirmation, approval and denial, CSRF, guess limits), the token endpoint's
 * polling answers, token sessions, housekeeping and client registration through admin-api.
 */
describe('device authorization grant (RFC 8628)', () => {
  let h: Harness;

  beforeAll(async () => {
    const { app, issuer } = await givenListeningAuthApi({
      DEVICE_CODE_INTERVAL_SECONDS: String(INTERVAL_SECONDS),
    });
    h = new Harness(app, issuer);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await h?.app.close();
  });

  describe('a public client, from the device to tokens, through the real pages over HTTP', () => {
    let client: TestClient;
    let user: TestUser;
    let browser: HttpBrowser;
    let request: DeviceResponse;
    let tokens: Tokens;
    let signedInBetween: [number, number];

    beforeAll(async () => {
      client = await h.givenClient({
        scopes: ['openid', 'email', 'notes:read'],
        grantTypes: [DEVICE_GRANT, 'refresh_token'],
      });
      user = await givenUser(h.app);
      browser = new HttpBrowser(h.issuer, h.cookieName);
    });

    async function poll(): Promise<Response> {
      return fetch(`${h.issuer}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: formEncoded({
          grant_type: DEVICE_GRANT,
          device_code: request.device_code,
          client_id: client.id,
        }),
      });
    }

    it('the device gets a device code, a user code, where to send the user, the lifetime and interval', async () => {
      const response = await fetch(`${h.issuer}/oauth/device_authorization`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: formEncoded({ client_id: client.id }),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      request = (await response.json()) as DeviceResponse;
      expect(request).toEqual({
        device_code: expect.stringMatching(DEVICE_CODE),
        user_code: expect.stringMatching(USER_CODE),
        verification_uri: `${h.issuer}/device`,
        verification_uri_complete: `${h.issuer}/device?user_code=${request.user_code}`,
        expires_in: TTL_SECONDS,
        interval: INTERVAL_SECONDS,
      });
    });

    it('polling before the user answers: 400 authorization_pending', async () => {
      const response = await poll();
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: 'authorization_pending',
        error_description: 'The user has not answered yet.',
      });
    });

    it('verification_uri_complete sends a signed-out browser to sign in, the code kept in the form', async () => {
      const toSignIn = await browser.get(request.verification_uri_complete);
      expect(toSignIn.status).toBe(303);
      expect(toSignIn.headers.get('location')).toBe(`/signin?device=${request.user_code}`);

      const signInPage = await browser.get(toSignIn.headers.get('location')!);
      expect(signInPage.status).toBe(200);
      expect(signInPage.headers.get('content-security-policy')).toBe(SIGN_IN_PAGE_CSP);
      const html = await signInPage.text();
      expect(html).toContain('<form method="post" action="/signin">');
      expect(hiddenDevice(html)).toBe(request.user_code.replace('-', ''));
    });

    it('signing in comes back to the device page with the code: a confirmation of client, code and every registered scope', async () => {
      const before = Math.floor(Date.now() / SECOND);
      const signedIn = await browser.post('/signin', {
        email: user.email,
        password: user.password,
        device: request.user_code.replace('-', ''),
      });
      signedInBetween = [before, Math.ceil(Date.now() / SECOND)];
      expect(signedIn.status).toBe(303);
      expect(signedIn.headers.get('location')).toBe(`/device?user_code=${request.user_code}`);

      const page = await browser.get(signedIn.headers.get('location')!);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.headers.get('content-security-policy')).toBe(PAGE_CSP);
      expect(page.headers.get('cache-control')).toBe('no-store');
      const html = await page.text();
      expect(html).toContain(`<title>Sign in ${client.name}? · Gatehouse</title>`);
      expect(html).toContain(`<h1>Sign in ${client.name}?</h1>`);
      expect(html).toContain(`<strong class="code">${request.user_code}</strong>`);
      expect(listedScopes(html)).toEqual(['openid', 'email', 'notes:read']);
      expect(hiddenUserCode(html)).toBe(request.user_code);
      expect(html).toContain('value="approve"');
      expect(html).toContain('value="deny"');
      expect(html).not.toMatch(/<script/i);
    });

    it('allowing it shows "Device connected" and audits oauth.device_approved', async () => {
      const decided = await browser.post('/device/decision', {
        user_code: request.user_code,
        decision: 'approve',
      });
      expect(decided.status).toBe(200);
      const html = await decided.text();
      expect(html).toContain('<h1>Device connected</h1>');
      expect(html).toContain(`<strong>${client.name}</strong> is now signed in on your device.`);
      expect(await h.deviceAudit(client.id)).toEqual([
        {
          actor: `user:${user.id}`,
          action: 'oauth.device_approved',
          ip: '127.0.0.1',
          details: {
            deviceAuthorizationId: expect.any(String),
            scopes: ['openid', 'email', 'notes:read'],
          },
        },
      ]);
    });

    it('the next poll answers tokens of the approving user, with a refresh token and a signed ID token', async () => {
      const response = await poll();
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      tokens = (await response.json()) as Tokens;
      expect(tokens).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: expect.any(Number),
        refresh_token: expect.any(String),
        scope: 'openid email notes:read',
        id_token: expect.any(String),
      });
      const access = decodeJwt(tokens.access_token);
      expect(access).toMatchObject({ sub: user.id, client_id: client.id, iss: h.issuer });

      const jwks = createRemoteJWKSet(new URL(`${h.issuer}/.well-known/jwks.json`));
      const { payload } = await jwtVerify(tokens.id_token!, jwks, {
        issuer: h.issuer,
        audience: client.id,
      });
      expect(payload).toMatchObject({
        sub: user.id,
        sid: access['sid'],
        email: user.email,
        email_verified: false,
        at_hash: expect.any(String),
      });
      expect(payload['nonce']).toBeUndefined();
      // auth_time is when the user signed in on the device page's browser, not when the device polled.
      expect(payload['auth_time']).toBeGreaterThanOrEqual(signedInBetween[0]);
      expect(payload['auth_time']).toBeLessThanOrEqual(signedInBetween[1]);
    });

    it('the token session is a sessions row of the client; the token itself cannot manage the account', async () => {
      const sid = decodeJwt(tokens.access_token)['sid'];
      const rows = await h.db.query<{ kind: string; client_id: string }[]>(
        'SELECT kind, client_id FROM sessions WHERE id = $1 AND revoked_at IS NULL',
        [sid],
      );
      expect(rows).toEqual([{ kind: 'token', client_id: client.id }]);
      // A third-party token is never granted `account`: the /me routes are not its to call.
      const response = await fetch(`${h.issuer}/me/sessions`, {
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      expect(response.status).toBe(403);
      expect(response.headers.get('www-authenticate')).toBe(
        'Bearer realm="gatehouse", error="insufficient_scope", scope="account"',
      );
    });

    it('the refresh token rotates within the same session', async () => {
      const response = await h.token({
        grant_type: 'refresh_token',
        client_id: client.id,
        refresh_token: tokens.refresh_token!,
      });
      expect(response.statusCode).toBe(200);
      const refreshed = response.json<Tokens>();
      expect(refreshed.refresh_token).toEqual(expect.any(String));
      expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
      expect(decodeJwt(refreshed.access_token)['sid']).toBe(decodeJwt(tokens.access_token)['sid']);
    });

    it('a second poll with the redeemed code is invalid_grant, and no second session exists', async () => {
      const response = await poll();
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: 'invalid_grant',
        error_description: 'The device code has already been used.',
      });
      expect(await h.tokenSessionsOf(client.id)).toBe(1);
      expect(await h.row(request.device_code)).toMatchObject({
        status: 'redeemed',
        userId: user.id,
        tokenSessionId: decodeJwt(tokens.access_token)['sid'],
      });
    });
  });

  it('openid-client as the device: discovery, device authorization, polling until the user allows', async () => {
    const client = await h.givenClient({ scopes: ['openid', 'notes:read'] });
    const config = await oidc.discovery(
      new URL(h.issuer),
      client.id,
      undefined,
      oidc.None(),
      INSECURE,
    );
    expect(config.serverMetadata()).toMatchObject({
      device_authorization_endpoint: `${h.issuer}/oauth/device_authorization`,
      grant_types_supported: expect.arrayContaining([DEVICE_GRANT]),
    });
    const started = await oidc.initiateDeviceAuthorization(config, { scope: 'openid notes:read' });
    expect(started.user_code).toMatch(USER_CODE);
    const polling = oidc.pollDeviceAuthorizationGrant(config, started);

    const user = await givenUser(h.app);
    const browser = await h.givenBrowser(user);
    expectConfirmation(await browser.open(started.user_code), {
      clientName: client.name,
      userCode: started.user_code,
      scopes: ['openid', 'notes:read'],
    });
    expectDecided(await browser.decide(started.user_code, 'approve'), 'approve');

    const tokens = await polling;
    expect(tokens.scope).toBe('openid notes:read');
    expect(tokens.claims()).toMatchObject({ sub: user.id, aud: client.id, iss: h.issuer });
    expect(decodeJwt(tokens.access_token)).toMatchObject({ sub: user.id, client_id: client.id });
  });

  describe('device authorization endpoint', () => {
    it('takes JSON too, and a requested scope narrows what the page shows and the tokens carry', async () => {
      const client = await h.givenClient({ scopes: ['openid', 'notes:read', 'notes:write'] });
      const response = await h.app.inject({
        method: 'POST',
        url: '/oauth/device_authorization',
        payload: { client_id: client.id, scope: 'notes:read' },
      });
      expect(response.statusCode).toBe(200);
      const request = response.json<DeviceResponse>();
      expect(request.user_code).toMatch(USER_CODE);

      const browser = await h.givenBrowser();
      expectConfirmation(await browser.open(request.user_code), {
        clientName: client.name,
        userCode: request.user_code,
        scopes: ['notes:read'],
      });
      expectDecided(await browser.decide(request.user_code, 'approve'), 'approve');
      const tokens = await h.poll(client, request.device_code);
      expect(tokens.statusCode).toBe(200);
      expect(tokens.json<Tokens>().scope).toBe('notes:read');
      expect(tokens.json<Tokens>().id_token).toBeUndefined();
    });

    it('a client without the refresh_token grant gets only an access token, its session still recorded', async () => {
      const client = await h.givenClient({ grantTypes: [DEVICE_GRANT] });
      const { request } = await h.givenApproved(client);
      const response = await h.poll(client, request.device_code);
      expect(response.statusCode).toBe(200);
      const tokens = response.json<Tokens>();
      expect(tokens.refresh_token).toBeUndefined();
      expect(tokens.id_token).toBeUndefined();
      expect(tokens.scope).toBe('notes:read');
      const rows = await h.db.query<{ kind: string; client_id: string }[]>(
        'SELECT kind, client_id FROM sessions WHERE id = $1 AND revoked_at IS NULL',
        [decodeJwt(tokens.access_token)['sid']],
      );
      expect(rows).toEqual([{ kind: 'token', client_id: client.id }]);
    });

    it('refuses a client registered without the device grant: 400 unauthorized_client, nothing stored', async () => {
      const client = await h.givenClient({ grantTypes: ['authorization_code', 'refresh_token'] });
      expectOAuthError(await h.authorizeDevice({ client_id: client.id }), 'unauthorized_client', {
        description: 'The client may not use the device authorization grant.',
      });
      const [row] = await h.db.query<{ count: number }[]>(
        'SELECT count(*)::int AS count FROM device_authorizations WHERE client_id = $1',
        [client.id],
      );
      expect(row!.count).toBe(0);
    });

    it('refuses a scope the client did not register: 400 invalid_scope', async () => {
      const client = await h.givenClient({ scopes: ['notes:read'] });
      expectOAuthError(
        await h.authorizeDevice({ client_id: client.id, scope: 'notes:read notes:admin' }),
        'invalid_scope',
        { description: 'The requested scope is not registered for this client.' },
      );
    });

    type Attempt = { fields: Record<string, string>; headers?: Record<string, string> };
    const confidential = () => h.givenClient({ confidential: true });
    it.each<[string, () => Promise<Attempt>]>([
      ['an unknown client_id', () => Promise.resolve({ fields: { client_id: 'no-such-client' } })],
      [
        'a confidential client without its secret',
        async () => ({ fields: { client_id: (await confidential()).id } }),
      ],
      [
        'a confidential client with a wrong secret (client_secret_basic)',
        async () => ({
          fields: {},
          headers: { authorization: basic((await confidential()).id, 'wrong-secret') },
        }),
      ],
      [
        'a confidential client with a wrong secret (client_secret_post)',
        async () => ({
          fields: { client_id: (await confidential()).id, client_secret: 'wrong-secret' },
        }),
      ],
    ])('refuses %s: 401 invalid_client', async (_, attempt) => {
      const { fields, headers } = await attempt();
      expectOAuthError(await h.authorizeDevice(fields, headers), 'invalid_client', {
        status: 401,
      });
    });

    it('a confidential client authenticates with client_secret_basic or client_secret_post, and polls the same way', async () => {
      const client = await h.givenClient({ confidential: true });
      const viaBasic = await h.authorizeDevice(
        {},
        { authorization: basic(client.id, client.secret!) },
      );
      expect(viaBasic.statusCode).toBe(200);
      const viaPost = await h.authorizeDevice({
        client_id: client.id,
        client_secret: client.secret!,
      });
      expect(viaPost.statusCode).toBe(200);
      const { device_code } = viaPost.json<DeviceResponse>();

      expectOAuthError(await h.poll(client, device_code), 'invalid_client', { status: 401 });
      expectOAuthError(
        await h.token(
          { grant_type: DEVICE_GRANT, device_code },
          { authorization: basic(client.id, client.secret!) },
        ),
        'authorization_pending',
      );
    });

    it('draws a fresh device code and user code for every request, user codes only from the 20 consonants', async () => {
      const client = await h.givenClient();
      const requests: DeviceResponse[] = [];
      for (let i = 0; i < 6; i += 1) {
        requests.push(await h.givenDeviceRequest(client));
      }
      for (const { user_code, device_code } of requests) {
        expect(user_code).toMatch(USER_CODE);
        expect(device_code).toMatch(DEVICE_CODE);
      }
      expect(new Set(requests.map(({ user_code }) => user_code)).size).toBe(6);
      expect(new Set(requests.map(({ device_code }) => device_code)).size).toBe(6);
    });

    it('defaults to a 600 s lifetime and a 5 s interval; refuses an interval under 1 s at startup', async () => {
      expect((await testConfig()).tokens).toMatchObject({
        deviceCodeTtlSeconds: TTL_SECONDS,
        deviceCodeIntervalSeconds: 5,
      });
      await expect(testConfig({ DEVICE_CODE_INTERVAL_SECONDS: '0' })).rejects.toThrow(ConfigError);
    });

    it('the first-party client may use the device grant', async () => {
      const response = await h.authorizeDevice({ client_id: FIRST_PARTY });
      expect(response.statusCode).toBe(200);
      expect(response.json<DeviceResponse>().user_code).toMatch(USER_CODE);
    });
  });

  describe('polling the token endpoint', () => {
    it('slow_down when a poll comes sooner than 80 % of the interval: +5 s each time, named in the description', async () => {
      const client = await h.givenClient();
      const request = await h.givenDeviceRequest(client);
      const start = Date.now();

      h.at(start);
      expectOAuthError(await h.poll(client, request.device_code), 'authorization_pending');
      h.at(start + 0.5 * SECOND);
      expectOAuthError(await h.poll(client, request.device_code), 'slow_down', {
        description: `Polling too fast: wait ${INTERVAL_SECONDS + 5} seconds between requests.`,
      });
      expect((await h.row(request.device_code))?.intervalSeconds).toBe(INTERVAL_SECONDS + 5);

      // Waiting the old interval is not enough any more: 1 s < 80 % of 6 s.
      h.at(start + 1.5 * SECOND);
      expectOAuthError(await h.poll(client, request.device_code), 'slow_down', {
        description: `Polling too fast: wait ${INTERVAL_SECONDS + 10} seconds between requests.`,
      });
      expect((await h.row(request.device_code))?.intervalSeconds).toBe(INTERVAL_SECONDS + 10);

      // Respecting the new interval (11 s, 80 % of it at least) is pending again, the interval kept.
      h.at(start + 1.5 * SECOND + 9 * SECOND);
      expectOAuthError(await h.poll(client, request.device_code), 'authorization_pending');
      expect((await h.row(request.device_code))?.intervalSeconds).toBe(INTERVAL_SECONDS + 10);
    });

    it('a poll a little early but past 80 % of the interval is not slowed down (network jitter)', async () => {
      const client = await h.givenClient();
      const request = await h.givenDeviceRequest(client);
      const start = Date.now();
      for (const at of [0, 0.85, 1.7, 2.55]) {
        h.at(start + at * SECOND);
        expectOAuthError(await h.poll(client, request.device_code), 'authorization_pending');
      }
      expect((await h.row(request.device_code))?.intervalSeconds).toBe(INTERVAL_SECONDS);
    });

    it('expired_token once the lifetime is over (pending one second before), and the page no longer knows the code', async () => {
      const client = await h.givenClient();
      const request = await h.givenDeviceRequest(client);
      const browser = await h.givenBrowser();
      const start = Date.now();

      h.at(start + (TTL_SECONDS - 1) * SECOND);
      expectOAuthError(await h.poll(client, request.device_code), 'authorization_pending');

      h.at(start + (TTL_SECONDS + 1) * SECOND);
      expectOAuthError(await h.poll(client, request.device_code), 'expired_token', {
        description: 'The device code has expired. Start again.',
      });
      expectEntryPage(await browser.open(request.user_code), 400, UNKNOWN_CODE);
      expectEntryPage(await browser.decide(request.user_code, 'approve'), 400, UNKNOWN_CODE);
      expect((await h.row(request.device_code))?.status).toBe('pending');
      expect(await h.deviceAudit(client.id)).toEqual([]);
    });

    it('an approved request not polled before its expiry is expired_token, and issues nothing', async () => {
      const client = await h.givenClient();
      const { request } = await h.givenApproved(client);
      h.at(Date.now() + (TTL_SECONDS + 1) * SECOND);
      expectOAuthError(await h.poll(client, request.device_code), 'expired_token');
      expect(await h.tokenSessionsOf(client.id)).toBe(0);
      expect((await h.row(request.device_code))?.status).toBe('approved');
    });

    it('access_denied once the user denies, on every later poll; "Request denied" page, oauth.device_denied audited', async () => {
      const client = await h.givenClient();
      const request = await h.givenDeviceRequest(client);
      const user = await givenUser(h.app);
      const browser = await h.givenBrowser(user);

      expectConfirmation(await browser.open(request.user_code), {
        clientName: client.name,
        userCode: request.user_code,
        scopes: ['notes:read'],
      });
      const denied = expectDecided(await browser.decide(request.user_code, 'deny'), 'deny');
      expect(denied).toContain('The device was not signed in.');

      for (let poll = 0; poll < 2; poll += 1) {
        expectOAuthError(await h.poll(client, request.device_code), 'access_denied', {
          description: 'The user denied the request.',
        });
      }
      expect(await h.tokenSessionsOf(client.id)).toBe(0);
      expect(await h.deviceAudit(client.id)).toEqual([
        {
          actor: `user:${user.id}`,
          action: 'oauth.device_denied',
          ip: browser.ip,
          details: { deviceAuthorizationId: expect.any(String), scopes: ['notes:read'] },
        },
      ]);
    });

    it.each([
      ['an unknown, well-formed device code', () => randomBytes(32).toString('base64url')],
      ['a malformed device code', () => 'not a device code'],
    ])('answers %s with invalid_grant', async (_, deviceCode) => {
      const client = await h.givenClient();
      expectOAuthError(await h.poll(client, deviceCode()), 'invalid_grant', {
        description: 'The device code is invalid.',
      });
    });

    it("answers another client's device code with invalid_grant; its own client still gets the tokens", async () => {
      const owner = await h.givenClient();
      const other = await h.givenClient();
      const { request } = await h.givenApproved(owner);

      expectOAuthError(await h.poll(other, request.device_code), 'invalid_grant', {
        description: 'The device code is invalid.',
      });
      expect(await h.tokenSessionsOf(other.id)).toBe(0);
      expect((await h.poll(owner, request.device_code)).statusCode).toBe(200);
    });

    it("another client's poll with the code leaves the request alone: no slow_down for its own client", async () => {
      const owner = await h.givenClient();
      const other = await h.givenClient();
      const request = await h.givenDeviceRequest(owner);
      const start = Date.now();

      h.at(start);
      expectOAuthError(await h.poll(other, request.device_code), 'invalid_grant');
      h.at(start + 0.1 * SECOND);
      expectOAuthError(await h.poll(owner, request.device_code), 'authorization_pending');
      expect((await h.row(request.device_code))?.intervalSeconds).toBe(INTERVAL_SECONDS);
    });

    it('refuses the device code grant to a client registered without it: unauthorized_client', async () => {
      const client = await h.givenClient({ grantTypes: ['authorization_code', 'refresh_token'] });
      expectOAuthError(
        await h.poll(client, randomBytes(32).toString('base64url')),
        'unauthorized_client',
      );
    });

    it.each([
      ['without device_code', {}],
      ['with an empty device_code', { device_code: '' }],
    ])('refuses a poll %s: invalid_request', async (_, fields) => {
      const client = await h.givenClient();
      expectOAuthError(
        await h.token({ grant_type: DEVICE_GRANT, client_id: client.id, ...fields }),
        'invalid_request',
        { description: 'The parameter device_code is required.' },
      );
    });

    it('two polls racing after approval: exactly one gets tokens, one token session', async () => {
      const client = await h.givenClient();
      const { request } = await h.givenApproved(client);
      const answers = await Promise.all([
        h.poll(client, request.device_code),
        h.poll(client, request.device_code),
      ]);
      expect(answers.map(({ statusCode }) => statusCode).sort()).toEqual([200, 400]);
      expect(answers.find(({ statusCode }) => statusCode === 400)!.json()).toMatchObject({
        error: 'invalid_grant',
      });
      expect(await h.tokenSessionsOf(client.id)).toBe(1);
    });

    it('a user disabled between approval and the poll gets no tokens: invalid_grant', async () => {
      const client = await h.givenClient();
      const request = await h.givenDeviceRequest(client);
      const user = await givenUser(h.app);
      const browser = await h.givenBrowser(user);
      expectDecided(await browser.decide(request.user_code, 'approve'), 'approve');
      await h.db.query('UPDATE users SET disabled_at = now() WHERE id = $1', [user.id]);

      expectOAuthError(await h.poll(client, request.device_code), 'invalid_grant');
      expect(await h.tokenSessionsOf(client.id)).toBe(0);
    });
  });

  describe('the device page', () => {
    it.each([
      ['/device', '/signin?device='],
      ['/device?user_code=bcdf%20ghjk', '/signin?device=BCDF-GHJK'],
      ['/device?user_code=BCDFGHJK', '/signin?device=BCDF-GHJK'],
      ['/device?user_code=AEIO-UAEI', '/signin?device='],
      ['/device?user_code=%3Cscript%3E', '/signin?device='],
    ])('signed out, GET %s redirects to %s', async (url, location) => {
      const browser = new PageBrowser(h);
      expect(locationOf(await browser.get(url))).toBe(location);
    });

    it('signed out, POSTs of the entry and decision forms redirect to sign-in with the code', async () => {
      const client = await h.givenClient();
      const request = await h.givenDeviceRequest(client);
      const browser = new PageBrowser(h);
      const expected = `/signin?device=${request.user_code}`;
      expect(locationOf(await browser.enter(request.user_code.toLowerCase()))).toBe(expected);
      expect(locationOf(await browser.decide(request.user_code, 'approve'))).toBe(expected);
      expect((await h.row(request.device_code))?.status).toBe('pending');
    });

    it('signing in from the device page without a code comes back to the entry form', async () => {
      const browser = new PageBrowser(h);
      const signInPage = await browser.get('/signin?device=');
      expectPage(signInPage, 200);
      expect(hiddenDevice(signInPage.body)).toBe('');

      expect(locationOf(await browser.signIn(await givenUser(h.app), ''))).toBe('/device');
      expectEntryPage(await browser.get('/device'), 200, null);
    });

    it.each(['https://evil.example/steal', '//evil.example', '/admin'])(
      "the sign-in form's device field %s can only lead back to /device",
      async (device) => {
        const browser = new PageBrowser(h);
        expect(locationOf(await browser.signIn(await givenUser(h.app), device))).toBe('/device');
      },
    );

    it('a wrong password re-shows the sign-in form, the code still in it; the right one goes on', async () => {
      const client = await h.givenClient();
      const request = await h.givenDeviceRequest(client);
      const user = await givenUser(h.app);
      const browser = new PageBrowser(h);
      const device = request.user_code.replace('-', '');

      const wrong = await browser.signIn({ ...user, password: 'not the password at all' }, device);
      expectPage(wrong, 401);
      expect(wrong.body).toContain('The email or password is incorrect.');
      expect(hiddenDevice(wrong.body)).toBe(device);
      expect(browser.cookie).toBeNull();

      expect(locationOf(await browser.signIn(user, hiddenDevice(wrong.body)))).toBe(
        `/device?user_code=${request.user_code}`,
      );
    });

    it.each([
      ['lower case', (code: string) => code.toLowerCase()],
      ['without the dash', (code: string) => code.replace('-', '')],
      ['with spaces', (code: string) => ` ${code.slice(0, 2)} ${code.slice(2).replace('-', ' ')} `],
      ['with dashes elsewhere', (code: string) => code.replace('-', '').split('').join('-')],
    ])('a code typed %s finds the request, shown formatted', async (_, typed) => {
      const client = await h.givenClient();
      const request = await h.givenDeviceRequest(client);
      const browser = await h.givenBrowser();
      const expected = {
        clientName: client.name,
        userCode: request.user_code,
        scopes: ['notes:read'],
      };
      expectConfirmation(await browser.enter(typed(request.user_code)), expected);
      expectConfirmation(await browser.open(typed(request.user_code)), expected);
      expectDecided(await browser.decide(typed(request.user_code), 'approve'), 'approve');
      expect((await h.poll(client, request.device_code)).statusCode).toBe(200);
    });

    it('an unknown code: the entry page again, 400, with the error', async () => {
      const browser = await h.givenBrowser();
      expectEntryPage(await browser.enter(randomUserCode()), 400, UNKNOWN_CODE);
      expectEntryPage(await browser.open(randomUserCode()), 400, UNKNOWN_CODE);
      expectEntryPage(await browser.decide(randomUserCode(), 'approve'), 400, UNKNOWN_CODE);
    });

    it('a code already decided is not valid any more: deciding twice is a 400 and changes nothing', async () => {
      const client = await h.givenClient();
      const request = await h.givenDeviceRequest(client);
      const browser = await h.givenBrowser();
      expectDecided(await browser.decide(request.user_code, 'approve'), 'approve');

      expectEntryPage(await browser.decide(request.user_code, 'deny'), 400, UNKNOWN_CODE);
      expectEntryPage(await browser.decide(request.user_code, 'approve'), 400, UNKNOWN_CODE);
      expectEntryPage(await browser.open(request.user_code), 400, UNKNOWN_CODE);
      expect((await h.row(request.device_code))?.status).toBe('approved');
      expect((await h.deviceAudit(client.id)).map(({ action }) => action)).toEqual([
        'oauth.device_approved',
      ]);
      expect((await h.poll(client, request.device_code)).statusCode).toBe(200);
    });

    it.each([
      ['no Origin nor Referer', {}],
      ['a foreign Origin', { origin: FOREIGN_ORIGIN }],
      ['a foreign Referer', { referer: `${FOREIGN_ORIGIN}/device` }],
      ['a trusted API origin that is not the issuer', { origin: TRUSTED_ORIGIN }],
    ])('refuses the entry form with %s: 403', async (_, headers) => {
      const client = await h.givenClient();
      const request = await h.givenDeviceRequest(client);
      const browser = await h.givenBrowser();
      expectErrorPage(await browser.enter(request.user_code, headers), 403, NOT_OUR_FORM);
    });

    it('accepts the entry form with the issuer as Referer when there is no Origin', async () => {
      const client = await h.givenClient();
      const request = await h.givenDeviceRequest(client);
      const browser = await h.givenBrowser();
      expectConfirmation(
        await browser.enter(request.user_code, { referer: `${h.issuer}/device` }),
        { clientName: client.name, userCode: request.user_code, scopes: ['notes:read'] },
      );
    });

    it.each([
      ['no Origin nor Referer', {}],
      ['a foreign Origin', { origin: FOREIGN_ORIGIN }],
      ['a foreign Referer', { referer: `${FOREIGN_ORIGIN}/` }],
    ])('refuses a decision with %s: 403, the request still pending', async (_, headers) => {
      const client = await h.givenClient();
      const request = await h.givenDeviceRequest(client);
      const browser = await h.givenBrowser();
      expectErrorPage(
        await browser.decide(request.user_code, 'approve', headers),
        403,
        NOT_OUR_FORM,
      );
      expect((await h.row(request.device_code))?.status).toBe('pending');
      expect(await h.deviceAudit(client.id)).toEqual([]);
      expectOAuthError(await h.poll(client, request.device_code), 'authorization_pending');
    });

    it('a cross-site decision is refused even when signed out (403 before any redirect)', async () => {
      const browser = new PageBrowser(h);
      expectErrorPage(
        await browser.decide(randomUserCode(), 'approve', { origin: FOREIGN_ORIGIN }),
        403,
        NOT_OUR_FORM,
      );
    });

    it('escapes a client name with markup on the confirmation and result pages', async () => {
      const name = `<script>alert("pwned")</script> & 'TV'`;
      const escaped = '&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; &#39;TV&#39;';
      const client = await h.givenClient({ name });
      const request = await h.givenDeviceRequest(client);
      const browser = await h.givenBrowser();

      const confirmation = expectConfirmation(await browser.open(request.user_code), {
        clientName: escaped,
        userCode: request.user_code,
        scopes: ['notes:read'],
      });
      expect(confirmation).toContain(`<title>Sign in ${escaped}? · Gatehouse</title>`);
      expect(confirmation).toContain(`<strong>${escaped}</strong> wants to sign in`);
      expect(confirmation).not.toContain(name);

      const connected = expectDecided(
        await browser.decide(request.user_code, 'approve'),
        'approve',
      );
      expect(connected).toContain(`<strong>${escaped}</strong> is now signed in`);
      expect(connected).not.toContain(name);
    });

    it('the entry page is a script-free form under a CSP that forbids everything but our own styles and forms', async () => {
      const browser = await h.givenBrowser();
      const response = await browser.get('/device');
      expectEntryPage(response, 200, null);
      const csp = (response.headers['content-security-policy'] as string).split('; ');
      expect(csp).toEqual(
        expect.arrayContaining([
          "default-src 'none'",
          "form-action 'self'",
          "frame-ancestors 'none'",
        ]),
      );
      expect(csp.join('; ')).not.toContain('script-src');
      expect(response.body).toContain('autocomplete="off"');
    });
  });

  describe('guessing user codes', () => {
    it('10 wrong codes per user, then 429 "Too many wrong codes" with retry-after, even for a right code', async () => {
      const client = await h.givenClient();
      const request = await h.givenDeviceRequest(client);
      const browser = await h.givenBrowser();

      for (let guess = 0; guess < 10; guess += 1) {
        const response =
          guess % 2 === 0
            ? await browser.enter(randomUserCode())
            : await browser.open(randomUserCode());
        expectEntryPage(response, 400, UNKNOWN_CODE);
      }
      const limited = await browser.enter(randomUserCode());
      expectEntryPage(limited, 429, TOO_MANY);
      const retryAfter = Number(limited.headers['retry-after']);
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(900);

      expectEntryPage(await browser.open(request.user_code), 429, TOO_MANY);
      expectEntryPage(await browser.decide(request.user_code, 'approve'), 429, TOO_MANY);
      expect((await h.row(request.device_code))?.status).toBe('pending');

      // Per user: another user on the same address still has guesses left.
      const neighbour = await h.givenBrowser();
      const sameIp = new PageBrowser(h, browser.ip);
      sameIp.cookie = neighbour.cookie;
      expectConfirmation(await sameIp.open(request.user_code), {
        clientName: client.name,
        userCode: request.user_code,
        scopes: ['notes:read'],
      });
    });

    it('a right code gives its point back: lookups of a real request never use up the guesses', async () => {
      const client = await h.givenClient();
      const request = await h.givenDeviceRequest(client);
      const browser = await h.givenBrowser();
      const expected = {
        clientName: client.name,
        userCode: request.user_code,
        scopes: ['notes:read'],
      };

      for (let guess = 0; guess < 9; guess += 1) {
        expectEntryPage(await browser.enter(randomUserCode()), 400, UNKNOWN_CODE);
      }
      for (let look = 0; look < 5; look += 1) {
        expectConfirmation(await browser.open(request.user_code), expected);
      }
      expectEntryPage(await browser.enter(randomUserCode()), 400, UNKNOWN_CODE);
      expectEntryPage(await browser.enter(randomUserCode()), 429, TOO_MANY);
    });

    it('malformed codes cost nothing: the error every time, never a 429, the 10 guesses left intact', async () => {
      const client = await h.givenClient();
      const request = await h.givenDeviceRequest(client);
      const browser = await h.givenBrowser();
      const malformed = [
        'AEIO-UAEI',
        'BCDF-GHJ',
        'BCDF-GHJKL',
        '1234-5678',
        'BCDF_GHJK',
        '',
        'B'.repeat(40),
        '<script>alert(1)</script>',
      ];
      for (let round = 0; round < 2; round += 1) {
        for (const code of malformed) {
          expectEntryPage(await browser.enter(code), 400, UNKNOWN_CODE);
        }
      }
      expectConfirmation(await browser.open(request.user_code), {
        clientName: client.name,
        userCode: request.user_code,
        scopes: ['notes:read'],
      });
      for (let guess = 0; guess < 10; guess += 1) {
        expectEntryPage(await browser.enter(randomUserCode()), 400, UNKNOWN_CODE);
      }
      expectEntryPage(await browser.enter(randomUserCode()), 429, TOO_MANY);
    });

    it('30 wrong codes per IP address, whichever users type them', async () => {
      const client = await h.givenClient();
      const request = await h.givenDeviceRequest(client);
      const ip = randomIp();
      for (let user = 0; user < 3; user += 1) {
        const browser = new PageBrowser(h, ip);
        browser.cookie = (await h.givenBrowser()).cookie;
        for (let guess = 0; guess < 10; guess += 1) {
          expectEntryPage(await browser.enter(randomUserCode()), 400, UNKNOWN_CODE);
        }
      }
      const fourth = await h.givenBrowser();
      const sameIp = new PageBrowser(h, ip);
      sameIp.cookie = fourth.cookie;
      expectEntryPage(await sameIp.open(request.user_code), 429, TOO_MANY);
      // The same user from elsewhere is not limited.
      expectConfirmation(await fourth.open(request.user_code), {
        clientName: client.name,
        userCode: request.user_code,
        scopes: ['notes:read'],
      });
    });
  });

  describe('housekeeping', () => {
    it('purge deletes device requests past their expiry, whatever their status, and counts them as grants', async () => {
      const client = await h.givenClient();
      const pending = await h.givenDeviceRequest(client);
      const { request: approved } = await h.givenApproved(client);
      const denied = await h.givenDeviceRequest(client);
      const browser = await h.givenBrowser();
      expectDecided(await browser.decide(denied.user_code, 'deny'), 'deny');

      h.at(Date.now() + (TTL_SECONDS + 1) * SECOND);
      const live = await h.givenDeviceRequest(client);
      const result = await h.app.get(SessionHousekeeping).purge();

      expect(result.grants).toBeGreaterThanOrEqual(3);
      for (const gone of [pending, approved, denied]) {
        expect(await h.row(gone.device_code)).toBeNull();
      }
      expect(await h.row(live.device_code)).toMatchObject({ status: 'pending' });
      expectOAuthError(await h.poll(client, pending.device_code), 'invalid_grant');
    });
  });

  describe('admin-api', () => {
    let admin: NestFastifyApplication;
    let cookie: string;

    beforeAll(async () => {
      admin = await givenAdminApi({ ISSUER: h.issuer });
      ({ cookie } = await givenOperatorSession(h.app));
    });
    afterAll(async () => {
      await admin?.close();
    });

    it('registers a client with the device grant (no redirect URI needed), which can then start it', async () => {
      const created = await admin.inject({
        method: 'POST',
        url: '/admin/clients',
        headers: { cookie, origin: TRUSTED_ORIGIN },
        payload: {
          name: 'Living-room TV',
          grantTypes: [DEVICE_GRANT, 'refresh_token'],
          scopes: ['notes:read'],
          public: true,
        },
      });
      expect(created.statusCode).toBe(201);
      const body = created.json<{
        clientId: string;
        clientSecret: string | null;
        grantTypes: string[];
      }>();
      expect(body).toMatchObject({
        clientSecret: null,
        grantTypes: [DEVICE_GRANT, 'refresh_token'],
      });

      const shown = await admin.inject({
        method: 'GET',
        url: `/admin/clients/${body.clientId}`,
        headers: { cookie, origin: TRUSTED_ORIGIN },
      });
      expect(shown.json()).toMatchObject({ grantTypes: [DEVICE_GRANT, 'refresh_token'] });

      const request = await h.givenDeviceRequest({ id: body.clientId, name: '', secret: null });
      const browser = await h.givenBrowser();
      expectConfirmation(await browser.open(request.user_code), {
        clientName: 'Living-room TV',
        userCode: request.user_code,
        scopes: ['notes:read'],
      });
    });

    it('still refuses an unknown grant type', async () => {
      const response = await admin.inject({
        method: 'POST',
        url: '/admin/clients',
        headers: { cookie, origin: TRUSTED_ORIGIN },
        payload: { name: 'bad', grantTypes: ['urn:ietf:params:oauth:grant-type:jwt-bearer'] },
      });
      expect(response.statusCode).toBe(400);
    });
  });
});

describe('device authorization requests per IP', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi();
  });
  afterAll(() => app.close());

  it('allows 60 per client and IP in 15 minutes, then 429 rate_limited with Retry-After; other IPs go on', async () => {
    const { client } = await app.get(ClientService).create({
      name: 'Busy TV',
      grantTypes: ['urn:ietf:params:oauth:grant-type:device_code'],
      public: true,
    });
    const request = (remoteAddress: string) =>
      app.inject({
        method: 'POST',
        url: '/oauth/device_authorization',
        remoteAddress,
        payload: { client_id: client.id },
      });
    const ip = `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
    for (let n = 1; n <= 60; n += 1) {
      expect((await request(ip)).statusCode, `request ${n}`).toBe(200);
    }
    const refused = await request(ip);
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toEqual({
      error: 'rate_limited',
      error_description: 'Too many attempts. Retry later.',
    });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect((await request(`${ip.slice(0, ip.lastIndexOf('.'))}.255`)).statusCode).toBe(200);
  });
});
