import { createHash, randomBytes } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ClientService } from '@gatehouse/identity';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import {
  type CookieSession,
  givenCookieSession,
  givenUser,
  login,
  type TestUser,
  TRUSTED_ORIGIN,
} from '../support/http.js';
import { linkToken } from '../support/mail-links.js';
import { SmtpInbox } from '../support/smtp-inbox.js';
import { givenAuthApi } from '../support/test-app.js';
import { freshDatabaseUrl } from '../support/test-database.js';

const ISSUER = 'http://localhost:3000';
const ARRIVAL = { timeout: 20_000, interval: 100 };
const FIRST_PARTY = 'gatehouse-first-party';
const REDIRECT_URI = 'http://127.0.0.1:8765/callback';
const NOT_VERIFIED = {
  statusCode: 403,
  error: 'EMAIL_NOT_VERIFIED',
  message: 'Confirm your email address first: open the link we mailed you.',
};
const ACCESS_DENIED = {
  error: 'access_denied',
  error_description: 'The email address of the account is not verified.',
};

/**
 * REQUIRE_VERIFIED_EMAIL: login, the sign-in page and every grant that signs a user in refuse an
 * unverified address, only after the right password, and accept it once verified. The code and
 * device grants are started at an instance without the rule (a sign-in that predates it) and
 * redeemed at one with it, on the same database.
 */
