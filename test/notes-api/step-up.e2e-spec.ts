import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  ACR_VALUES_SUPPORTED,
  ClientService,
  Clock,
  MfaService,
  SessionService,
  UserService,
} from '@gatehouse/identity';
import { ACR } from '@gatehouse/nest-auth';
import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import {
  authorizationUrl,
  authorizeInBrowser,
  completeSecondStep,
  hiddenInteraction,
} from '../support/code-flow.js';
import type { HttpBrowser } from '../support/http-browser.js';
import {
  givenCookieSessionAt,
  givenUserAt,
  postForm,
  type TestUser,
  TRUSTED_ORIGIN,
} from '../support/http.js';
import { givenListeningAuthApi, givenNotesApi } from '../support/test-app.js';
import { middleOfCurrentStep, TOTP_STEP_MS as STEP_MS, totpCode } from '../support/totp.js';

const REDIRECT_URI = 'https://notes.example/callback';
const MFA = 'urn:gatehouse:acr:mfa';
const TEN_MINUTES = "interval '10 minutes'";

interface Tokens {
  readonly access_token: string;
  readonly id_token?: string;
}

/**
 * Acceptance 4 of issue 19: notes-api's `@RequireFreshAuth(300)` and `@RequireMfa()` routes refuse a
 * sign-in too old or too weak with the RFC 9470 challenge, and accept the token the client gets after
 * sending the user through `/oauth/authorize` with `max_age=0` or `acr_values`.
 */
