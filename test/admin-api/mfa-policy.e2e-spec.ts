import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Clock } from '@gatehouse/identity';
import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import {
  type CookieSession,
  givenCookieSession,
  givenTokens,
  givenUser,
  login,
  setCookies,
  type TestUser,
  TRUSTED_ORIGIN,
} from '../support/http.js';
import { givenAdminApi, givenAuthApi } from '../support/test-app.js';
import { middleOfCurrentStep, TOTP_STEP_MS, totpCode } from '../support/totp.js';

const FIRST_PARTY = 'gatehouse-first-party';
const MFA_OTP = 'urn:gatehouse:params:oauth:grant-type:mfa-otp';

const ENROLMENT_REQUIRED = {
  statusCode: 403,
  error: 'MFA_ENROLMENT_REQUIRED',
  message:
    'Your role requires a second factor. Enrol one at auth-api /me/mfa (an authenticator app), then sign in again with it.',
};
const SIGN_IN_WITH_FACTOR = {
  statusCode: 401,
  error: 'INSUFFICIENT_USER_AUTHENTICATION',
  message: 'Your role requires a sign-in with your second factor. Sign in again, then retry.',
};
/** RFC 9470 §3. */
const STEP_UP_CHALLENGE =
  'Bearer realm="gatehouse", error="insufficient_user_authentication", error_description="A sign-in with a second factor is required", acr_values="urn:gatehouse:acr:mfa"';

/** What a caller adds to a request: a session cookie (with the trusted Origin), or a bearer token. */
type Credential = { readonly cookie: string } | { readonly token: string };

/**
 * MFA_REQUIRED_ROLES=admin: an operator without a second factor gets 403 MFA_ENROLMENT_REQUIRED on
 * every admin-api route, by cookie and by bearer token; once enrolled (at auth-api /me/mfa, with a code
 * from otplib) a session signed in with the password alone gets RFC 9470's step-up challenge, and a
 * new sign-in with the code passes. Without the variable nothing changes.
 */