describe('REQUIRE_VERIFIED_EMAIL=true', () => {
  let app: NestFastifyApplication;
  let lenient: NestFastifyApplication;
  let inbox: SmtpInbox;
  let clientId: string;

  beforeAll(async () => {
    inbox = await SmtpInbox.on();
    const databaseUrl = await freshDatabaseUrl('require_verified', { migrated: true });
    app = await givenAuthApi({
      DATABASE_URL: databaseUrl,
      SMTP_URL: inbox.url,
      JOB_POLL_INTERVAL_MS: '200',
      REQUIRE_VERIFIED_EMAIL: 'true',
    });
    lenient = await givenAuthApi({ DATABASE_URL: databaseUrl, JOB_WORKER_CONCURRENCY: '0' });
    ({
      client: { id: clientId },
    } = await app.get(ClientService).create({
      name: 'Relying party',
      grantTypes: ['authorization_code'],
      redirectUris: [REDIRECT_URI],
      scopes: ['openid', 'email'],
      public: true,
      requireConsent: false,
    }));
  });
  afterAll(async () => {
    await lenient.close();
    await app.close();
    await inbox.stop();
  });

  async function verify(user: TestUser, count = 1): Promise<void> {
    await vi.waitFor(() => expect(inbox.to(user.email)).toHaveLength(count), ARRIVAL);
    const token = linkToken(inbox.to(user.email).at(-1), '/verify-email');
    const response = await app.inject({
      method: 'POST',
      url: '/auth/email/verify',
      payload: { token },
    });
    expect(response.statusCode).toBe(204);
  }

  function passwordGrant(user: TestUser, password = user.password) {
    return app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: {
        grant_type: 'password',
        client_id: FIRST_PARTY,
        username: user.email,
        password,
        scope: 'openid email',
      },
    });
  }

  /** A code issued by the lenient instance to a browser signed in there. */
  async function codeFor(session: CookieSession): Promise<{ code: string; verifier: string }> {
    const verifier = randomBytes(32).toString('base64url');
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT_URI,
      scope: 'openid email',
      state: 'xyz',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    });
    const response = await lenient.inject({
      method: 'GET',
      url: `/oauth/authorize?${query.toString()}`,
      headers: { cookie: session.cookie },
    });
    expect(response.statusCode).toBe(303);
    const code = new URL(response.headers.location as string).searchParams.get('code');
    expect(code).toEqual(expect.any(String));
    return { code: code!, verifier };
  }

  function redeem({ code, verifier }: { code: string; verifier: string }) {
    return app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: {
        grant_type: 'authorization_code',
        client_id: clientId,
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      },
    });
  }

  /** A device request approved on the lenient instance's device page. */
  async function approvedDeviceCode(session: CookieSession): Promise<string> {
    const started = await app.inject({
      method: 'POST',
      url: '/oauth/device_authorization',
      payload: { client_id: FIRST_PARTY, scope: 'openid email' },
    });
    expect(started.statusCode).toBe(200);
    const { device_code: deviceCode, user_code: userCode } = started.json<{
      device_code: string;
      user_code: string;
    }>();
    const decided = await lenient.inject({
      method: 'POST',
      url: '/device/decision',
      headers: { cookie: session.cookie, origin: ISSUER },
      payload: { user_code: userCode, decision: 'approve' },
    });
    expect(decided.body).toContain('Device connected');
    return deviceCode;
  }

  function poll(deviceCode: string) {
    return app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: {
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        client_id: FIRST_PARTY,
        device_code: deviceCode,
      },
    });
  }

  it('refuses login with 403 EMAIL_NOT_VERIFIED only after the right password, and signs in once verified', async () => {
    const user = await givenUser(app);

    const wrong = await login(app, { email: user.email, password: 'not the right password' });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toMatchObject({ error: 'INVALID_CREDENTIALS' });
    const refused = await login(app, user);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toEqual(NOT_VERIFIED);
    expect(refused.headers['set-cookie']).toBeUndefined();

    await verify(user);
    expect((await login(app, user)).statusCode).toBe(200);
  });

  it('answers the password grant access_denied until the address is verified', async () => {
    const user = await givenUser(app);
    const wrong = await passwordGrant(user, 'not the right password');
    expect(wrong.json()).toMatchObject({ error: 'invalid_grant' });
    const refused = await passwordGrant(user);
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toEqual(ACCESS_DENIED);

    await verify(user);
    const granted = await passwordGrant(user);
    expect(granted.statusCode).toBe(200);
    expect(decodeJwt(granted.json<{ id_token: string }>().id_token)).toMatchObject({
      email: user.email,
      email_verified: true,
    });
  });

  it('answers the authorization code and device grants access_denied until the address is verified', async () => {
    const user = await givenUser(app);
    const session = await givenCookieSession(lenient, user);

    const refusedCode = await redeem(await codeFor(session));
    expect(refusedCode.statusCode).toBe(400);
    expect(refusedCode.json()).toEqual(ACCESS_DENIED);
    const refusedDevice = await poll(await approvedDeviceCode(session));
    expect(refusedDevice.json()).toEqual(ACCESS_DENIED);

    await verify(user);
    const redeemed = await redeem(await codeFor(session));
    expect(redeemed.statusCode).toBe(200);
    expect(decodeJwt(redeemed.json<{ id_token: string }>().id_token)).toMatchObject({
      sub: user.id,
      email: user.email,
      email_verified: true,
    });
    const polled = await poll(await approvedDeviceCode(session));
    expect(polled.statusCode).toBe(200);
  });

  it('shows the sign-in page a resend button, which mails a new link', async () => {
    const user = await givenUser(app);
    await vi.waitFor(() => expect(inbox.to(user.email)).toHaveLength(1), ARRIVAL);

    const page = await app.inject({
      method: 'POST',
      url: '/signin',
      headers: { origin: ISSUER },
      payload: { email: user.email, password: user.password },
    });
    expect(page.statusCode).toBe(403);
    expect(page.headers['set-cookie']).toBeUndefined();
    expect(page.body).toContain('Confirm your email address first');
    const ticket = /<input type="hidden" name="ticket" value="([^"]+)">/.exec(page.body)?.[1];
    expect(ticket).toEqual(expect.any(String));

    const forged = await app.inject({
      method: 'POST',
      url: '/verify-email/resend',
      headers: { origin: ISSUER },
      payload: { ticket: `${ticket!.slice(0, -2)}AA` },
    });
    expect(forged.statusCode).toBe(400);
    const crossSite = await app.inject({
      method: 'POST',
      url: '/verify-email/resend',
      headers: { origin: 'https://evil.example' },
      payload: { ticket: ticket! },
    });
    expect(crossSite.statusCode).toBe(403);

    const resent = await app.inject({
      method: 'POST',
      url: '/verify-email/resend',
      headers: { origin: ISSUER },
      payload: { ticket: ticket! },
    });
    expect(resent.statusCode).toBe(200);
    expect(resent.body).toContain('We have sent you a new link.');
    await verify(user, 2);

    const signedIn = await app.inject({
      method: 'POST',
      url: '/signin',
      headers: { origin: TRUSTED_ORIGIN },
      payload: { email: user.email, password: user.password },
    });
    expect(signedIn.statusCode).toBe(200);
  });
});
