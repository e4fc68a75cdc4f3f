import { randomInt } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Database } from '@gatehouse/persistence';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { STRONG_PASSWORD, uniqueEmail } from '../support/factories.js';
import { givenUser, login } from '../support/http.js';
import { givenAuthApi } from '../support/test-app.js';

const WRONG_PASSWORD = 'not the right password at all';
/** Concurrent requests: with one hash at a time and no room to wait, all but the first overlap. */
const BURST = 8;

const SERVICE_BUSY = {
  statusCode: 503,
  error: 'SERVICE_BUSY',
  message: 'The service is busy. Retry shortly.',
  requestId: expect.any(String),
};

function randomIp(): string {
  return `10.${randomInt(256)}.${randomInt(256)}.${randomInt(256)}`;
}

function statusesOf(responses: readonly LightMyRequestResponse[]): number[] {
  return responses.map((response) => response.statusCode);
}

function expectServiceBusy(response: LightMyRequestResponse): void {
  expect(response.json()).toEqual(SERVICE_BUSY);
  expect(response.headers['retry-after']).toBe('1');
}

describe('password hashing with a full queue', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi({
      PASSWORD_HASH_CONCURRENCY: '1',
      PASSWORD_HASH_QUEUE_LIMIT: '0',
      LOGIN_MAX_ATTEMPTS_PER_ACCOUNT: '20',
    });
  });
  afterAll(() => app.close());

  it('answers registrations beyond the queue with 503 SERVICE_BUSY and Retry-After, creating nothing', async () => {
    const emails = Array.from({ length: BURST }, () => uniqueEmail());
    const responses = await Promise.all(
      emails.map((email) =>
        app.inject({
          method: 'POST',
          url: '/auth/register',
          payload: { email, password: STRONG_PASSWORD },
          remoteAddress: randomIp(),
        }),
      ),
    );

    const statuses = statusesOf(responses);
    expect(statuses).toContain(201);
    expect(statuses).toContain(503);
    expect(statuses.filter((status) => status !== 201 && status !== 503)).toEqual([]);
    const database = app.get(Database);
    for (const [index, response] of responses.entries()) {
      if (response.statusCode === 503) {
        expectServiceBusy(response);
        expect(await database.users.findByEmail(emails[index]!)).toBeNull();
      }
    }
  });

  it('answers POST /auth/login the same way', async () => {
    const user = await givenUser(app);
    const responses = await Promise.all(
      Array.from({ length: BURST }, () => login(app, user, { remoteAddress: randomIp() })),
    );

    const statuses = statusesOf(responses);
    expect(statuses).toContain(200);
    expect(statuses).toContain(503);
    responses.filter((r) => r.statusCode === 503).forEach(expectServiceBusy);
  });

  it('answers the password grant with 503 temporarily_unavailable (RFC 6749 §5.2 shape)', async () => {
    const user = await givenUser(app);
    const grant = () =>
      app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({
          grant_type: 'password',
          client_id: 'gatehouse-first-party',
          username: user.email,
          password: user.password,
        }).toString(),
        remoteAddress: randomIp(),
      });
    const responses = await Promise.all(Array.from({ length: BURST }, grant));

    expect(statusesOf(responses)).toContain(200);
    const busy = responses.filter((response) => response.statusCode === 503);
    expect(busy.length).toBeGreaterThan(0);
    for (const response of busy) {
      expect(response.json()).toEqual({
        error: 'temporarily_unavailable',
        error_description: 'The service is busy. Retry shortly.',
      });
      expect(response.headers['retry-after']).toBe('1');
      expect(response.headers['cache-control']).toBe('no-store');
    }
  });

  it('does not count a refused login against the account: no password was checked', async () => {
    const user = await givenUser(app);
    const wrong = { email: user.email, password: WRONG_PASSWORD };
    const burst = await Promise.all(
      Array.from({ length: BURST }, () => login(app, wrong, { remoteAddress: randomIp() })),
    );
    const checked = statusesOf(burst).filter((status) => status === 401).length;
    expect(checked + statusesOf(burst).filter((status) => status === 503).length).toBe(BURST);

    // LOGIN_MAX_ATTEMPTS_PER_ACCOUNT is 20: exactly the attempts left are answered 401.
    for (let attempt = checked + 1; attempt <= 20; attempt += 1) {
      const response = await login(app, wrong, { remoteAddress: randomIp() });
      expect(response.statusCode, `attempt ${attempt}`).toBe(401);
    }
    expect((await login(app, wrong, { remoteAddress: randomIp() })).statusCode).toBe(429);
  });
});
