import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  type CookieSession,
  givenCookieSession,
  givenOperatorSession,
  givenUser,
  TRUSTED_ORIGIN,
} from '../support/http.js';
import { givenAdminApi, givenAuthApi } from '../support/test-app.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('POST /admin/users/:id/email-verified', () => {
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;

  beforeAll(async () => {
    auth = await givenAuthApi();
    admin = await givenAdminApi();
  });
  afterAll(async () => {
    await admin?.close();
    await auth?.close();
  });

  function as(session: CookieSession, method: 'GET' | 'POST', url: string) {
    return admin.inject({
      method,
      url,
      headers: { cookie: session.cookie, origin: TRUSTED_ORIGIN },
    });
  }

  it('shows the verification state, marks the address verified and audits it with the operator', async () => {
    const operator = await givenOperatorSession(auth);
    const user = await givenUser(auth);
    const before = await as(operator, 'GET', `/admin/users/${user.id}`);
    expect(before.json()).toMatchObject({ email: user.email, emailVerifiedAt: null });

    const marked = await as(operator, 'POST', `/admin/users/${user.id}/email-verified`);
    expect(marked.statusCode).toBe(200);
    const body = marked.json<{ emailVerifiedAt: string }>();
    expect(body).toMatchObject({
      id: user.id,
      email: user.email,
      emailVerifiedAt: expect.stringMatching(ISO),
    });
    // Marking again keeps the first date.
    const again = await as(operator, 'POST', `/admin/users/${user.id}/email-verified`);
    expect(again.json()).toMatchObject({ emailVerifiedAt: body.emailVerifiedAt });

    const listed = await as(
      operator,
      'GET',
      `/admin/users?email=${encodeURIComponent(user.email)}`,
    );
    expect(listed.json()).toMatchObject({
      items: [{ id: user.id, emailVerifiedAt: body.emailVerifiedAt }],
    });
    const me = await auth.inject({
      method: 'GET',
      url: '/me',
      headers: { cookie: (await givenCookieSession(auth, user)).cookie },
    });
    expect(me.json()).toMatchObject({ user: { emailVerified: true } });

    const events = await auth
      .get(DataSource)
      .query<{ actor: string; details: Record<string, unknown> }[]>(
        `SELECT actor, details FROM audit_events WHERE action = 'admin.user_email_verified' AND subject = $1 ORDER BY at`,
        [`user:${user.id}`],
      );
    expect(events).toHaveLength(2);
    expect(events[0]).toEqual({
      actor: expect.stringMatching(/^user:/),
      details: { email: user.email, alreadyVerified: false },
    });
    expect(events[1]!.details).toEqual({ email: user.email, alreadyVerified: true });
  });

  it('answers 404 USER_NOT_FOUND for an unknown user and 403 for a user without users:manage', async () => {
    const operator = await givenOperatorSession(auth);
    const unknown = await as(
      operator,
      'POST',
      '/admin/users/5f1d7a2e-8c4b-4e0a-b1f2-3c4d5e6f7a8b/email-verified',
    );
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: 'USER_NOT_FOUND' });

    const user = await givenUser(auth);
    const plain = await givenCookieSession(auth, user);
    const refused = await as(plain, 'POST', `/admin/users/${user.id}/email-verified`);
    expect(refused.statusCode).toBe(403);
  });
});
