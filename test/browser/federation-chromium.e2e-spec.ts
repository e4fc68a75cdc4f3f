import { createHash, randomBytes, randomUUID } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ClientService, IdentityProviderService } from '@gatehouse/identity';
import { decodeJwt } from 'jose';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { uniqueEmail } from '../support/factories.js';
import { COOKIE_NAME, type ListedSession } from '../support/http.js';
import { givenListeningAuthApi } from '../support/test-app.js';
import { givenUpstreamOp, type UpstreamOp } from '../support/upstream-op.js';
import {
  browserTestsEnabled,
  givenRedirectTarget,
  launchChromium,
  type RedirectTarget,
  submitForm,
} from './chromium.js';

const CLIENT_NAME = 'Federated Test App';
const STEP_TIMEOUT_MS = 10_000;

/**
 * Issue 20, acceptance 1 in a real browser: a third-party app's authorization request reaches our
 * sign-in page; "Continue with <provider>" goes to a real upstream OpenID Provider (oidc-provider,
 * in-process, whose login step signs in the account the test chose), back to our callback, which
 * creates the user and a cookie session; the code flow of the app then completes with that session.
 */
describe.runIf(browserTestsEnabled())('federated sign-in in headless Chromium', () => {
  let browser: Browser;
  let context: BrowserContext;
  let app: NestFastifyApplication;
  let issuer: string;
  let upstream: UpstreamOp;
  let target: RedirectTarget;
  let clientId: string;
  const slug = `corp-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    browser = await launchChromium();
    ({ app, issuer } = await givenListeningAuthApi());
    upstream = await givenUpstreamOp([`${issuer}/federation/${slug}/callback`]);
    target = await givenRedirectTarget();
    await app.get(IdentityProviderService).create(
      {
        slug,
        displayName: 'Corp SSO',
        issuer: upstream.issuer,
        clientId: upstream.clientId,
        clientSecret: upstream.clientSecret,
        trustEmailVerified: true,
      },
      'system',
    );
    const { client } = await app.get(ClientService).create({
      name: CLIENT_NAME,
      grantTypes: ['authorization_code'],
      scopes: ['openid', 'email'],
      redirectUris: [target.uri],
      public: true,
    });
    clientId = client.id;
    context = await browser.newContext();
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.close();
    await upstream?.close();
    await target?.close();
  });

  it('"Continue with Corp SSO" → upstream login → back: new user, session in /me/sessions, the code flow completes', async () => {
    const email = uniqueEmail('chromium-fed');
    upstream.signInAs({ sub: `corp-${randomUUID()}`, email, email_verified: true });
    const codeVerifier = randomBytes(32).toString('base64url');
    const state = randomBytes(16).toString('base64url');
    const authorize = new URL('/oauth/authorize', issuer);
    authorize.search = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: target.uri,
      scope: 'openid email',
      state,
      code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();

    const page = await context.newPage();
    await page.goto(authorize.href);
    expect(new URL(page.url()).pathname).toBe('/signin');
    const link = page.getByRole('link', { name: 'Continue with Corp SSO', exact: true });
    // The upstream's login step is automatic: the browser goes there and comes back to our consent
    // page for the third-party app, signed in.
    await Promise.all([
      page.waitForURL((url) => url.pathname.startsWith('/oauth/authorize'), {
        waitUntil: 'load',
      }),
      link.click(),
    ]);
    expect(await page.title()).toBe(`Allow ${CLIENT_NAME}? · Gatehouse`);

    const cookie = (await context.cookies(issuer)).find(({ name }) => name === COOKIE_NAME);
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax' });
    const me = await fetch(new URL('/me', issuer), {
      headers: { cookie: `${COOKIE_NAME}=${cookie!.value}` },
    });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { user: { email: string } }).user.email).toBe(email);
    const sessions = await fetch(new URL('/me/sessions', issuer), {
      headers: { cookie: `${COOKIE_NAME}=${cookie!.value}` },
    });
    expect(sessions.status).toBe(200);
    const listed = (await sessions.json()) as ListedSession[];
    expect(listed).toEqual([expect.objectContaining({ kind: 'cookie', current: true })]);

    const redirect = new URL(target.uri);
    await submitForm(page, 'Allow', (url) => url.origin === redirect.origin);
    const callback = new URL(page.url());
    expect(callback.searchParams.get('state')).toBe(state);
    const response = await fetch(new URL('/oauth/token', issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code')!,
        redirect_uri: target.uri,
        code_verifier: codeVerifier,
        client_id: clientId,
      }).toString(),
    });
    expect(response.status).toBe(200);
    const tokens = (await response.json()) as { id_token: string };
    expect(decodeJwt(tokens.id_token)).toMatchObject({ email, amr: ['fed'] });
  });
});