describe('step-up at a sibling app (RFC 9470)', () => {
  let auth: NestFastifyApplication;
  let issuer: string;
  let notes: NestFastifyApplication;
  let clientId: string;

  beforeAll(async () => {
    ({ app: auth, issuer } = await givenListeningAuthApi());
    const clients = auth.get(ClientService);
    const { client: introspector, clientSecret } = await clients.create({
      name: 'notes-api',
      grantTypes: [],
      resourceServer: true,
    });
    notes = await givenNotesApi(issuer, {
      NOTES_API_CLIENT_ID: introspector.id,
      NOTES_API_CLIENT_SECRET: clientSecret ?? '',
    });
    ({
      client: { id: clientId },
    } = await clients.create({
      name: 'Notes web',
      grantTypes: ['authorization_code'],
      scopes: ['openid'],
      redirectUris: [REDIRECT_URI],
      public: true,
      requireConsent: false,
    }));
  });
  afterAll(async () => {
    await notes?.close();
    await auth?.close();
  });

  let clockSpy: { mockRestore(): void } | undefined;
  afterEach(() => clockSpy?.mockRestore());

  /** A bearer `token`, or a session's `cookie` (its raw `token` is not sent as a bearer token). */
  const atNotes = (url: string, credential: { token: string } | { cookie: string }) =>
    notes.inject({
      method: 'GET',
      url,
      headers: {
        ...('cookie' in credential
          ? { cookie: credential.cookie, origin: TRUSTED_ORIGIN }
          : { authorization: `Bearer ${credential.token}` }),
      },
    });

  function expectChallenge(response: LightMyRequestResponse, parameter: string): void {
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({
      statusCode: 401,
      error: 'INSUFFICIENT_USER_AUTHENTICATION',
      message: expect.stringContaining('Sign in again'),
    });
    const challenge = String(response.headers['www-authenticate']);
    expect(challenge).toMatch(/^Bearer realm="gatehouse", /);
    expect(challenge).toContain('error="insufficient_user_authentication"');
    expect(challenge).toMatch(/error_description="[^"]+"/);
    expect(challenge).toContain(parameter);
  }

  async function redeem(flow: { callback: URL; codeVerifier: string }): Promise<Tokens> {
    const response = await postForm(`${issuer}/oauth/token`, {
      grant_type: 'authorization_code',
      code: flow.callback.searchParams.get('code')!,
      redirect_uri: REDIRECT_URI,
      code_verifier: flow.codeVerifier,
      client_id: clientId,
    });
    expect(response.status).toBe(200);
    return (await response.json()) as Tokens;
  }

  const request = (extra: Record<string, string> = {}) => ({
    issuer,
    clientId,
    redirectUri: REDIRECT_URI,
    scope: 'openid',
    extra,
  });

  /** The code flow in a browser already signed in that need not sign in again: straight back. */
  async function authorizeSignedIn(browser: HttpBrowser): Promise<Tokens> {
    const { url, codeVerifier } = authorizationUrl(request());
    const response = await browser.get(url);
    expect(response.status).toBe(303);
    const callback = new URL(response.headers.get('location')!);
    expect(callback.origin + callback.pathname).toBe(REDIRECT_URI);
    return redeem({ callback, codeVerifier });
  }

  /**
   * The code flow with `extra` (max_age, acr_values) in a browser already signed in: the sign-in page
   * again, the password (and the second step when `secondFactor` gives a code), then the tokens.
   */
  async function stepUp(
    browser: HttpBrowser,
    user: TestUser,
    extra: Record<string, string>,
    secondFactor?: () => Record<string, string>,
  ): Promise<Tokens> {
    const { url, codeVerifier } = authorizationUrl(request(extra));
    const toSignIn = await browser.get(url);
    expect(toSignIn.status).toBe(303);
    const signInPage = new URL(toSignIn.headers.get('location')!, issuer);
    expect(signInPage.pathname).toBe('/signin');
    let signedIn = await browser.post('/signin', {
      email: user.email,
      password: user.password,
      interaction: hiddenInteraction(await (await browser.get(signInPage)).text()),
    });
    if (secondFactor) {
      signedIn = await completeSecondStep(browser, signedIn, secondFactor());
    }
    expect(signedIn.status).toBe(303);
    const back = await browser.get(new URL(signedIn.headers.get('location')!, issuer));
    expect(back.status).toBe(303);
    const callback = new URL(back.headers.get('location')!);
    expect(callback.origin + callback.pathname).toBe(REDIRECT_URI);
    return redeem({ callback, codeVerifier });
  }

  /** Moves the user's sign-ins ten minutes back (and drops auth-api's cached session rows). */
  async function ageSignIns(user: TestUser): Promise<void> {
    const db = auth.get(DataSource);
    await db.query(
      `UPDATE sessions SET auth_time = auth_time - ${TEN_MINUTES} WHERE user_id = $1`,
      [user.id],
    );
    const rows = await db.query<{ id: string }[]>('SELECT id FROM sessions WHERE user_id = $1', [
      user.id,
    ]);
    auth.get(SessionService).forgetSessions(rows.map((row) => row.id));
  }

  describe('@RequireFreshAuth(300)', () => {
    it('refuses a token of a 10-minute-old sign-in, and accepts one after max_age=0', async () => {
      const user = await givenUserAt(issuer);
      const first = await authorizeInBrowser(request(), user);
      const fresh = await redeem(first);
      const accepted = await atNotes('/whoami/assurance', { token: fresh.access_token });
      expect(accepted.statusCode).toBe(200);
      expect(accepted.json()).toMatchObject({ id: user.id, amr: ['pwd'], acr: ACR.password });

      await ageSignIns(user);
      const old = await authorizeSignedIn(first.browser);
      const oldClaims = decodeJwt(old.access_token);
      expect(Math.floor(Date.now() / 1000) - Number(oldClaims.auth_time)).toBeGreaterThan(590);
      expectChallenge(
        await atNotes('/whoami/assurance', { token: old.access_token }),
        'max_age="300"',
      );
      // The Passport strategy applies the same rule through the same code.
      expectChallenge(
        await atNotes('/whoami/passport/assurance', { token: old.access_token }),
        'max_age="300"',
      );
      // Routes without the decorator do not mind.
      expect((await atNotes('/whoami', { token: old.access_token })).statusCode).toBe(200);

      const steppedUp = await stepUp(first.browser, user, { max_age: '0' });
      const claims = decodeJwt(steppedUp.access_token);
      expect(Math.floor(Date.now() / 1000) - Number(claims.auth_time)).toBeLessThan(60);
      for (const url of ['/whoami/assurance', '/whoami/passport/assurance']) {
        const response = await atNotes(url, { token: steppedUp.access_token });
        expect(response.statusCode).toBe(200);
        expect(Date.parse(response.json<{ authenticatedAt: string }>().authenticatedAt)).toBe(
          Number(claims.auth_time) * 1000,
        );
      }
    });

    it('judges a session cookie by its sign-in too', async () => {
      const user = await givenUserAt(issuer);
      const fresh = await givenCookieSessionAt(issuer, user);
      expect((await atNotes('/whoami/assurance', { cookie: fresh.cookie })).statusCode).toBe(200);

      const old = await givenCookieSessionAt(issuer, user);
      await ageSignIns(user);
      expectChallenge(await atNotes('/whoami/assurance', { cookie: old.cookie }), 'max_age="300"');
    });

    it('answers a service token 403: it has no sign-in to renew', async () => {
      const { client, clientSecret } = await auth.get(ClientService).create({
        name: 'reporting',
        grantTypes: ['client_credentials'],
        scopes: ['notes:read'],
      });
      const response = await postForm(`${issuer}/oauth/token`, {
        grant_type: 'client_credentials',
        client_id: client.id,
        client_secret: clientSecret!,
      });
      const { access_token } = (await response.json()) as Tokens;
      for (const url of ['/whoami/assurance', '/notes/export']) {
        const refused = await atNotes(url, { token: access_token });
        expect(refused.statusCode).toBe(403);
        expect(refused.json()).toMatchObject({ error: 'FORBIDDEN' });
      }
    });
  });

  describe('@RequireMfa()', () => {
    let now: number;
    function freezeClock(): void {
      // The middle of a time step: a code is valid for exactly this step ±1.
      now = middleOfCurrentStep();
      clockSpy = vi.spyOn(auth.get(Clock), 'now').mockImplementation(() => new Date(now));
    }
    const codeAt = (secret: string) => totpCode(secret, now);

    it('refuses a password-only token, and accepts one after acr_values with a TOTP code', async () => {
      freezeClock();
      const user = await givenUserAt(issuer);
      const first = await authorizeInBrowser(request(), user);
      const passwordOnly = await redeem(first);
      expect(decodeJwt(passwordOnly.access_token)).toMatchObject({
        amr: ['pwd'],
        acr: ACR.password,
      });
      expectChallenge(
        await atNotes('/notes/export', { token: passwordOnly.access_token }),
        `acr_values="${MFA} phr"`,
      );

      const mfa = auth.get(MfaService);
      const enrolment = await mfa.enrolTotp(await auth.get(UserService).get(user.id));
      const { secret } = enrolment;
      await mfa.confirmTotp(user.id, enrolment.id, codeAt(secret), null);
      now += STEP_MS;

      const steppedUp = await stepUp(first.browser, user, { acr_values: MFA }, () => ({
        code: codeAt(secret),
      }));
      expect(decodeJwt(steppedUp.access_token)).toMatchObject({
        amr: expect.arrayContaining(['pwd', 'otp', 'mfa']),
        acr: MFA,
      });
      expect(decodeJwt(steppedUp.id_token!)).toMatchObject({ acr: MFA });
      const exported = await atNotes('/notes/export', { token: steppedUp.access_token });
      expect(exported.statusCode).toBe(200);
      expect(exported.json()).toEqual([]);

      // The browser's session now satisfies acr_values: no sign-in this time.
      const { url } = authorizationUrl(request({ acr_values: MFA }));
      const again = await first.browser.get(url);
      expect(new URL(again.headers.get('location')!).origin).toBe(new URL(REDIRECT_URI).origin);
    });

    it('lets a user without a factor through acr_values with what they have (refused here)', async () => {
      const user = await givenUserAt(issuer);
      const first = await authorizeInBrowser(request(), user);
      const tokens = await stepUp(first.browser, user, { acr_values: MFA });
      expect(decodeJwt(tokens.access_token)).toMatchObject({ acr: ACR.password });
      expectChallenge(
        await atNotes('/notes/export', { token: tokens.access_token }),
        'acr_values=',
      );
    });

    it('judges a session cookie by its sign-in too', async () => {
      const user = await givenUserAt(issuer);
      const session = await givenCookieSessionAt(issuer, user);
      expectChallenge(await atNotes('/notes/export', { cookie: session.cookie }), 'acr_values=');
    });
  });

  it('publishes the acr values nest-auth understands, weakest first', async () => {
    expect(ACR_VALUES_SUPPORTED).toEqual([ACR.password, ACR.mfa, ACR.phishingResistant]);
    const metadata = (await (
      await fetch(`${issuer}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(metadata['acr_values_supported']).toEqual(ACR_VALUES_SUPPORTED);
    expect(metadata['claims_supported']).toEqual(expect.arrayContaining(['acr', 'amr']));
  });
});