describe('MFA_REQUIRED_ROLES at admin-api', () => {
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;
  let adminByDefault: NestFastifyApplication;
  let db: DataSource;
  /** auth-api's clock, frozen and moved by a test (codes are computed from it). */
  let now: number;
  let clockSpy: { mockRestore(): void } | undefined;

  beforeAll(async () => {
    auth = await givenAuthApi();
    admin = await givenAdminApi({ MFA_REQUIRED_ROLES: 'admin' });
    adminByDefault = await givenAdminApi();
    db = auth.get(DataSource);
  });
  afterAll(async () => {
    await adminByDefault?.close();
    await admin?.close();
    await auth?.close();
  });
  afterEach(() => clockSpy?.mockRestore());

  function freezeClock(): void {
    now = middleOfCurrentStep();
    clockSpy = vi.spyOn(auth.get(Clock), 'now').mockImplementation(() => new Date(now));
  }

  async function givenOperator(roles: string[]): Promise<TestUser> {
    const user = await givenUser(auth);
    await db.query('UPDATE users SET roles = $2 WHERE id = $1', [user.id, roles]);
    return user;
  }

  function call(
    app: NestFastifyApplication,
    method: 'GET' | 'POST',
    url: string,
    credential: Credential,
  ): Promise<LightMyRequestResponse> {
    return app.inject({
      method,
      url,
      headers:
        'token' in credential
          ? { authorization: `Bearer ${credential.token}` }
          : { cookie: credential.cookie, origin: TRUSTED_ORIGIN },
    });
  }

  /** Enrols an authenticator app through auth-api's /me/mfa routes, as the operator would. */
  async function enrolThroughMe(session: CookieSession): Promise<string> {
    const started = await auth.inject({
      method: 'POST',
      url: '/me/mfa/totp',
      headers: { cookie: session.cookie, origin: TRUSTED_ORIGIN },
    });
    expect(started.statusCode).toBe(201);
    const { id, secret } = started.json<{ id: string; secret: string }>();
    const confirmed = await auth.inject({
      method: 'POST',
      url: `/me/mfa/totp/${id}/confirm`,
      headers: { cookie: session.cookie, origin: TRUSTED_ORIGIN },
      payload: { code: totpCode(secret, now) },
    });
    expect(confirmed.statusCode).toBe(200);
    // The code is spent: the next sign-in happens one time step later.
    now += TOTP_STEP_MS;
    return secret;
  }

  /** Password, then the code: a cookie session whose sign-in used the second factor. */
  async function signInWithCode(user: TestUser, secret: string): Promise<CookieSession> {
    const first = await login(auth, user);
    expect(first.statusCode).toBe(200);
    const { mfaToken } = first.json<{ mfaRequired: true; mfaToken: string }>();
    const second = await auth.inject({
      method: 'POST',
      url: '/auth/login/mfa',
      headers: { origin: TRUSTED_ORIGIN },
      payload: { mfaToken, code: totpCode(secret, now) },
    });
    expect(second.statusCode).toBe(200);
    const token = /^gh_session=([^;]+);/.exec(setCookies(second)[0] ?? '')?.[1];
    expect(token).toBeDefined();
    return {
      sessionId: second.json<{ session: { id: string } }>().session.id,
      token: token!,
      cookie: `gh_session=${token!}`,
    };
  }

  /** The first-party password grant, then the mfa-otp grant with a code: an admin token. */
  async function tokenWithCode(user: TestUser, secret: string): Promise<string> {
    const form = (params: Record<string, string>) =>
      auth.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ client_id: FIRST_PARTY, ...params }).toString(),
      });
    const password = await form({
      grant_type: 'password',
      username: user.email,
      password: user.password,
    });
    expect(password.json()).toMatchObject({ error: 'mfa_required' });
    const tokens = await form({
      grant_type: MFA_OTP,
      mfa_token: password.json<{ mfa_token: string }>().mfa_token,
      otp: totpCode(secret, now),
    });
    expect(tokens.statusCode).toBe(200);
    return tokens.json<{ access_token: string }>().access_token;
  }

  it('refuses an operator without a factor on every route, cookie and bearer, with 403 MFA_ENROLMENT_REQUIRED', async () => {
    const operator = await givenOperator(['admin']);
    const someone = await givenUser(auth);
    const cookie = { cookie: (await givenCookieSession(auth, operator)).cookie };
    const bearer = { token: (await givenTokens(auth, operator)).access_token };

    for (const credential of [cookie, bearer]) {
      for (const url of ['/admin/users', '/admin/sessions?limit=5', '/admin/keys']) {
        const response = await call(admin, 'GET', url, credential);
        expect(response.statusCode, url).toBe(403);
        expect(response.json()).toEqual(ENROLMENT_REQUIRED);
      }
      const write = await call(admin, 'POST', `/admin/users/${someone.id}/disable`, credential);
      expect(write.statusCode).toBe(403);
      expect(write.json()).toEqual(ENROLMENT_REQUIRED);
    }
    const [row] = await db.query<{ disabled_at: Date | null }[]>(
      'SELECT disabled_at FROM users WHERE id = $1',
      [someone.id],
    );
    expect(row).toEqual({ disabled_at: null });
    // The health probes are public: no caller, no policy.
    expect((await admin.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
  });

  it('after enrolling at /me/mfa: the password-only session gets the step-up challenge; a sign-in with the code passes', async () => {
    freezeClock();
    const operator = await givenOperator(['admin']);
    const passwordOnly = await givenCookieSession(auth, operator);
    const passwordOnlyToken = (await givenTokens(auth, operator)).access_token;
    expect(decodeJwt(passwordOnlyToken)).toMatchObject({ amr: ['pwd'] });

    const secret = await enrolThroughMe(passwordOnly);

    for (const credential of [{ cookie: passwordOnly.cookie }, { token: passwordOnlyToken }]) {
      const stale = await call(admin, 'GET', '/admin/users', credential);
      expect(stale.statusCode).toBe(401);
      expect(stale.json()).toEqual(SIGN_IN_WITH_FACTOR);
      expect(stale.headers['www-authenticate']).toBe(STEP_UP_CHALLENGE);
    }

    const cookie = await signInWithCode(operator, secret);
    now += TOTP_STEP_MS;
    const token = await tokenWithCode(operator, secret);
    expect(decodeJwt(token)).toMatchObject({ amr: ['pwd', 'otp', 'mfa'] });

    const byCookie = await call(admin, 'GET', '/admin/users', { cookie: cookie.cookie });
    const byToken = await call(admin, 'GET', '/admin/sessions?limit=5', { token });
    expect(byCookie.statusCode).toBe(200);
    expect(byToken.statusCode).toBe(200);
  });

  it('leaves roles that are not listed alone (support), and users without a role get 403 FORBIDDEN as before', async () => {
    const support = await givenOperator(['support']);
    const plain = await givenUser(auth);

    const supported = await call(admin, 'GET', '/admin/sessions?limit=5', {
      cookie: (await givenCookieSession(auth, support)).cookie,
    });
    const refused = await call(admin, 'GET', '/admin/users', {
      cookie: (await givenCookieSession(auth, plain)).cookie,
    });

    expect(supported.statusCode).toBe(200);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ error: 'FORBIDDEN' });
  });

  it('changes nothing without MFA_REQUIRED_ROLES: an operator without a factor is served', async () => {
    const operator = await givenOperator(['admin']);
    const cookie = { cookie: (await givenCookieSession(auth, operator)).cookie };
    const bearer = { token: (await givenTokens(auth, operator)).access_token };

    for (const credential of [cookie, bearer]) {
      expect((await call(adminByDefault, 'GET', '/admin/users', credential)).statusCode).toBe(200);
    }
  });
});
