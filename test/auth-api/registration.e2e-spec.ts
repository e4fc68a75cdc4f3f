import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Database } from '@gatehouse/persistence';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { STRONG_PASSWORD, uniqueEmail } from '../support/factories.js';
import { givenAuthApi } from '../support/test-app.js';

describe('POST /auth/register', () => {
  let app: NestFastifyApplication;
  let database: Database;

  beforeAll(async () => {
    app = await givenAuthApi();
    database = app.get(Database);
  });
  afterAll(() => app.close());

  const register = (payload: unknown) =>
    app.inject({ method: 'POST', url: '/auth/register', payload: payload as object });

  it('creates the account and answers 201 without any secret', async () => {
    const email = uniqueEmail();
    const response = await register({ email, password: STRONG_PASSWORD });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      email,
      emailVerified: false,
      roles: [],
      createdAt: expect.any(String),
    });
    expect(response.body).not.toContain('argon2');
  });

  it('stores only an argon2id hash with the OWASP parameters', async () => {
    const email = uniqueEmail();
    await register({ email, password: STRONG_PASSWORD });
    const user = await database.users.findByEmail(email);
    expect(user?.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(user?.passwordHash).not.toContain(STRONG_PASSWORD);
  });

  it('trims and lower-cases the email', async () => {
    const email = uniqueEmail();
    const response = await register({
      email: `  ${email.toUpperCase()} `,
      password: STRONG_PASSWORD,
    });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({ email });
  });

  it('answers 409 EMAIL_TAKEN for the same email in other letter case', async () => {
    const email = uniqueEmail();
    await register({ email, password: STRONG_PASSWORD });
    const response = await register({ email: email.toUpperCase(), password: STRONG_PASSWORD });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toEqual({
      statusCode: 409,
      error: 'EMAIL_TAKEN',
      message: 'An account with this email already exists.',
    });
  });

  it('creates exactly one account when the same email registers concurrently', async () => {
    const email = uniqueEmail();
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => register({ email, password: STRONG_PASSWORD })),
    );
    expect(responses.map((response) => response.statusCode).sort()).toEqual([
      201, 409, 409, 409, 409,
    ]);
  });

  it('records a user.registered audit event', async () => {
    const email = uniqueEmail();
    const { id } = (await register({ email, password: STRONG_PASSWORD })).json<{ id: string }>();
    const events = await database.auditEvents.listForSubject(`user:${id}`);
    expect(events).toMatchObject([{ action: 'user.registered', actor: `user:${id}` }]);
    expect(JSON.stringify(events)).not.toContain(STRONG_PASSWORD);
  });

  it.each([
    [
      'a malformed email',
      { email: 'not-an-email', password: STRONG_PASSWORD },
      [{ field: 'email', messages: ['email must be a valid email address'] }],
    ],
    [
      'a short password',
      { email: 'short@example.com', password: 'abc123' },
      [{ field: 'password', messages: ['password must be at least 8 characters long'] }],
    ],
    [
      'a common password',
      { email: 'common@example.com', password: 'Password123' },
      [{ field: 'password', messages: ['password is too common; choose a less predictable one'] }],
    ],
    [
      'a password that is the email',
      { email: 'grace.hopper@example.com', password: 'grace.hopper@example.com' },
      [{ field: 'password', messages: ['password must not be the same as the email address'] }],
    ],
    [
      'an unknown extra field',
      { email: 'extra@example.com', password: STRONG_PASSWORD, role: 'admin' },
      [{ field: 'role', messages: ['property role should not exist'] }],
    ],
    [
      'a wrong type',
      { email: 'types@example.com', password: 12345678 },
      [{ field: 'password', messages: ['password must be a string'] }],
    ],
    [
      'missing fields',
      {},
      [
        { field: 'email', messages: ['email is required'] },
        { field: 'password', messages: ['password is required'] },
      ],
    ],
    [
      'a missing password beside an invalid email',
      { email: 'x'.repeat(300) },
      [
        {
          field: 'email',
          messages: [
            'email must be shorter than or equal to 254 characters',
            'email must be a valid email address',
          ],
        },
        { field: 'password', messages: ['password is required'] },
      ],
    ],
    [
      'a null email (present, so judged as a value)',
      { email: null, password: STRONG_PASSWORD },
      [
        {
          field: 'email',
          messages: [
            'email must be shorter than or equal to 254 characters',
            'email must be a valid email address',
          ],
        },
      ],
    ],
  ])(
    'answers 400 VALIDATION_FAILED with field messages for %s',
    async (_case, payload, details) => {
      const response = await register(payload);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({
        statusCode: 400,
        error: 'VALIDATION_FAILED',
        message: 'The request is invalid.',
        details,
      });
    },
  );

  it('writes nothing when validation fails', async () => {
    const email = uniqueEmail();
    await register({ email, password: 'password' });
    expect(await database.users.findByEmail(email)).toBeNull();
  });

  it('answers 400 for a body that is not valid JSON', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/auth/register',
      headers: { 'content-type': 'application/json' },
      payload: '{"email":',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ statusCode: 400, error: 'BAD_REQUEST' });
  });

  it('answers 415 for a body that is not JSON', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/auth/register',
      headers: { 'content-type': 'text/plain' },
      payload: 'email=a@b.c',
    });
    expect(response.statusCode).toBe(415);
    expect(response.json()).toMatchObject({ statusCode: 415, error: 'UNSUPPORTED_MEDIA_TYPE' });
  });

  it('answers 413 PAYLOAD_TOO_LARGE above the body limit', async () => {
    const response = await register({ email: 'big@example.com', password: 'x'.repeat(70_000) });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toMatchObject({ statusCode: 413, error: 'PAYLOAD_TOO_LARGE' });
  });
});

describe('POST /auth/register probing for accounts', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi({ LOGIN_MAX_ATTEMPTS_PER_IP: '3' });
  });
  afterAll(() => app.close());

  const register = (email: string, remoteAddress: string) =>
    app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email, password: STRONG_PASSWORD },
      remoteAddress,
    });

  it('spends the IP failure budget on EMAIL_TAKEN answers, so enumeration is rate-limited', async () => {
    const prober = '198.51.100.20';
    const taken = uniqueEmail();
    expect((await register(taken, '198.51.100.21')).statusCode).toBe(201);
    // Successful registrations give their point back: an office behind one IP can sign up freely.
    for (let i = 0; i < 5; i += 1) {
      expect((await register(uniqueEmail(), prober)).statusCode).toBe(201);
    }
    for (let i = 0; i < 3; i += 1) {
      expect((await register(taken, prober)).statusCode).toBe(409);
    }
    const limited = await register(uniqueEmail(), prober);
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toEqual({
      statusCode: 429,
      error: 'RATE_LIMITED',
      message: 'Too many attempts. Retry later.',
    });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await register(uniqueEmail(), '198.51.100.22')).statusCode).toBe(201);
  });
});
