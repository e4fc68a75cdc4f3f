import { randomUUID } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LightMyRequestResponse } from 'fastify';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  type CookieSession,
  givenCookieSession,
  givenUser,
  login,
  TRUSTED_ORIGIN,
} from '../support/http.js';
import { waitForResetLink } from '../support/reset-mail.js';
import { SmtpInbox } from '../support/smtp-inbox.js';
import { givenAdminApi, givenAuthApi } from '../support/test-app.js';
import { freshDatabaseUrl } from '../support/test-database.js';

const NEW_PASSWORD = 'chosen after the operator sent a link';
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * An operator sends a reset link on a user's behalf (POST /admin/users/:id/password-reset): mailed by
 * auth-api's worker over real SMTP, audited with the operator, usable like a link the user asked for.
 */
describe('POST /admin/users/:id/password-reset', () => {
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;
  let inbox: SmtpInbox;
  let db: DataSource;

  beforeAll(async () => {
    const databaseUrl = await freshDatabaseUrl('admin_reset', { migrated: true });
    inbox = await SmtpInbox.on();
    auth = await givenAuthApi({
      DATABASE_URL: databaseUrl,
      SMTP_URL: inbox.url,
      JOB_POLL_INTERVAL_MS: '200',
    });
    admin = await givenAdminApi({ DATABASE_URL: databaseUrl });
    db = auth.get(DataSource);
  });
  afterAll(async () => {
    await admin?.close();
    await auth?.close();
    await inbox?.stop();
  });

  async function givenOperator(roles: string[] = ['admin']) {
    const user = await givenUser(auth);
    await db.query('UPDATE users SET roles = $2 WHERE id = $1', [user.id, roles]);
    return { user, session: await givenCookieSession(auth, user) };
  }

  function sendReset(session: CookieSession, userId: string): Promise<LightMyRequestResponse> {
    return admin.inject({
      method: 'POST',
      url: `/admin/users/${userId}/password-reset`,
      headers: { cookie: session.cookie, origin: TRUSTED_ORIGIN },
    });
  }

  it('mails the user a working link and audits it with the operator', async () => {
    const operator = await givenOperator();
    const user = await givenUser(auth);

    const response = await sendReset(operator.session, user.id);

    expect(response.statusCode).toBe(202);
    const body = response.json<{ mailId: string; expiresAt: string }>();
    expect(body).toEqual({ mailId: expect.any(String), expiresAt: expect.stringMatching(ISO) });
    const link = await waitForResetLink(inbox, user.email);
    const reset = await auth.inject({
      method: 'POST',
      url: '/auth/password/reset',
      payload: { token: link.token, newPassword: NEW_PASSWORD },
    });
    expect(reset.statusCode).toBe(204);
    expect((await login(auth, { ...user, password: NEW_PASSWORD })).statusCode).toBe(200);
    const events = await db.query<{ actor: string; details: unknown }[]>(
      `SELECT actor, details FROM audit_events
       WHERE action = 'admin.password_reset_sent' AND subject = $1`,
      [`user:${user.id}`],
    );
    expect(events).toEqual([
      { actor: `user:${operator.user.id}`, details: { mailId: body.mailId } },
    ]);
  });

  it('replaces a link the user asked for themselves', async () => {
    const operator = await givenOperator();
    const user = await givenUser(auth);
    const asked = await auth.inject({
      method: 'POST',
      url: '/auth/password/forgot',
      payload: { email: user.email },
    });
    expect(asked.statusCode).toBe(202);
    const own = await waitForResetLink(inbox, user.email, 1);

    expect((await sendReset(operator.session, user.id)).statusCode).toBe(202);
    const sent = await waitForResetLink(inbox, user.email, 2);

    const stale = await auth.inject({
      method: 'POST',
      url: '/auth/password/reset',
      payload: { token: own.token, newPassword: NEW_PASSWORD },
    });
    expect(stale.json()).toMatchObject({ error: 'RESET_TOKEN_INVALID' });
    expect(sent.token).not.toBe(own.token);
  });

  it('answers 404 USER_NOT_FOUND for no such user and 409 USER_DISABLED for a disabled one', async () => {
    const operator = await givenOperator();
    const disabled = await givenUser(auth);
    await db.query('UPDATE users SET disabled_at = now() WHERE id = $1', [disabled.id]);

    const missing = await sendReset(operator.session, randomUUID());
    const refused = await sendReset(operator.session, disabled.id);

    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({
      statusCode: 404,
      error: 'USER_NOT_FOUND',
      message: 'No such user.',
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toEqual({
      statusCode: 409,
      error: 'USER_DISABLED',
      message: 'The account is disabled. Enable it first.',
    });
    const rows = await db.query('SELECT user_id FROM password_resets WHERE user_id = $1', [
      disabled.id,
    ]);
    expect(rows).toEqual([]);
  });

  it('needs users:manage (support operators get 403)', async () => {
    const support = await givenOperator(['support']);
    const user = await givenUser(auth);

    const response = await sendReset(support.session, user.id);

    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ error: 'FORBIDDEN' });
  });
});
