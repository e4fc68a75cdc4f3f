import { randomBytes, randomUUID } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { MfaService } from '@gatehouse/identity';
import { Database } from '@gatehouse/persistence';
import type { LightMyRequestResponse } from 'fastify';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  type CookieSession,
  givenCookieSession,
  givenTokens,
  givenUser,
  login,
  SESSION_REVOKED,
  type TestUser,
  TRUSTED_ORIGIN,
} from '../support/http.js';
import { givenAdminApi, givenAuthApi } from '../support/test-app.js';
import { totpCode } from '../support/totp.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

interface Enrolled extends TestUser {
  readonly factorId: string;
  readonly secret: string;
  readonly recoveryCodes: readonly string[];
}

/**
 * Operators and users' second factors: `GET /admin/users/:id/mfa` lists them without secrets;
 * `DELETE /admin/users/:id/mfa` resets them for a user who lost their authenticator (factors and
 * recovery codes gone, every session ended, audited, mailed), after which the password alone signs
 * the user in.
 */
describe('/admin/users/:id/mfa: listing and resetting a user’s second factors', () => {
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;
  let db: DataSource;
  let operator: TestUser;
  let operatorSession: CookieSession;

  beforeAll(async () => {
    auth = await givenAuthApi();
    admin = await givenAdminApi();
    db = auth.get(DataSource);
    operator = await givenOperator(['admin']);
    operatorSession = await givenCookieSession(auth, operator);
  });
  afterAll(async () => {
    await admin?.close();
    await auth?.close();
  });

  async function givenOperator(roles: string[]): Promise<TestUser> {
    const user = await givenUser(auth);
    await db.query('UPDATE users SET roles = $2 WHERE id = $1', [user.id, roles]);
    return user;
  }

  /** A TOTP factor enrolled and confirmed with a code computed by otplib. */
  async function enrol(user: TestUser): Promise<Enrolled> {
    const mfa = auth.get(MfaService);
    const enrolment = await mfa.enrolTotp(user);
    const recoveryCodes = await mfa.confirmTotp(
      user.id,
      enrolment.id,
      totpCode(enrolment.secret, Date.now()),
      null,
    );
    return { ...user, factorId: enrolment.id, secret: enrolment.secret, recoveryCodes };
  }

  /**
   * A passkey row as registration stores it (the ceremony itself is the passkeys spec's business):
   * what the reset must remove along with the TOTP factors.
   */
  async function givenPasskey(user: TestUser): Promise<string> {
    const passkey = await auth.get(Database).mfa.createPasskey({
      userId: user.id,
      credentialId: randomBytes(32),
      publicKey: randomBytes(77),
      signCount: 0,
      transports: ['internal'],
      deviceType: 'multiDevice',
      backedUp: true,
      name: 'Laptop',
      createdAt: new Date(),
    });
    return passkey!.id;
  }

  function asOperator(
    method: 'GET' | 'DELETE',
    url: string,
    session: CookieSession = operatorSession,
  ): Promise<LightMyRequestResponse> {
    return admin.inject({
      method,
      url,
      headers: { cookie: session.cookie, origin: TRUSTED_ORIGIN },
    });
  }

  function meAt(headers: Record<string, string>): Promise<LightMyRequestResponse> {
    return auth.inject({ method: 'GET', url: '/me', headers });
  }

  it('lists the factors and the recovery codes left, never a secret or a code', async () => {
    const user = await enrol(await givenUser(auth));
    const passkeyId = await givenPasskey(user);
    const nothing = await givenUser(auth);

    const listed = await asOperator('GET', `/admin/users/${user.id}/mfa`);
    const empty = await asOperator('GET', `/admin/users/${nothing.id}/mfa`);

    expect(listed.statusCode).toBe(200);
    expect(listed.json()).toEqual({
      factors: [
        {
          id: user.factorId,
          kind: 'totp',
          createdAt: expect.stringMatching(ISO),
          lastUsedAt: expect.stringMatching(ISO),
        },
        {
          id: passkeyId,
          kind: 'passkey',
          name: 'Laptop',
          createdAt: expect.stringMatching(ISO),
          lastUsedAt: null,
        },
      ],
      recoveryCodesRemaining: 10,
    });
    expect(listed.body).not.toContain(user.secret);
    for (const code of user.recoveryCodes) {
      expect(listed.body).not.toContain(code);
    }
    expect(empty.statusCode).toBe(200);
    expect(empty.json()).toEqual({ factors: [], recoveryCodesRemaining: 0 });
  });

  it('resets: factors and codes gone, every session ended, audited, mailed; then the password alone signs in', async () => {
    const user = await givenUser(auth);
    const cookie = await givenCookieSession(auth, user);
    const tokens = await givenTokens(auth, user);
    await enrol(user);
    await givenPasskey(user);
    const before = await login(auth, user);
    expect(before.json()).toMatchObject({ mfaRequired: true });

    const response = await asOperator('DELETE', `/admin/users/${user.id}/mfa`);

    expect(response.statusCode).toBe(200);
    const body = response.json<{ revokedSessionIds: string[]; mailId: string }>();
    expect(body).toEqual({
      factorsRemoved: 2,
      recoveryCodesRemoved: 10,
      revokedSessionIds: expect.any(Array),
      mailId: expect.any(String),
    });
    expect(body.revokedSessionIds).toHaveLength(2);
    expect(body.revokedSessionIds).toContain(cookie.sessionId);

    const [left] = await db.query<
      { factors: number; passkeys: number; codes: number; challenges: number }[]
    >(
      `SELECT (SELECT count(*)::int FROM mfa_factors WHERE user_id = $1) AS factors,
         (SELECT count(*)::int FROM webauthn_credentials WHERE user_id = $1) AS passkeys,
         (SELECT count(*)::int FROM mfa_recovery_codes WHERE user_id = $1) AS codes,
         (SELECT count(*)::int FROM mfa_challenges WHERE user_id = $1) AS challenges`,
      [user.id],
    );
    expect(left).toEqual({ factors: 0, passkeys: 0, codes: 0, challenges: 0 });

    const sessions = await db.query<{ reason: string; by: string }[]>(
      `SELECT revoked_reason AS reason, revoked_by AS by FROM sessions
       WHERE user_id = $1 AND revoked_at IS NOT NULL ORDER BY created_at`,
      [user.id],
    );
    expect(sessions).toEqual([
      { reason: 'mfa_reset', by: `user:${operator.id}` },
      { reason: 'mfa_reset', by: `user:${operator.id}` },
    ]);
    // auth-api is another process in production: it hears of the revocation through the feed.
    await expect
      .poll(async () => (await meAt({ cookie: cookie.cookie })).statusCode, {
        timeout: 2000,
        interval: 5,
      })
      .toBe(401);
    expect((await meAt({ cookie: cookie.cookie })).json()).toEqual(SESSION_REVOKED);
    await expect
      .poll(
        async () => (await meAt({ authorization: `Bearer ${tokens.access_token}` })).statusCode,
        { timeout: 2000, interval: 5 },
      )
      .toBe(401);
    const bearer = await meAt({ authorization: `Bearer ${tokens.access_token}` });
    expect(bearer.json()).toEqual(SESSION_REVOKED);

    const events = await db.query<{ actor: string; details: unknown }[]>(
      `SELECT actor, details FROM audit_events
       WHERE action = 'mfa.reset_by_operator' AND subject = $1`,
      [`user:${user.id}`],
    );
    expect(events).toEqual([
      {
        actor: `user:${operator.id}`,
        details: {
          factorsRemoved: 2,
          recoveryCodesRemoved: 10,
          revokedSessionIds: body.revokedSessionIds,
        },
      },
    ]);
    const mails = await db.query<{ id: string; template: string }[]>(
      'SELECT id, template FROM mail_messages WHERE recipient = $1 AND template = $2',
      [user.email, 'mfa-reset'],
    );
    expect(mails).toEqual([{ id: body.mailId, template: 'mfa-reset' }]);

    const after = await login(auth, user);
    expect(after.statusCode).toBe(200);
    expect(after.json()).toMatchObject({
      user: { id: user.id },
      session: { id: expect.any(String) },
    });
    expect(after.json()).not.toHaveProperty('mfaRequired');
    const listed = await asOperator('GET', `/admin/users/${user.id}/mfa`);
    expect(listed.json()).toEqual({ factors: [], recoveryCodesRemaining: 0 });
  });

  it("refuses an operator's own factors (403 MFA_RESET_OWN_FACTORS): they are managed at /me/mfa", async () => {
    const candidate = await givenOperator(['admin']);
    const own = await givenCookieSession(auth, candidate);
    const self = await enrol(candidate);

    const refused = await asOperator('DELETE', `/admin/users/${self.id}/mfa`, own);

    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toEqual({
      statusCode: 403,
      error: 'MFA_RESET_OWN_FACTORS',
      message:
        'Operators cannot reset their own factors here: manage them at auth-api /me/mfa, or ask another operator.',
    });
    const listed = await asOperator('GET', `/admin/users/${self.id}/mfa`);
    expect(listed.json()).toMatchObject({ factors: [{ id: self.factorId }] });
  });

  it('answers 404 USER_NOT_FOUND for no such user and 400 for an id that is not a UUID', async () => {
    for (const method of ['GET', 'DELETE'] as const) {
      const missing = await asOperator(method, `/admin/users/${randomUUID()}/mfa`);
      expect(missing.statusCode).toBe(404);
      expect(missing.json()).toEqual({
        statusCode: 404,
        error: 'USER_NOT_FOUND',
        message: 'No such user.',
      });
      const bad = await asOperator(method, '/admin/users/not-a-uuid/mfa');
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({
        error: 'VALIDATION_FAILED',
        details: [{ field: 'id', messages: ['id must be a UUID'] }],
      });
    }
  });

  it('needs users:manage: a user without a role and a support operator get 403, nothing changes', async () => {
    const user = await enrol(await givenUser(auth));
    const plain = await givenCookieSession(auth, await givenUser(auth));
    const support = await givenCookieSession(auth, await givenOperator(['support']));

    for (const session of [plain, support]) {
      for (const method of ['GET', 'DELETE'] as const) {
        const response = await asOperator(method, `/admin/users/${user.id}/mfa`, session);
        expect(response.statusCode).toBe(403);
        expect(response.json()).toEqual({
          statusCode: 403,
          error: 'FORBIDDEN',
          message: 'Missing capability: users:manage.',
        });
      }
    }
    const [row] = await db.query<{ count: number }[]>(
      'SELECT count(*)::int AS count FROM mfa_factors WHERE user_id = $1',
      [user.id],
    );
    expect(row).toEqual({ count: 1 });
  });
});
