import { randomUUID } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Database } from '@gatehouse/persistence';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { STRONG_PASSWORD, uniqueEmail } from '../support/factories.js';
import { givenCookieSession, givenUser, login, TRUSTED_ORIGIN } from '../support/http.js';
import { givenAdminApi, givenAuthApi } from '../support/test-app.js';

const FORM = 'application/x-www-form-urlencoded';
const UNSUPPORTED_MEDIA_TYPE = {
  statusCode: 415,
  error: 'UNSUPPORTED_MEDIA_TYPE',
  message: 'Send the body as application/json.',
};

type Method = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

function postForm(
  app: NestFastifyApplication,
  method: Method,
  url: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
) {
  return app.inject({
    method,
    url,
    headers: { 'content-type': FORM, origin: TRUSTED_ORIGIN, ...headers },
    payload: new URLSearchParams(fields).toString(),
  });
}

describe('auth-api form bodies', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi();
  });
  afterAll(() => app.close());

  it.each<[Method, string]>([
    ['POST', '/auth/register'],
    ['POST', '/auth/login'],
    ['POST', '/auth/logout'],
    ['POST', '/me/password'],
    ['POST', '/me/sessions/revoke-others'],
    ['DELETE', `/me/sessions/${randomUUID()}`],
  ])('answers a form at %s %s with 415 UNSUPPORTED_MEDIA_TYPE', async (method, url) => {
    const response = await postForm(app, method, url, { email: uniqueEmail(), password: 'x' });
    expect(response.statusCode).toBe(415);
    expect(response.json()).toEqual(UNSUPPORTED_MEDIA_TYPE);
  });

  it('creates no account from a form-encoded registration', async () => {
    const email = uniqueEmail();
    const response = await postForm(app, 'POST', '/auth/register', {
      email,
      password: STRONG_PASSWORD,
    });
    expect(response.statusCode).toBe(415);
    expect(await app.get(Database).users.findByEmail(email)).toBeNull();
  });

  it('answers a JSON document sent as a form (curl -d without a content type) with 415, creating nothing', async () => {
    const email = uniqueEmail();
    const response = await app.inject({
      method: 'POST',
      url: '/auth/register',
      headers: { 'content-type': FORM },
      payload: JSON.stringify({ email, password: STRONG_PASSWORD }),
    });
    expect(response.statusCode).toBe(415);
    expect(response.json()).toEqual(UNSUPPORTED_MEDIA_TYPE);
    expect(await app.get(Database).users.findByEmail(email)).toBeNull();
  });

  it.each(['/auth/password/forgot', '/auth/password/reset'])(
    'answers a form at %s with 415 (a cross-site HTML form cannot reach it)',
    async (url) => {
      const response = await postForm(app, 'POST', url, { email: uniqueEmail(), token: 'x' });
      expect(response.statusCode).toBe(415);
      expect(response.json()).toEqual(UNSUPPORTED_MEDIA_TYPE);
    },
  );

  it('answers another media type with 415 too', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/auth/register',
      headers: { 'content-type': 'text/plain' },
      payload: JSON.stringify({ email: uniqueEmail(), password: STRONG_PASSWORD }),
    });
    expect(response.statusCode).toBe(415);
    expect(response.json()).toEqual(UNSUPPORTED_MEDIA_TYPE);
  });

  it('refuses a form from a signed-in browser and leaves the password alone', async () => {
    const user = await givenUser(app);
    const session = await givenCookieSession(app, user);
    const response = await postForm(
      app,
      'POST',
      '/me/password',
      { currentPassword: user.password, newPassword: 'a brand new passphrase' },
      { cookie: session.cookie },
    );
    expect(response.statusCode).toBe(415);
    expect((await login(app, user)).statusCode).toBe(200);
  });

  it('still answers an unknown route with 404, whatever the body', async () => {
    const response = await postForm(app, 'POST', '/no-such-route', { a: 'b' });
    expect(response.statusCode).toBe(404);
  });

  it('accepts forms at the OAuth token endpoint (RFC 6749 §3.2)', async () => {
    const user = await givenUser(app);
    const response = await postForm(app, 'POST', '/oauth/token', {
      grant_type: 'password',
      client_id: 'gatehouse-first-party',
      username: user.email,
      password: user.password,
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ token_type: 'Bearer' });
  });

  it.each([
    '/oauth/introspect',
    '/oauth/revoke',
    '/oauth/device_authorization',
    '/oauth/authorize/consent',
    '/signin',
    '/device',
    '/device/decision',
    '/oauth/end_session',
    '/oauth/end_session/confirm',
    '/forgot-password',
    '/reset-password',
  ])('parses forms at %s', async (url) => {
    const response = await postForm(app, 'POST', url, { client_id: 'no-such-client' });
    expect(response.statusCode).not.toBe(415);
    expect(response.statusCode).toBeLessThan(500);
  });

  it('documents 415 on JSON-only routes and both media types on the OAuth endpoints', async () => {
    const document = (await app.inject({ method: 'GET', url: '/docs-json' })).json<{
      paths: Record<string, Record<string, OpenApiOperation>>;
    }>();
    expect(document.paths['/auth/register']?.['post']?.responses).toHaveProperty('415');
    const token = document.paths['/oauth/token']?.['post'];
    expect(Object.keys(token?.requestBody?.content ?? {}).sort()).toEqual([
      'application/json',
      FORM,
    ]);
    expect(token?.responses).not.toHaveProperty('415');
  });
});

interface OpenApiOperation {
  readonly requestBody?: { readonly content?: Record<string, unknown> };
  readonly responses: Record<string, unknown>;
}

describe('admin-api form bodies', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAdminApi();
  });
  afterAll(() => app.close());

  it.each<[Method, string]>([
    ['POST', '/admin/clients'],
    ['PATCH', `/admin/clients/${randomUUID()}`],
    ['PUT', `/admin/users/${randomUUID()}/roles`],
    ['POST', `/admin/users/${randomUUID()}/revoke-sessions`],
    ['DELETE', `/admin/sessions/${randomUUID()}`],
  ])('answers a form at %s %s with 415 UNSUPPORTED_MEDIA_TYPE', async (method, url) => {
    const response = await postForm(app, method, url, { name: 'x' });
    expect(response.statusCode).toBe(415);
    expect(response.json()).toEqual(UNSUPPORTED_MEDIA_TYPE);
  });
});
