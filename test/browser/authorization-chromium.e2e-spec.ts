import { createHash, randomBytes } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ClientService } from '@gatehouse/identity';
import { decodeJwt } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
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

const CLIENT_NAME = 'Chromium Test App';
/** 32 random bytes, base64url. */
const CODE = /^[A-Za-z0-9_-]{43}$/;
/** Long enough for a slow CI machine, short enough that a broken flow fails well within the test. */
const STEP_TIMEOUT_MS = 10_000;

/** What the relying party keeps between the authorization request and the callback. */
interface Authorization {
  readonly state: string;
  readonly codeVerifier: string;
}

/**
 * The acceptance of the authorization pages in a real browser: headless Chromium (Debian's package,
 * driven by playwright-core) signs in through the server-rendered sign-in page, is shown the consent
 * page of a third-party client, allows it and lands on the client's redirect_uri with a code. The
 * browser enforces what an HTTP-level test cannot: the Secure/HttpOnly/SameSite session cookie, the
 * Origin header of form posts, and the pages' CSP (form-action, followed through the redirects).
 *
 * The issuer is served on http://127.0.0.1, the client on http://localhost (another site). Chromium
 * counts both as potentially trustworthy, so it keeps the Secure cookie over plain http (it drops it
 * on any other http host).
 */
describe.runIf(browserTestsEnabled())('authorization code flow in headless Chromium', () => {
  let browser: Browser;
  let app: NestFastifyApplication;
  let issuer: string;
  let target: RedirectTarget;
  let clientId: string;
  let context: BrowserContext;

  beforeAll(async () => {
    browser = await launchChromium();
    ({ app, issuer } = await givenListeningAuthApi());
    target = await givenRedirectTarget();
    const { client } = await app.get(ClientService).create({
      name: CLIENT_NAME,
      grantTypes: ['authorization_code'],
      scopes: ['openid', 'email'],
      redirectUris: [target.uri],
      public: true,
    });
    clientId = client.id;
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

  /** The relying party's authorization request (PKCE S256), as a link the user follows. */
  function authorizationUrl(): { url: string; authorization: Authorization } {
    const codeVerifier = randomBytes(32).toString('base64url');
    const state = randomBytes(16).toString('base64url');
    const url = new URL('/oauth/authorize', issuer);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: target.uri,
      scope: 'openid email',
      state,
      code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    return { url: url.href, authorization: { state, codeVerifier } };
  }

  async function signIn(page: Page, user: TestUser): Promise<void> {
    expect(new URL(page.url()).pathname).toBe('/signin');
    expect(await page.title()).toBe('Sign in · Gatehouse');
    await page.locator('#email').fill(user.email);
    await page.locator('#password').fill(user.password);
    // Signed in, the browser is sent back to the authorization request, which asks for consent.
    await submitForm(page, 'Sign in', (url) => url.pathname.startsWith('/oauth/authorize'));
  }

  async function expectConsentPage(page: Page): Promise<void> {
    expect(new URL(page.url()).origin).toBe(issuer);
    expect(await page.title()).toBe(`Allow ${CLIENT_NAME}? · Gatehouse`);
    await expect(
      page.getByRole('heading', { name: `Allow ${CLIENT_NAME}?`, exact: true }).isVisible(),
    ).resolves.toBe(true);
    expect(await page.locator('ul.scopes li').allTextContents()).toEqual(['openid', 'email']);
  }

  async function allow(page: Page): Promise<URL> {
    const redirect = new URL(target.uri);
    await submitForm(page, 'Allow', (url) => url.origin === redirect.origin);
    return new URL(page.url());
  }

  /** The whole browser part: authorization request, sign-in, consent, callback. */
  async function authorizeInChromium(
    user: TestUser,
  ): Promise<{ callback: URL; authorization: Authorization }> {
    const { url, authorization } = authorizationUrl();
    const page = await context.newPage();
    await page.goto(url);
    await signIn(page, user);
    await expectConsentPage(page);
    const callback = await allow(page);
    expectCallback(callback, authorization);
    return { callback, authorization };
  }

  /** The registered redirect_uri with a code, the request's state and our issuer (RFC 9207). */
  function expectCallback(callback: URL, authorization: Authorization): void {
    expect(callback.origin + callback.pathname).toBe(target.uri);
    expect(Object.fromEntries(callback.searchParams)).toEqual({
      code: expect.stringMatching(CODE),
      state: authorization.state,
      iss: issuer,
    });
  }

  it('signs in through the pages, is asked for consent, lands on the redirect_uri with a code; scripts never see the session cookie', async () => {
    const user = await givenUser(app);
    const { url, authorization } = authorizationUrl();
    const page = await context.newPage();

    await page.goto(url);
    await signIn(page, user);
    await expectConsentPage(page);

    // The browser holds the session cookie, with the attributes that keep it from scripts and
    // from cross-site subrequests: so its absence from document.cookie below means something.
    const cookies = await context.cookies(issuer);
    expect(cookies.filter((cookie) => cookie.name === COOKIE_NAME)).toEqual([
      expect.objectContaining({
        name: COOKIE_NAME,
        domain: new URL(issuer).hostname,
        path: '/',
        httpOnly: true,
        secure: true,
        sameSite: 'Lax',
      }),
    ]);
    // A page of the issuer's origin: the consent page, rendered for the signed-in user.
    const visible: unknown = await page.evaluate('document.cookie');
    expect(typeof visible).toBe('string');
    expect(visible).not.toContain(COOKIE_NAME);

    const callback = await allow(page);
    expectCallback(callback, authorization);
    // The relying party's server really received the browser's request, code and all, and on its
    // own site it is sent no cookie of the issuer.
    expect(target.received.filter((received) => received.url.href === callback.href)).toEqual([
      { url: callback, cookie: undefined },
    ]);
    expect(await page.locator('p').textContent()).toBe('Signed in.');
  });

  it('the code obtained in the browser is exchanged at the token endpoint for tokens of that user', async () => {
    const user = await givenUser(app);
    const { callback, authorization } = await authorizeInChromium(user);

    const response = await fetch(new URL('/oauth/token', issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code')!,
        redirect_uri: target.uri,
        code_verifier: authorization.codeVerifier,
        client_id: clientId,
      }).toString(),
    });

    expect(response.status).toBe(200);
    const tokens = (await response.json()) as Record<string, unknown>;
    expect(tokens).toMatchObject({
      access_token: expect.any(String),
      id_token: expect.any(String),
      token_type: expect.stringMatching(/^bearer$/i),
      scope: 'openid email',
    });
    // No refresh_token grant registered for this client: none issued.
    expect(tokens['refresh_token']).toBeUndefined();
    expect(decodeJwt(tokens['access_token'] as string)).toMatchObject({
      iss: issuer,
      sub: user.id,
      client_id: clientId,
    });
    expect(decodeJwt(tokens['id_token'] as string)).toMatchObject({
      iss: issuer,
      sub: user.id,
      aud: clientId,
      email: user.email,
    });
  });
});
