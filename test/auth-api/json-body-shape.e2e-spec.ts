import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { STRONG_PASSWORD, uniqueEmail } from '../support/factories.js';
import { TRUSTED_ORIGIN } from '../support/http.js';
import { givenAdminApi, givenAuthApi } from '../support/test-app.js';

const TOO_DEEP = 'JSON bodies may nest objects and arrays at most 32 levels deep.';
const TOO_LONG = 'JSON arrays may hold at most 1000 items.';
/** 40 KB: within the default body limit. */
const DEEP = '['.repeat(20_000) + ']'.repeat(20_000);
/** 200 KB: the apps below take bodies up to 1 MiB so that the array, not the size, is refused. */
const LONG = `[${Array.from({ length: 100_000 }, () => '0').join(',')}]`;

const refused = (message: string) => ({
  statusCode: 400,
  error: 'VALIDATION_FAILED',
  message,
  details: [{ field: 'body', messages: [message] }],
});

/**
 * No timing assertions here: that the refusal is cheap follows from where it happens (one pass over
 * the bytes that stops at the first level or item too many, before JSON.parse; see
 * libs/http/src/json-body-shape.ts), and a 20 000-level body that reached JSON.parse would be a 500.
 */
async function postJson(app: NestFastifyApplication, url: string, payload: string) {
  const response = await app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', origin: TRUSTED_ORIGIN },
    payload,
  });
  return { response };
}

describe.each([
  ['auth-api', givenAuthApi, ['/auth/register', '/auth/login', '/me/password']],
  ['admin-api', givenAdminApi, ['/admin/clients', '/admin/users/x/revoke-sessions']],
])('%s JSON bodies', (_name, givenApp, urls) => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenApp({ HTTP_BODY_LIMIT_BYTES: String(1024 * 1024) });
  });
  afterAll(() => app.close());

  it.each(urls)(
    'answers 20 000 levels of nesting at %s with 400 VALIDATION_FAILED, before authentication',
    async (url) => {
      const { response } = await postJson(app, url, DEEP);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual(refused(TOO_DEEP));
    },
  );

  it.each(urls)(
    'answers an array of 100 000 items at %s with 400 VALIDATION_FAILED',
    async (url) => {
      const { response } = await postJson(app, url, LONG);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual(refused(TOO_LONG));
    },
  );
});

describe('POST /oauth/token with a JSON body', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi({ HTTP_BODY_LIMIT_BYTES: String(1024 * 1024) });
  });
  afterAll(() => app.close());

  it.each([
    ['20 000 levels of nesting', DEEP, TOO_DEEP],
    ['an array of 100 000 items', LONG, TOO_LONG],
  ])('answers %s with 400 invalid_request', async (_case, payload, description) => {
    const { response } = await postJson(app, '/oauth/token', payload);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'invalid_request', error_description: description });
  });

  it('still parses an ordinary JSON token request', async () => {
    const { response } = await postJson(
      app,
      '/oauth/token',
      JSON.stringify({ grant_type: 'client_credentials', client_id: 'no-such-client' }),
    );
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ error: 'invalid_client' });
  });
});

describe('ordinary JSON bodies', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi();
  });
  afterAll(() => app.close());

  it('are parsed as before: register, then sign in', async () => {
    const email = uniqueEmail();
    const body = JSON.stringify({ email, password: STRONG_PASSWORD });
    expect((await postJson(app, '/auth/register', body)).response.statusCode).toBe(201);
    expect((await postJson(app, '/auth/login', body)).response.statusCode).toBe(200);
  });

  it('keep refusing a __proto__ key (prototype poisoning)', async () => {
    const { response } = await postJson(
      app,
      '/auth/login',
      '{"email":"a@example.com","password":"x","__proto__":{"admin":true}}',
    );
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ statusCode: 400, error: 'BAD_REQUEST' });
  });
});
