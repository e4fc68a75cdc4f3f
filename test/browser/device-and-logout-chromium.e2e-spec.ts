import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ClientService } from '@gatehouse/identity';
import { decodeJwt } from 'jose';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { COOKIE_NAME, givenUser, type TestUser } from '../support/http.js';
import { givenListeningAuthApi } from '../support/test-app.js';
import {
  browserTestsEnabled,
  givenRedirectTarget,
  launchChromium,
  type RedirectTarget,
  submitForm,
} from './chromium.js';

const DEVICE_CLIENT_NAME = 'Chromium TV';
const LOGOUT_CLIENT_NAME = 'Chromium Logout App';
const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** What the device shows: eight consonants, grouped by four. */
const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;
/** Long enough for a slow CI machine, short enough that a broken flow fails well within the test. */
const STEP_TIMEOUT_MS = 10_000;

interface OAuthAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** A device that started RFC 8628's flow, and what it keeps to poll politely. */
interface Device {
  readonly deviceCode: string;
  readonly userCode: string;
  readonly verificationUri: string;
  readonly verificationUriComplete: string;
  readonly expiresAt: number;
  /** Seconds between polls; a `slow_down` adds 5 (RFC 8628 §3.5). */
  interval: number;
  lastPolledAt: number | null;
}

/**
 * The two page flows that came after the authorization code flow, in a real browser (headless
 * Debian Chromium through playwright-core, as authorization-chromium.e2e-spec.ts): the device page
 * of RFC 8628 (sign-in, code entry, confirmation, allow or deny, while the device polls), and
 * RP-initiated logout (confirmation page, then the redirect back to the client with its state).
 * The browser sends the Origin header its own way (the pages' Referrer-Policy decides whether it is
 * `null`), follows the redirects under the pages' CSP form-action, and keeps or drops the cookie as
 * Set-Cookie says: what HTTP-level tests cannot show.
 */
