import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { decodeBase32IgnorePadding } from '@oslojs/encoding';
import { Clock } from '@gatehouse/identity';
import type { LightMyRequestResponse } from 'fastify';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import {
  type CookieSession,
  givenCookieSession,
  givenUser,
  login,
  setCookies,
  type TestUser,
  TRUSTED_ORIGIN,
} from '../support/http.js';
import { givenAuthApi } from '../support/test-app.js';
import { middleOfCurrentStep, TOTP_STEP_MS as STEP_MS, totpCode } from '../support/totp.js';

interface Enrolment {
  readonly id: string;
  readonly secret: string;
  readonly uri: string;
  readonly qrSvg: string;
}

describe('/me/mfa: enrolling, listing and removing second factors', () => {
  let app: NestFastifyApplication;
  let now: number;
  let clockSpy: { mockRestore(): void } | undefined;

  beforeAll(async () => {
    app = await givenAuthApi();
  });
  afterAll(() => app?.close());
  afterEach(() => clockSpy?.mockRestore());

  function freezeClock(): void {
    now = middleOfCurrentStep();
    clockSpy = vi.spyOn(app.get(Clock), 'now').mockImplementation(() => new Date(now));
  }

  function codeAt(secret: string, offset = 0): string {
    return totpCode(secret, now, offset);
  }

  function call(
    session: CookieSession,
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    payload?: object,
  ): Promise<LightMyRequestResponse> {
    return app.inject({
      method,
      url,
      headers: { cookie: session.cookie, origin: TRUSTED_ORIGIN },
      ...(payload ? { payload } : {}),
    });
  }

  async function enrol(session: CookieSession): Promise<Enrolment> {
    const response = await call(session, 'POST', '/me/mfa/totp');
    expect(response.statusCode).toBe(201);
    return response.json<Enrolment>();
  }

  /** Enrolled and confirmed through the routes; the clock then one step on (the code is spent). */
  async function givenConfirmedFactor(
    user: TestUser,
  ): Promise<{ session: CookieSession; enrolment: Enrolment; recoveryCodes: string[] }> {
    const session = await givenCookieSession(app, user);
    const enrolment = await enrol(session);
    const confirmed = await call(session, 'POST', `/me/mfa/totp/${enrolment.id}/confirm`, {
      code: codeAt(enrolment.secret),
    });
    expect(confirmed.statusCode).toBe(200);
    now += STEP_MS;
    return {
      session,
      enrolment,
      recoveryCodes: confirmed.json<{ recoveryCodes: string[] }>().recoveryCodes,
    };
  }

  async function passwordStep(user: TestUser): Promise<LightMyRequestResponse> {
    const response = await login(app, user);
    expect(response.statusCode).toBe(200);
    return response;
  }

  it('enrols an app: secret, otpauth URI and an SVG QR code, kept out of caches', async () => {
    const user = await givenUser(app);
    const session = await givenCookieSession(app, user);

    const response = await call(session, 'POST', '/me/mfa/totp');

    expect(response.statusCode).toBe(201);
    expect(response.headers['cache-control']).toBe('no-store');
    const enrolment = response.json<Enrolment>();
    expect(enrolment.secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(enrolment.uri);
    expect(uri.protocol).toBe('otpauth:');
    expect(
      enrolment.uri.startsWith(`otpauth://totp/Gatehouse:${encodeURIComponent(user.email)}?`),
    ).toBe(true);
    expect(uri.searchParams.get('secret')).toBe(enrolment.secret);
    expect(uri.searchParams.get('issuer')).toBe('Gatehouse');
    expect(enrolment.qrSvg).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  });

  it('confirms with a code: ten recovery codes, the factor listed without its secret', async () => {
    freezeClock();
    const user = await givenUser(app);
    const session = await givenCookieSession(app, user);
    const enrolment = await enrol(session);
    expect((await call(session, 'GET', '/me/mfa')).json()).toEqual([]);

    const wrong = await call(session, 'POST', `/me/mfa/totp/${enrolment.id}/confirm`, {
      code: codeAt(enrolment.secret, 4),
    });
    const confirmed = await call(session, 'POST', `/me/mfa/totp/${enrolment.id}/confirm`, {
      code: codeAt(enrolment.secret),
    });

    expect(wrong.statusCode).toBe(400);
    expect(wrong.json()).toMatchObject({ error: 'MFA_CODE_INVALID' });
    expect(confirmed.statusCode).toBe(200);
    const { recoveryCodes } = confirmed.json<{ recoveryCodes: string[] }>();
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const code of recoveryCodes) {
      expect(code).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);
    }
    const listed = await call(session, 'GET', '/me/mfa');
    expect(listed.json()).toEqual([
      {
        id: enrolment.id,
        kind: 'totp',
        createdAt: expect.any(String),
        lastUsedAt: expect.any(String),
      },
    ]);
    expect(listed.body).not.toContain(enrolment.secret);
  });

  it('enrol, confirm, sign out: the cookie login then demands and accepts a code', async () => {
    freezeClock();
    const user = await givenUser(app);
    const { session, enrolment } = await givenConfirmedFactor(user);
    expect((await call(session, 'POST', '/auth/logout')).statusCode).toBe(204);

    const first = await passwordStep(user);
    expect(setCookies(first)).toEqual([]);
    const { mfaToken } = first.json<{ mfaToken: string }>();
    const second = await app.inject({
      method: 'POST',
      url: '/auth/login/mfa',
      headers: { origin: TRUSTED_ORIGIN },
      payload: { mfaToken, code: codeAt(enrolment.secret) },
    });

    expect(second.statusCode).toBe(200);
    expect(setCookies(second)).toHaveLength(1);
  });

  it('does not confirm a confirmed factor again', async () => {
    freezeClock();
    const { session, enrolment } = await givenConfirmedFactor(await givenUser(app));
    const again = await call(session, 'POST', `/me/mfa/totp/${enrolment.id}/confirm`, {
      code: codeAt(enrolment.secret),
    });
    expect(again.statusCode).toBe(404);
    expect(again.json()).toMatchObject({ error: 'MFA_FACTOR_NOT_FOUND' });
  });

  it('keeps the secret out of the row: only a sealed value is stored', async () => {
    freezeClock();
    const user = await givenUser(app);
    const { enrolment } = await givenConfirmedFactor(user);
    const [row] = await app
      .get(DataSource)
      .query<{ secret_sealed: Buffer }[]>('SELECT secret_sealed FROM mfa_factors WHERE id = $1', [
        enrolment.id,
      ]);
    const raw = Buffer.from(decodeBase32IgnorePadding(enrolment.secret));
    expect(row!.secret_sealed.includes(raw)).toBe(false);
    expect(row!.secret_sealed.toString('latin1')).not.toContain(enrolment.secret);
    expect(row!.secret_sealed.length).toBeGreaterThan(raw.length);
  });

  it('does not count an unconfirmed factor, and drops it after 15 minutes', async () => {
    freezeClock();
    const user = await givenUser(app);
    const session = await givenCookieSession(app, user);
    const enrolment = await enrol(session);

    expect(setCookies(await passwordStep(user))).toHaveLength(1);
    now += 16 * 60_000;
    const late = await call(session, 'POST', `/me/mfa/totp/${enrolment.id}/confirm`, {
      code: codeAt(enrolment.secret),
    });
    expect(late.statusCode).toBe(404);
    expect(late.json()).toMatchObject({ error: 'MFA_FACTOR_NOT_FOUND' });
  });

  it('regenerates recovery codes with the password: the old set stops working', async () => {
    freezeClock();
    const user = await givenUser(app);
    const { session, recoveryCodes: old } = await givenConfirmedFactor(user);

    const refused = await call(session, 'POST', '/me/mfa/recovery-codes', {
      password: 'not the password at all',
    });
    const regenerated = await call(session, 'POST', '/me/mfa/recovery-codes', {
      password: user.password,
    });

    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ error: 'REAUTHENTICATION_FAILED' });
    expect(regenerated.statusCode).toBe(200);
    const fresh = regenerated.json<{ recoveryCodes: string[] }>().recoveryCodes;
    expect(fresh).toHaveLength(10);
    const useCode = async (recoveryCode: string) =>
      app.inject({
        method: 'POST',
        url: '/auth/login/mfa',
        headers: { origin: TRUSTED_ORIGIN },
        payload: {
          mfaToken: (await passwordStep(user)).json<{ mfaToken: string }>().mfaToken,
          recoveryCode,
        },
      });
    expect((await useCode(old[0]!)).statusCode).toBe(401);
    expect((await useCode(fresh[0]!)).statusCode).toBe(200);
  });

  it('removes a factor only with the password (or a code); then the password alone signs in', async () => {
    freezeClock();
    const user = await givenUser(app);
    const { session, enrolment } = await givenConfirmedFactor(user);
    const url = `/me/mfa/${enrolment.id}`;

    expect((await call(session, 'DELETE', url, {})).statusCode).toBe(400);
    const wrong = await call(session, 'DELETE', url, { password: 'not the password at all' });
    expect(wrong.statusCode).toBe(403);
    expect(setCookies(await passwordStep(user))).toEqual([]);

    expect((await call(session, 'DELETE', url, { password: user.password })).statusCode).toBe(204);

    expect((await call(session, 'GET', '/me/mfa')).json()).toEqual([]);
    expect(setCookies(await passwordStep(user))).toHaveLength(1);
    const audit: { action: string }[] = await app
      .get(DataSource)
      .query('SELECT action FROM audit_events WHERE subject = $1', [`user:${user.id}`]);
    expect(audit.map((event) => event.action)).toEqual(
      expect.arrayContaining(['mfa.totp_enrolled', 'mfa.factor_removed']),
    );
  });

  it('removes a factor with a current code instead of the password', async () => {
    freezeClock();
    const user = await givenUser(app);
    const { session, enrolment } = await givenConfirmedFactor(user);
    const removed = await call(session, 'DELETE', `/me/mfa/${enrolment.id}`, {
      code: codeAt(enrolment.secret),
    });
    expect(removed.statusCode).toBe(204);
  });

  it("answers 404 for another user's factor", async () => {
    freezeClock();
    const { enrolment } = await givenConfirmedFactor(await givenUser(app));
    const other = await givenUser(app);
    const otherSession = await givenCookieSession(app, other);
    const response = await call(otherSession, 'DELETE', `/me/mfa/${enrolment.id}`, {
      password: other.password,
    });
    expect(response.statusCode).toBe(404);
  });
});
