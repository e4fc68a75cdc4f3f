import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { uniqueEmail } from '../support/factories.js';
import {
  givenCookieSessionAt,
  givenUserAt,
  passwordGrantAt,
  postForm,
  SESSION_REVOKED,
} from '../support/http.js';
import { resetLinksTo, waitForResetLink } from '../support/reset-mail.js';
import { SmtpInbox } from '../support/smtp-inbox.js';
import { freePort, givenAuthApi } from '../support/test-app.js';
import { freshDatabaseUrl } from '../support/test-database.js';
import { browserTestsEnabled, launchChromium, submitForm } from './chromium.js';

const NEW_PASSWORD = 'a passphrase chosen in the browser';
const STEP_TIMEOUT_MS = 10_000;

/**
 * The whole password reset in headless Chromium (as the other browser tests: Debian's chromium
 * through playwright-core): the sign-in page's "Forgot password?" link, the forgot-password form,
 * the mail read from a real SMTP server, its link, the reset form, and signing in with the new
 * password; afterwards the browser session and refresh token from before are dead. The browser
 * applies the pages' CSP and Referrer-Policy itself, which HTTP-level tests cannot show.
 */
describe.runIf(browserTestsEnabled())('password reset pages in headless Chromium', () => {
  let browser: Browser;
  let app: NestFastifyApplication;
  let issuer: string;
  let inbox: SmtpInbox;
  let context: BrowserContext;

  beforeAll(async () => {
    browser = await launchChromium();
    inbox = await SmtpInbox.on();
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    // A database of its own: no other file's job worker takes this file's reset requests.
    app = await givenAuthApi({
      ISSUER: issuer,
      DATABASE_URL: await freshDatabaseUrl('reset_browser', { migrated: true }),
      SMTP_URL: inbox.url,
      JOB_POLL_INTERVAL_MS: '200',
    });
    await app.listen(port, '127.0.0.1');
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await inbox?.stop();
  });
  beforeEach(async () => {
    context = await browser.newContext();
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
  });
  afterEach(async () => {
    await context?.close();
  });

  async function expectPage(page: Page, response: Response | null, title: string) {
    expect(new URL(page.url()).origin).toBe(issuer);
    expect(await page.title()).toBe(`${title} · Gatehouse`);
    const headers = await response!.allHeaders();
    const policy = headers['content-security-policy']!.split(';').map((part) => part.trim());
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("form-action 'self'");
    return headers;
  }

  /** From the sign-in page's link to the "check your mail" page; answers what that page says. */
  async function askForLink(page: Page, email: string): Promise<string> {
    await page.goto(`${issuer}/signin`);
    await page.getByRole('link', { name: 'Forgot password?' }).click();
    await page.waitForURL(`${issuer}/forgot-password`);
    await page.getByLabel('Email').fill(email);
    const sent = await submitForm(
      page,
      'Send the link',
      (url) => url.pathname === '/forgot-password',
    );
    await expectPage(page, sent, 'Check your mail');
    return page.locator('main').innerText();
  }

  it('resets the password from the sign-in page to signing in again; the old session and refresh token are dead', async () => {
    const user = await givenUserAt(issuer);
    const oldCookie = await givenCookieSessionAt(issuer, user);
    const grant = await passwordGrantAt(issuer, user);
    const { refresh_token: refreshToken } = (await grant.json()) as { refresh_token: string };
    const page = await context.newPage();
    const referers: string[] = [];
    page.on('request', (request) => {
      const referer = request.headers()['referer'];
      if (referer) {
        referers.push(referer);
      }
    });

    await askForLink(page, user.email);
    const link = await waitForResetLink(inbox, user.email);
    expect(new URL(link.url).origin).toBe(issuer);
    const form = await page.goto(link.url);
    const headers = await expectPage(page, form, 'Choose a new password');
    expect(headers['referrer-policy']).toBe('strict-origin');
    await expect(page.getByText(user.email).isVisible()).resolves.toBe(true);
    await page.getByLabel('New password').fill(NEW_PASSWORD);
    const changed = await submitForm(
      page,
      'Set the new password',
      (url) => url.pathname === '/reset-password',
    );
    await expectPage(page, changed, 'Password changed');
    await page.getByRole('link', { name: 'Sign in with your new password' }).click();
    await page.waitForURL(`${issuer}/signin`);
    await page.locator('#email').fill(user.email);
    await page.locator('#password').fill(NEW_PASSWORD);
    const signedIn = await submitForm(page, 'Sign in', (url) => url.pathname === '/signin');
    await expectPage(page, signedIn, 'Signed in');

    expect(referers.filter((referer) => referer.includes(link.token))).toEqual([]);
    const me = await fetch(`${issuer}/me`, { headers: { cookie: oldCookie.cookie } });
    expect(me.status).toBe(401);
    expect(await me.json()).toEqual(SESSION_REVOKED);
    const refreshed = await postForm(`${issuer}/oauth/token`, {
      grant_type: 'refresh_token',
      client_id: 'gatehouse-first-party',
      refresh_token: refreshToken,
    });
    expect(refreshed.status).toBe(400);
    expect(await refreshed.json()).toMatchObject({ error: 'invalid_grant' });
    const again = await page.goto(link.url);
    await expectPage(page, again, 'This link does not work');
    expect(again!.status()).toBe(400);
  });

  it('shows every address the same "check your mail" page', async () => {
    const user = await givenUserAt(issuer);
    const page = await context.newPage();

    const known = await askForLink(page, user.email);
    const unknown = await askForLink(page, uniqueEmail('nobody'));

    expect(unknown).toBe(known);
    expect(known).toContain('If an account has this address');
  });

  it('announces a password the policy refuses next to its field, and keeps the link usable', async () => {
    const user = await givenUserAt(issuer);
    const page = await context.newPage();
    await askForLink(page, user.email);
    const link = await waitForResetLink(inbox, user.email);
    await page.goto(link.url);

    await page.getByLabel('New password').fill('password');
    const refused = await submitForm(
      page,
      'Set the new password',
      (url) => url.pathname === '/reset-password',
    );

    expect(refused.status()).toBe(400);
    const alert = page.getByRole('alert');
    expect(await alert.innerText()).not.toBe('');
    const field = page.getByLabel('New password');
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    expect(await field.getAttribute('aria-describedby')).toBe('password-error password-hint');
    expect(await page.locator(':focus').getAttribute('id')).toBe('newPassword');
    await field.fill(NEW_PASSWORD);
    const changed = await submitForm(
      page,
      'Set the new password',
      (url) => url.pathname === '/reset-password',
    );
    await expectPage(page, changed, 'Password changed');
    expect(resetLinksTo(inbox, user.email)).toHaveLength(1);
  });

  it('refuses the forms when they come from another site', async () => {
    for (const path of ['/forgot-password', '/reset-password']) {
      const response = await postForm(
        `${issuer}${path}`,
        { email: uniqueEmail(), token: 'x', newPassword: NEW_PASSWORD },
        { origin: 'https://attacker.example' },
      );
      expect(response.status).toBe(403);
    }
  });
});