describe.runIf(browserTestsEnabled())('device and logout pages in headless Chromium', () => {
  let browser: Browser;
  let app: NestFastifyApplication;
  let issuer: string;
  let target: RedirectTarget;
  let postLogoutUri: string;
  let deviceClientId: string;
  let logoutClientId: string;
  let context: BrowserContext;

  beforeAll(async () => {
    browser = await launchChromium();
    // The shortest interval the device may poll at: the tests wait for it between polls.
    ({ app, issuer } = await givenListeningAuthApi({ DEVICE_CODE_INTERVAL_SECONDS: '1' }));
    target = await givenRedirectTarget();
    postLogoutUri = new URL('/signed-out', target.uri).href;
    const clients = app.get(ClientService);
    ({
      client: { id: deviceClientId },
    } = await clients.create({
      name: DEVICE_CLIENT_NAME,
      grantTypes: [DEVICE_CODE_GRANT, 'refresh_token'],
      scopes: ['openid'],
      public: true,
    }));
    ({
      client: { id: logoutClientId },
    } = await clients.create({
      name: LOGOUT_CLIENT_NAME,
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['openid', 'email'],
      redirectUris: [target.uri],
      postLogoutRedirectUris: [postLogoutUri],
      public: true,
    }));
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await target?.close();
  });

  // A fresh browser profile per test: no cookie carried from one test to the next.
  beforeEach(async () => {
    context = await browser.newContext();
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
  });
  afterEach(async () => {
    await context?.close();
  });

  async function postForm(path: string, fields: Record<string, string>): Promise<OAuthAnswer> {
    const response = await fetch(new URL(path, issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  /**
   * An HTML page of ours, as the browser received it: locked down by its CSP, its forms posting to
   * us only (and to the origins a form of it is redirected to).
   */
  async function expectLockedDownPage(
    response: Response | null,
    formTargets: readonly string[] = [],
  ): Promise<void> {
    expect(response).not.toBeNull();
    const headers = await response!.allHeaders();
    expect(headers['content-type']).toBe('text/html; charset=utf-8');
    const policy = headers['content-security-policy']!.split(';').map((part) => part.trim());
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain(["form-action 'self'", ...formTargets].join(' '));
    expect(headers['referrer-policy']).toBe('same-origin');
  }

  async function expectTitle(page: Page, title: string): Promise<void> {
    expect(new URL(page.url()).origin).toBe(issuer);
    expect(await page.title()).toBe(`${title} · Gatehouse`);
    await expect(page.getByRole('heading', { name: title, exact: true }).isVisible()).resolves.toBe(
      true,
    );
  }

  /** The sign-in page, filled in and sent; `next` tells where the browser must land. */
  async function signIn(
    page: Page,
    user: TestUser,
    next: (url: URL) => boolean,
  ): Promise<Response> {
    expect(new URL(page.url()).pathname).toBe('/signin');
    await expectTitle(page, 'Sign in');
    await page.locator('#email').fill(user.email);
    await page.locator('#password').fill(user.password);
    return submitForm(page, 'Sign in', next);
  }

  // --- The device (RFC 8628) -------------------------------------------------------------------

  async function startDevice(): Promise<Device> {
    const { status, body } = await postForm('/oauth/device_authorization', {
      client_id: deviceClientId,
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      device_code: expect.any(String),
      user_code: expect.stringMatching(USER_CODE),
      verification_uri: `${issuer}/device`,
      interval: 1,
      expires_in: expect.any(Number),
    });
    const userCode = body['user_code'] as string;
    expect(body['verification_uri_complete']).toBe(`${issuer}/device?user_code=${userCode}`);
    return {
      deviceCode: body['device_code'] as string,
      userCode,
      verificationUri: body['verification_uri'] as string,
      verificationUriComplete: body['verification_uri_complete'] as string,
      expiresAt: Date.now() + (body['expires_in'] as number) * 1000,
      interval: body['interval'] as number,
      lastPolledAt: null,
    };
  }

  /** One poll of the token endpoint, a full interval after the last one (else `slow_down`). */
  async function poll(device: Device): Promise<OAuthAnswer> {
    if (device.lastPolledAt !== null) {
      const wait = device.lastPolledAt + device.interval * 1000 + 100 - Date.now();
      if (wait > 0) {
        await sleep(wait);
      }
    }
    const answer = await postForm('/oauth/token', {
      grant_type: DEVICE_CODE_GRANT,
      device_code: device.deviceCode,
      client_id: deviceClientId,
    });
    // Counted from the answer: later than the server saw the request, so never too early.
    device.lastPolledAt = Date.now();
    if (answer.status === 400 && answer.body['error'] === 'slow_down') {
      device.interval += 5;
    }
    return answer;
  }

  /** Polls, as the device does, until the user has answered (or the code expires). */
  async function pollUntilAnswered(device: Device): Promise<OAuthAnswer> {
    for (;;) {
      const answer = await poll(device);
      const error = answer.body['error'];
      const waiting = error === 'authorization_pending' || error === 'slow_down';
      if (!waiting || Date.now() >= device.expiresAt) {
        return answer;
      }
    }
  }

  /** The page asking the user to check the code against the device, and to allow or deny. */
  async function expectDeviceConfirmation(page: Page, device: Device): Promise<void> {
    await expectTitle(page, `Sign in ${DEVICE_CLIENT_NAME}?`);
    expect(new URL(page.url()).pathname).toBe('/device');
    expect(await page.locator('strong.code').textContent()).toBe(device.userCode);
    expect(await page.locator('ul.scopes li').allTextContents()).toEqual(['openid']);
    await expect(
      page.getByRole('button', { name: 'Allow', exact: true }).isVisible(),
    ).resolves.toBe(true);
    await expect(page.getByRole('button', { name: 'Deny', exact: true }).isVisible()).resolves.toBe(
      true,
    );
  }

  const onDevicePage = (url: URL) => url.origin === issuer && url.pathname === '/device';
  const onDecisionPage = (url: URL) => url.origin === issuer && url.pathname === '/device/decision';

  it('device flow: signs in from verification_uri, types the code in lower case without its dash, allows; the device gets tokens', async () => {
    const user = await givenUser(app);
    const device = await startDevice();
    // The device polls from the start: nothing to hand out yet.
    expect(await poll(device)).toEqual({
      status: 400,
      body: expect.objectContaining({ error: 'authorization_pending' }),
    });

    const page = await context.newPage();
    // Signed out: the device page sends the browser to sign in first, with no code yet.
    await page.goto(device.verificationUri);
    const signInUrl = new URL(page.url());
    expect(signInUrl.pathname).toBe('/signin');
    expect(signInUrl.searchParams.get('device')).toBe('');

    // Signed in, back on the device page, which asks for the code.
    const entry = await signIn(page, user, onDevicePage);
    expect(entry.status()).toBe(200);
    await expectLockedDownPage(entry);
    await expectTitle(page, 'Connect a device');
    expect(
      (await context.cookies(issuer)).filter((cookie) => cookie.name === COOKIE_NAME),
    ).toHaveLength(1);

    // `BCDF-GHJK` typed as `bcdfghjk`: case and dash do not matter.
    const typed = device.userCode.replace('-', '').toLowerCase();
    expect(typed).toMatch(/^[a-z]{8}$/);
    await page.locator('#user_code').fill(typed);
    const confirmation = await submitForm(page, 'Continue', onDevicePage);
    expect(confirmation.status()).toBe(200);
    await expectLockedDownPage(confirmation);
    await expectDeviceConfirmation(page, device);

    const connected = await submitForm(page, 'Allow', onDecisionPage);
    expect(connected.status()).toBe(200);
    await expectTitle(page, 'Device connected');
    expect(await page.getByRole('status').textContent()).toContain(DEVICE_CLIENT_NAME);

    const answer = await pollUntilAnswered(device);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      access_token: expect.any(String),
      refresh_token: expect.any(String),
      id_token: expect.any(String),
      token_type: expect.stringMatching(/^bearer$/i),
      scope: 'openid',
    });
    expect(decodeJwt(answer.body['access_token'] as string)).toMatchObject({
      iss: issuer,
      sub: user.id,
      client_id: deviceClientId,
    });
    expect(decodeJwt(answer.body['id_token'] as string)).toMatchObject({
      iss: issuer,
      sub: user.id,
      aud: deviceClientId,
    });
    // A device code is good for one set of tokens.
    expect(await poll(device)).toEqual({
      status: 400,
      body: expect.objectContaining({ error: 'invalid_grant' }),
    });
  });

  it('device flow: signed in already, verification_uri_complete goes straight to the confirmation; deny, and the device is told access_denied', async () => {
    const user = await givenUser(app);
    const device = await startDevice();
    const page = await context.newPage();
    // Signed in at Gatehouse beforehand, on its own sign-in page.
    await page.goto(`${issuer}/signin`);
    await signIn(page, user, (url) => url.origin === issuer && url.pathname === '/signin');
    await expectTitle(page, 'Signed in');

    const confirmation = await page.goto(device.verificationUriComplete);
    expect(confirmation?.status()).toBe(200);
    expect(confirmation?.request().redirectedFrom()).toBeNull();
    await expectLockedDownPage(confirmation);
    await expectDeviceConfirmation(page, device);

    const denied = await submitForm(page, 'Deny', onDecisionPage);
    expect(denied.status()).toBe(200);
    await expectTitle(page, 'Request denied');

    expect(await pollUntilAnswered(device)).toEqual({
      status: 400,
      body: expect.objectContaining({ error: 'access_denied' }),
    });
  });

  it('device flow: signed out, verification_uri_complete keeps the code through the sign-in and lands on the confirmation', async () => {
    const user = await givenUser(app);
    const device = await startDevice();
    const page = await context.newPage();

    await page.goto(device.verificationUriComplete);
    const signInUrl = new URL(page.url());
    expect(signInUrl.pathname).toBe('/signin');
    expect(signInUrl.searchParams.get('device')).toBe(device.userCode);

    const confirmation = await signIn(page, user, onDevicePage);
    expect(confirmation.status()).toBe(200);
    await expectDeviceConfirmation(page, device);

    await submitForm(page, 'Allow', onDecisionPage);
    await expectTitle(page, 'Device connected');
    const answer = await pollUntilAnswered(device);
    expect(answer.status).toBe(200);
    expect(decodeJwt(answer.body['access_token'] as string)).toMatchObject({ sub: user.id });
  });

  // --- RP-initiated logout -------------------------------------------------------------------

  /** The relying party's sign-in: authorization code flow in the browser, code exchanged by fetch. */
  async function signInAtRelyingParty(
    page: Page,
    user: TestUser,
  ): Promise<{ idToken: string; refreshToken: string }> {
    const codeVerifier = randomBytes(32).toString('base64url');
    const state = randomBytes(16).toString('base64url');
    const authorize = new URL('/oauth/authorize', issuer);
    authorize.search = new URLSearchParams({
      response_type: 'code',
      client_id: logoutClientId,
      redirect_uri: target.uri,
      scope: 'openid email',
      state,
      code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();

    await page.goto(authorize.href);
    await signIn(page, user, (url) => url.pathname.startsWith('/oauth/authorize'));
    await expectTitle(page, `Allow ${LOGOUT_CLIENT_NAME}?`);
    await submitForm(page, 'Allow', (url) => url.origin === new URL(target.uri).origin);
    const callback = new URL(page.url());
    expect(callback.origin + callback.pathname).toBe(target.uri);
    expect(callback.searchParams.get('state')).toBe(state);

    const { status, body } = await postForm('/oauth/token', {
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code')!,
      redirect_uri: target.uri,
      code_verifier: codeVerifier,
      client_id: logoutClientId,
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      id_token: expect.any(String),
      refresh_token: expect.any(String),
      scope: 'openid email',
    });
    return { idToken: body['id_token'] as string, refreshToken: body['refresh_token'] as string };
  }

  it('RP-initiated logout: confirmed on the "Sign out?" page, back on the post_logout_redirect_uri with state; the refresh token and the browser sign-in are over', async () => {
    const user = await givenUser(app);
    const page = await context.newPage();
    const { idToken, refreshToken } = await signInAtRelyingParty(page, user);
    expect(
      (await context.cookies(issuer)).filter((cookie) => cookie.name === COOKIE_NAME),
    ).toHaveLength(1);

    const endSession = new URL('/oauth/end_session', issuer);
    endSession.search = new URLSearchParams({
      id_token_hint: idToken,
      post_logout_redirect_uri: postLogoutUri,
      state: 'xyz',
    }).toString();
    const confirmation = await page.goto(endSession.href);
    expect(confirmation?.status()).toBe(200);
    // The form posts to us and is redirected to the client: form-action allows both, no other.
    await expectLockedDownPage(confirmation, [new URL(postLogoutUri).origin]);
    await expectTitle(page, 'Sign out?');
    expect(await page.locator('main').textContent()).toContain(
      `${LOGOUT_CLIENT_NAME} asks to sign you out.`,
    );

    const signedOut = await submitForm(page, 'Sign out', (url) =>
      url.href.startsWith(postLogoutUri),
    );
    expect(signedOut.status()).toBe(200);
    const landed = new URL(page.url());
    expect(landed.origin + landed.pathname).toBe(postLogoutUri);
    expect(Object.fromEntries(landed.searchParams)).toEqual({ state: 'xyz' });
    // The relying party's server really received it, and no cookie of the issuer with it.
    expect(target.received.filter((received) => received.url.href === landed.href)).toEqual([
      { url: landed, cookie: undefined },
    ]);

    // The token session the ID token was issued in is over: its refresh token is refused.
    expect(
      await postForm('/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: logoutClientId,
      }),
    ).toEqual({ status: 400, body: expect.objectContaining({ error: 'invalid_grant' }) });

    // So is the browser's sign-in: the cookie is gone, and a new authorization asks to sign in.
    expect((await context.cookies(issuer)).filter((cookie) => cookie.name === COOKIE_NAME)).toEqual(
      [],
    );
    const again = new URL('/oauth/authorize', issuer);
    again.search = new URLSearchParams({
      response_type: 'code',
      client_id: logoutClientId,
      redirect_uri: target.uri,
      scope: 'openid',
      state: randomBytes(16).toString('base64url'),
      code_challenge: createHash('sha256')
        .update(randomBytes(32).toString('base64url'))
        .digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    await page.goto(again.href);
    expect(new URL(page.url()).pathname).toBe('/signin');
    await expectTitle(page, 'Sign in');
  });
});
