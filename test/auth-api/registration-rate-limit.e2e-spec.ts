import { randomInt } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Database } from '@gatehouse/persistence';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { STRONG_PASSWORD, uniqueEmail } from '../support/factories.js';
import { login } from '../support/http.js';
import { givenAuthApi } from '../support/test-app.js';

const RATE_LIMITED = {
  statusCode: 429,
  error: 'RATE_LIMITED',
  message: 'Too many attempts. Retry later.',
};

/** A client IP of its own: per-IP counters (in Redis, shared by concurrent runs) never collide. */
function randomIp(): string {
  return `10.${randomInt(256)}.${randomInt(256)}.${randomInt(256)}`;
}

function register(
  app: NestFastifyApplication,
  remoteAddress: string,
  { email = uniqueEmail(), password = STRONG_PASSWORD } = {},
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email, password },
    remoteAddress,
  });
}

function expectRateLimited(response: LightMyRequestResponse, windowSeconds: number): void {
  expect(response.statusCode).toBe(429);
  expect(response.json()).toEqual(RATE_LIMITED);
  const retryAfter = Number(response.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
}

describe('POST /auth/register per-IP limit (defaults: 10 per hour)', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    // An empty value is the default (the test configuration raises the budget for other files).
    app = await givenAuthApi({ REGISTRATION_ATTEMPTS_PER_IP: '' });
  });
  afterAll(() => app.close());

  it('counts every attempt, created or refused, and answers the 11th with 429 and Retry-After', async () => {
    const ip = randomIp();
    const taken = uniqueEmail();
    expect((await register(app, ip, { email: taken })).statusCode).toBe(201);
    for (let attempt = 2; attempt <= 10; attempt += 1) {
      const response = await register(app, ip, { email: taken });
      expect(response.statusCode, `attempt ${attempt}`).toBe(409);
    }

    const email = uniqueEmail();
    expectRateLimited(await register(app, ip, { email }), 3600);
    expect(await app.get(Database).users.findByEmail(email)).toBeNull();
  });

  it('counts bodies refused by validation too', async () => {
    const ip = randomIp();
    for (let attempt = 1; attempt <= 10; attempt += 1) {
      const response = await register(app, ip, { password: 'Password123' });
      expect(response.statusCode, `attempt ${attempt}`).toBe(400);
    }

    expectRateLimited(await register(app, ip), 3600);
  });
});

describe('POST /auth/register per-IP limit', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi({ REGISTRATION_ATTEMPTS_PER_IP: '3', LOGIN_MAX_ATTEMPTS_PER_IP: '3' });
  });
  afterAll(() => app.close());

  it('counts successful registrations as well as failed ones', async () => {
    const ip = randomIp();
    const taken = uniqueEmail();
    expect((await register(app, ip, { email: taken })).statusCode).toBe(201);
    expect((await register(app, ip, { email: taken })).statusCode).toBe(409);
    expect((await register(app, ip)).statusCode).toBe(201);

    expectRateLimited(await register(app, ip), 3600);
  });

  it('leaves other addresses alone', async () => {
    const busy = randomIp();
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      expect((await register(app, busy)).statusCode).toBe(201);
    }
    expectRateLimited(await register(app, busy), 3600);

    expect((await register(app, randomIp())).statusCode).toBe(201);
  });

  it('is a budget of its own: sign-ins from a limited address still work', async () => {
    const ip = randomIp();
    const email = uniqueEmail();
    expect((await register(app, ip, { email })).statusCode).toBe(201);
    expect((await register(app, ip)).statusCode).toBe(201);
    expect((await register(app, ip)).statusCode).toBe(201);
    expectRateLimited(await register(app, ip), 3600);

    for (let attempt = 1; attempt <= 4; attempt += 1) {
      const response = await login(
        app,
        { email, password: STRONG_PASSWORD },
        { remoteAddress: ip },
      );
      expect(response.statusCode, `login ${attempt}`).toBe(200);
    }
  });

  it('lets exactly the budget through when registrations arrive at once', async () => {
    const ip = randomIp();
    const responses = await Promise.all(Array.from({ length: 8 }, () => register(app, ip)));

    const statuses = responses.map((response) => response.statusCode);
    expect(statuses.filter((status) => status === 201)).toHaveLength(3);
    expect(statuses.filter((status) => status === 429)).toHaveLength(5);
  });
});

describe.skipIf(!process.env['REDIS_URL'])('POST /auth/register limit with Redis', () => {
  let first: NestFastifyApplication;
  let second: NestFastifyApplication;

  beforeAll(async () => {
    const env = { REDIS_URL: process.env['REDIS_URL'] ?? '', REGISTRATION_ATTEMPTS_PER_IP: '2' };
    first = await givenAuthApi(env);
    second = await givenAuthApi(env);
  });
  afterAll(async () => {
    await first.close();
    await second.close();
  });

  it('is shared by every instance', async () => {
    const ip = randomIp();
    expect((await register(first, ip)).statusCode).toBe(201);
    expect((await register(second, ip)).statusCode).toBe(201);

    expectRateLimited(await register(first, ip), 3600);
    expectRateLimited(await register(second, ip), 3600);
  });
});
