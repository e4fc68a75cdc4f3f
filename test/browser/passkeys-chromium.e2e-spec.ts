import { createHash, randomBytes } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ClientService } from '@gatehouse/identity';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { COOKIE_NAME, givenUser, type TestUser } from '../support/http.js';
import { freePort, givenAuthApi } from '../support/test-app.js';
import {
  browserTestsEnabled,
  givenRedirectTarget,
  launchChromium,
  type RedirectTarget,
  submitForm,
} from './chromium.js';

const CLIENT_NAME = 'Passkey Test App';
const STEP_TIMEOUT_MS = 10_000;
const REFUSED = 'The passkey could not be verified.';

interface Registration {
  readonly status: number;
  readonly body: { recoveryCodes?: string[]; passkey?: { kind: string } };
}

/**
 * Passkeys end to end in headless Chromium with the DevTools protocol's virtual authenticator
 * (CTAP2, internal, resident keys, user verification): registering one from a signed-in page,
 * passwordless sign-in through `/signin` (the authorization request survives it), a passkey as the
 * second step after a password, and refusals: a tampered assertion, another origin, and a signature
 * counter gone backwards, each without a session.
 *
 * WebAuthn needs a secure context and an RP ID that is a domain: the issuer is
 * `http://localhost:<port>` here (not 127.0.0.1, which is no valid RP ID), and `http://127.0.0.1:<port>`
 * — the same server, another origin — plays the foreign site.
 */
describe.runIf(browserTestsEnabled())('passkeys in headless Chromium', () => {
  let browser: Browser;
  let app: NestFastifyApplication;
  let issuer: string;
  let foreignOrigin: string;
  let target: RedirectTarget;
  let clientId: string;
  let context: BrowserContext;

  beforeAll(async () => {
    browser = await launchChromium();
    const port = await freePort();
    issuer = `http://localhost:${port}`;
    foreignOrigin = `http://127.0.0.1:${port}`;
    app = await givenAuthApi({ ISSUER: issuer, TRUSTED_ORIGINS: issuer });
    await app.listen(port, '127.0.0.1');
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

  beforeEach(async () => {
    context = await browser.newContext();
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
  });
  afterEach(async () => {
    await context?.close();
  });

  /** A page with a virtual authenticator that verifies its user, as a phone or laptop would. */
  async function pageWithAuthenticator(): Promise<{
    page: Page;
    cdp: CDPSession;
    authenticatorId: string;
  }> {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    return { page, cdp, authenticatorId };
  }

  function authorizationUrl(): string {
    const url = new URL('/oauth/authorize', issuer);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: target.uri,
      scope: 'openid email',
      state: randomBytes(16).toString('base64url'),
      code_challenge: createHash('sha256')
        .update(randomBytes(32).toString('base64url'))
        .digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    return url.href;
  }

  async function passwordSignIn(page: Page, user: TestUser, expected: (url: URL) => boolean) {
    await page.goto(`${issuer}/signin`);
    await page.locator('#email').fill(user.email);
    await page.locator('#password').fill(user.password);
    await submitForm(page, 'Sign in', expected);
  }

  /** Adds a passkey from a page of the issuer, as an account page would: options, create(), store. */
  async function registerPasskey(page: Page): Promise<Registration> {
    await onScriptedPage(page);
    return page.evaluate(async () => {
      // No DOM library in the tests' TypeScript: the little of it used here.
      const { credentials } = (
        globalThis as unknown as {
          navigator: { credentials: { create(options: object): Promise<{ toJSON(): unknown }> } };
        }
      ).navigator;
      const toBuffer = (value: string) =>
        Uint8Array.from(atob(value.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
      const post = (url: string, body: unknown) =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const options = (await (await post('/me/mfa/passkeys/options', {})).json()) as {
        challenge: string;
        user: { id: string; name: string; displayName: string };
        excludeCredentials: { id: string; type: 'public-key' }[];
      } & Record<string, unknown>;
      const created = await credentials.create({
        publicKey: {
          ...options,
          challenge: toBuffer(options.challenge),
          user: { ...options.user, id: toBuffer(options.user.id) },
          excludeCredentials: options.excludeCredentials.map((credential) => ({
            ...credential,
            id: toBuffer(credential.id),
          })),
        },
      });
      const stored = await post('/me/mfa/passkeys', {
        name: 'Chromium',
        response: created.toJSON(),
      });
      return { status: stored.status, body: (await stored.json()) as Registration['body'] };
    });
  }

  /**
   * Moves to a page whose CSP lets our own scripts call our own endpoints (the sign-in page; the
   * others allow no connection at all), for the calls an account page would make.
   */
  async function onScriptedPage(page: Page): Promise<void> {
    await page.goto(`${issuer}/signin`);
  }

  /** The sessions of the signed-in browser, as `GET /me/sessions` lists them. */
  async function currentSession(page: Page): Promise<{ amr: string[] } | undefined> {
    await onScriptedPage(page);
    return page.evaluate(async () => {
      const response = await fetch('/me/sessions');
      const sessions = (await response.json()) as { current: boolean; amr: string[] }[];
      return sessions.find((session) => session.current);
    });
  }

  async function signOut(page: Page): Promise<void> {
    await onScriptedPage(page);
    const status = await page.evaluate(
      async () => (await fetch('/auth/logout', { method: 'POST' })).status,
    );
    expect(status).toBe(204);
    expect(await sessionCookies()).toEqual([]);
  }

  async function sessionCookies() {
    return (await context.cookies(issuer)).filter((cookie) => cookie.name === COOKIE_NAME);
  }

  /** Registered through the pages: a user, a password sign-in, a passkey; then signed out. */
  async function givenUserWithPasskey(page: Page): Promise<TestUser> {
    const user = await givenUser(app);
    await passwordSignIn(page, user, (url) => url.pathname === '/signin');
    expect(await page.title()).toBe('Signed in · Gatehouse');
    const registration = await registerPasskey(page);
    expect(registration.status).toBe(201);
    expect(registration.body.recoveryCodes).toHaveLength(10);
    await signOut(page);
    return user;
  }

  it('registers a passkey, signs in with it alone through /signin and goes on to the authorization request', async () => {
    const { page } = await pageWithAuthenticator();
    await givenUserWithPasskey(page);

    await page.goto(authorizationUrl());
    expect(new URL(page.url()).pathname).toBe('/signin');
    // The page loads its one script from /assets, under a CSP that allows nothing inline.
    const csp = (await page.request.get(page.url())).headers()['content-security-policy'];
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    await submitForm(page, 'Sign in with a passkey', (url) =>
      url.pathname.startsWith('/oauth/authorize'),
    );
    expect(await page.title()).toBe(`Allow ${CLIENT_NAME}? · Gatehouse`);

    expect(await sessionCookies()).toHaveLength(1);
    expect(await currentSession(page)).toMatchObject({ amr: ['hwk', 'user', 'mfa'] });
    const factors: unknown = await page.evaluate(async (): Promise<unknown> =>
      (await fetch('/me/mfa')).json(),
    );
    expect(factors).toEqual([
      expect.objectContaining({
        kind: 'passkey',
        name: 'Chromium',
        lastUsedAt: expect.any(String),
      }),
    ]);
  });

  it('uses the passkey as the second step after the password', async () => {
    const { page } = await pageWithAuthenticator();
    const user = await givenUserWithPasskey(page);

    await passwordSignIn(page, user, (url) => url.pathname === '/signin');
    // A passkey is the user's only factor: no authenticator-app field, a recovery code as fallback.
    expect(await page.title()).toBe('Confirm it is you · Gatehouse');
    expect(await page.locator('input[name="code"]').count()).toBe(0);
    expect(await page.locator('input[name="recovery_code"]').count()).toBe(1);
    expect(await sessionCookies()).toEqual([]);
    await submitForm(page, 'Use a passkey', (url) => url.pathname === '/signin/mfa');
    expect(await page.title()).toBe('Signed in · Gatehouse');
    expect(await currentSession(page)).toMatchObject({ amr: ['pwd', 'hwk', 'mfa'] });
  });

  it('refuses a tampered assertion (a flipped signature byte) with no session', async () => {
    const { page } = await pageWithAuthenticator();
    await givenUserWithPasskey(page);

    await page.route('**/signin/passkey', async (route) => {
      const form = new URLSearchParams(route.request().postData() ?? '');
      const credential = JSON.parse(form.get('credential')!) as {
        response: { signature: string };
      };
      const signature = Buffer.from(credential.response.signature, 'base64url');
      signature[10]! ^= 0xff;
      credential.response.signature = signature.toString('base64url');
      form.set('credential', JSON.stringify(credential));
      await route.continue({ postData: form.toString() });
    });
    await page.goto(`${issuer}/signin`);
    await submitForm(page, 'Sign in with a passkey', (url) => url.pathname === '/signin/passkey');
    expect(await page.getByRole('alert').textContent()).toBe(REFUSED);
    expect(await sessionCookies()).toEqual([]);

    // Untouched, the same passkey signs in: the refusal was the tampering's.
    await page.unroute('**/signin/passkey');
    await submitForm(page, 'Sign in with a passkey', (url) => url.pathname === '/signin/passkey');
    expect(await page.title()).toBe('Signed in · Gatehouse');
  });

  it('refuses a ceremony on another origin, and its form post, with no session', async () => {
    const { page } = await pageWithAuthenticator();
    await givenUserWithPasskey(page);

    // Another origin asking for the issuer's options: the browser refuses the RP ID, nothing is sent.
    await page.goto(`${foreignOrigin}/signin`);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('No passkey was used');

    // The page's form post from the other origin is refused before any verification.
    const posted = await page.evaluate(async (action) => {
      const response = await fetch(action, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'credential=%7B%7D',
      });
      return response.status;
    }, `${foreignOrigin}/signin/passkey`);
    expect(posted).toBe(403);
    expect(await sessionCookies()).toEqual([]);
    expect(await context.cookies(foreignOrigin)).toEqual([]);
  });

  it('refuses a passkey whose signature counter went backwards (a cloned authenticator)', async () => {
    const { page, cdp, authenticatorId } = await pageWithAuthenticator();
    await givenUserWithPasskey(page);
    await page.goto(`${issuer}/signin`);
    await submitForm(page, 'Sign in with a passkey', (url) => url.pathname === '/signin/passkey');
    expect(await page.title()).toBe('Signed in · Gatehouse');
    await signOut(page);

    // The clone: the same key, its counter back at 0.
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    const [original] = credentials;
    expect(original!.signCount).toBeGreaterThan(0);
    await cdp.send('WebAuthn.removeCredential', {
      authenticatorId,
      credentialId: original!.credentialId,
    });
    await cdp.send('WebAuthn.addCredential', {
      authenticatorId,
      credential: { ...original!, signCount: 0 },
    });

    await page.goto(`${issuer}/signin`);
    await submitForm(page, 'Sign in with a passkey', (url) => url.pathname === '/signin/passkey');
    expect(await page.getByRole('alert').textContent()).toBe(REFUSED);
    expect(await sessionCookies()).toEqual([]);
  });
});
