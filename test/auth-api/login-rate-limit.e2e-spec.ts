import { randomInt } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LightMyRequestResponse } from 'fastify';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { STRONG_PASSWORD, uniqueEmail } from '../support/factories.js';
import { login, type TestUser } from '../support/http.js';
import { givenAuthApi } from '../support/test-app.js';

const WRONG_PASSWORD = 'not the right password at all';

const INVALID_CREDENTIALS = {
  statusCode: 401,
  error: 'INVALID_CREDENTIALS',
  message: 'The email or password is incorrect.',
};

const RATE_LIMITED = {
  statusCode: 429,
  error: 'RATE_LIMITED',
  message: 'Too many attempts. Retry later.',
};

/** A client IP of its own: per-IP counters (in Redis, shared by concurrent runs) never collide. */
function randomIp(): string {
  return `10.${randomInt(256)}.${randomInt(256)}.${randomInt(256)}`;
}

/**
 * Registers through the API like `givenUser`, but from an IP of its own: registration spends the IP
 * budget too, and the default inject address (127.0.0.1) is shared with every other test.
 */
async function givenAccount(app: NestFastifyApplication): Promise<TestUser> {
  const email = uniqueEmail();
  const response = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email, password: STRONG_PASSWORD },
    remoteAddress: randomIp(),
  });
  expect(response.statusCode).toBe(201);
  return { id: response.json<{ id: string }>().id, email, password: STRONG_PASSWORD };
}

function wrong(user: Pick<TestUser, 'email'>): { email: string; password: string } {
  return { email: user.email, password: WRONG_PASSWORD };
}

/** Response headers that must not differ between failure kinds (all but the per-response ones). */
function stableHeaders(response: LightMyRequestResponse): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(response.headers).filter(([name]) => name !== 'date' && name !== 'x-request-id'),
  );
}

function expectRateLimited(response: LightMyRequestResponse, maxSeconds = 900): void {
  expect(response.statusCode).toBe(429);
  expect(response.json()).toEqual(RATE_LIMITED);
  const retryAfter = response.headers['retry-after'];
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(retryAfter)).toBeLessThanOrEqual(maxSeconds);
}

async function disable(app: NestFastifyApplication, user: TestUser): Promise<void> {
  await app.get(DataSource).query('UPDATE users SET disabled_at = now() WHERE id = $1', [user.id]);
}

describe('POST /auth/login failures', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi();
  });
  afterAll(() => app.close());

  it('answers an unknown email, a wrong password and a disabled account with byte-identical 401s', async () => {
    const known = await givenAccount(app);
    const disabled = await givenAccount(app);
    await disable(app, disabled);
    const ip = randomIp();

    const unknown = await login(
      app,
      { email: uniqueEmail(), password: STRONG_PASSWORD },
      { remoteAddress: ip },
    );
    const wrongPassword = await login(app, wrong(known), { remoteAddress: ip });
    const disabledAccount = await login(app, disabled, { remoteAddress: ip });

    expect(unknown.statusCode).toBe(401);
    expect(unknown.json()).toEqual(INVALID_CREDENTIALS);
    for (const response of [wrongPassword, disabledAccount]) {
      expect(response.statusCode).toBe(unknown.statusCode);
      expect(response.body).toBe(unknown.body);
      expect(stableHeaders(response)).toEqual(stableHeaders(unknown));
    }
    expect(unknown.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
    expect(unknown.headers['set-cookie']).toBeUndefined();
  });

  it('answers a disabled account with a wrong password like any wrong password', async () => {
    const disabled = await givenAccount(app);
    await disable(app, disabled);
    const response = await login(app, wrong(disabled), { remoteAddress: randomIp() });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual(INVALID_CREDENTIALS);
  });

  it('records login.failed with the email and the reason, never the password', async () => {
    const dataSource = app.get(DataSource);
    const known = await givenAccount(app);
    const disabled = await givenAccount(app);
    await disable(app, disabled);
    const unknownEmail = uniqueEmail();
    const ip = randomIp();

    await login(app, { email: unknownEmail, password: STRONG_PASSWORD }, { remoteAddress: ip });
    await login(app, wrong(known), { remoteAddress: ip });
    await login(app, disabled, { remoteAddress: ip });

    const eventsFor = (email: string) =>
      dataSource.query<{ action: string; subject: string | null; details: unknown }[]>(
        `SELECT action, subject, details FROM audit_events
         WHERE details->>'email' = $1 ORDER BY id`,
        [email],
      );
    expect(await eventsFor(unknownEmail)).toEqual([
      {
        action: 'login.failed',
        subject: null,
        details: { email: unknownEmail, reason: 'unknown_email' },
      },
    ]);
    expect(await eventsFor(known.email)).toEqual([
      {
        action: 'login.failed',
        subject: `user:${known.id}`,
        details: { email: known.email, reason: 'wrong_password' },
      },
    ]);
    expect(await eventsFor(disabled.email)).toEqual([
      {
        action: 'login.failed',
        subject: `user:${disabled.id}`,
        details: { email: disabled.email, reason: 'user_disabled' },
      },
    ]);
    const all = JSON.stringify([
      await eventsFor(unknownEmail),
      await eventsFor(known.email),
      await eventsFor(disabled.email),
    ]);
    expect(all).not.toContain(STRONG_PASSWORD);
    expect(all).not.toContain(WRONG_PASSWORD);
  });
});

describe('POST /auth/login per-account limit (defaults)', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi();
  });
  afterAll(() => app.close());

  it('answers 10 failed attempts with 401, then 429 with Retry-After whatever the client IP', async () => {
    const user = await givenAccount(app);
    for (let attempt = 1; attempt <= 10; attempt += 1) {
      const response = await login(app, wrong(user), { remoteAddress: randomIp() });
      expect(response.statusCode, `attempt ${attempt}`).toBe(401);
    }

    const eleventh = await login(app, wrong(user), { remoteAddress: randomIp() });
    expectRateLimited(eleventh);
  });

  it('refuses even the correct password while the account is locked', async () => {
    const user = await givenAccount(app);
    for (let attempt = 1; attempt <= 10; attempt += 1) {
      expect((await login(app, wrong(user), { remoteAddress: randomIp() })).statusCode).toBe(401);
    }

    const correct = await login(app, user, { remoteAddress: randomIp() });
    expectRateLimited(correct);
    expect(correct.headers['set-cookie']).toBeUndefined();
  });

  it('limits an unknown email exactly like an existing account', async () => {
    const unknown = { email: uniqueEmail('nobody'), password: WRONG_PASSWORD };
    for (let attempt = 1; attempt <= 10; attempt += 1) {
      const response = await login(app, unknown, { remoteAddress: randomIp() });
      expect(response.statusCode, `attempt ${attempt}`).toBe(401);
      expect(response.json()).toEqual(INVALID_CREDENTIALS);
    }

    expectRateLimited(await login(app, unknown, { remoteAddress: randomIp() }));
  });

  it('counts the attempts of one account in any letter case and with surrounding spaces', async () => {
    const user = await givenAccount(app);
    const variants = [user.email.toUpperCase(), `  ${user.email} `, user.email];
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const email = variants[attempt % variants.length]!;
      const response = await login(
        app,
        { email, password: WRONG_PASSWORD },
        { remoteAddress: randomIp() },
      );
      expect(response.statusCode, `attempt ${attempt + 1}`).toBe(401);
    }

    expectRateLimited(await login(app, user, { remoteAddress: randomIp() }));
  });

  it('leaves other accounts alone', async () => {
    const attacked = await givenAccount(app);
    const bystander = await givenAccount(app);
    const ip = randomIp();
    for (let attempt = 1; attempt <= 11; attempt += 1) {
      await login(app, wrong(attacked), { remoteAddress: ip });
    }

    expect((await login(app, bystander, { remoteAddress: ip })).statusCode).toBe(200);
  });
});

describe('POST /auth/login after a successful login', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi({ LOGIN_MAX_ATTEMPTS_PER_ACCOUNT: '3' });
  });
  afterAll(() => app.close());

  it('starts the account counter afresh', async () => {
    const user = await givenAccount(app);
    const ip = randomIp();
    expect((await login(app, wrong(user), { remoteAddress: ip })).statusCode).toBe(401);
    expect((await login(app, wrong(user), { remoteAddress: ip })).statusCode).toBe(401);
    expect((await login(app, user, { remoteAddress: ip })).statusCode).toBe(200);

    for (let attempt = 1; attempt <= 3; attempt += 1) {
      const response = await login(app, wrong(user), { remoteAddress: ip });
      expect(response.statusCode, `attempt ${attempt} after the success`).toBe(401);
    }
    expectRateLimited(await login(app, wrong(user), { remoteAddress: ip }));
  });
});

describe('POST /auth/login concurrent guesses', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi({ LOGIN_MAX_ATTEMPTS_PER_ACCOUNT: '5' });
  });
  afterAll(() => app.close());

  it('lets exactly the limit through when 12 wrong passwords arrive at once', async () => {
    const user = await givenAccount(app);
    const ip = randomIp();
    const responses = await Promise.all(
      Array.from({ length: 12 }, () => login(app, wrong(user), { remoteAddress: ip })),
    );

    const statuses = responses.map((response) => response.statusCode);
    expect(statuses.filter((status) => status === 401)).toHaveLength(5);
    expect(statuses.filter((status) => status === 429)).toHaveLength(7);
  });
});

describe('POST /auth/login per-IP limit', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi({ LOGIN_MAX_ATTEMPTS_PER_IP: '5' });
  });
  afterAll(() => app.close());

  it('refuses a 6th attempt from one IP across accounts, while another IP still signs in', async () => {
    const victims = await Promise.all(Array.from({ length: 6 }, () => givenAccount(app)));
    const attacker = randomIp();
    for (const victim of victims.slice(0, 5)) {
      const response = await login(app, wrong(victim), { remoteAddress: attacker });
      expect(response.statusCode, victim.email).toBe(401);
    }

    const sixth = victims[5]!;
    expectRateLimited(await login(app, sixth, { remoteAddress: attacker }));
    expect((await login(app, sixth, { remoteAddress: randomIp() })).statusCode).toBe(200);
  });

  it('does not count successful logins against the IP', async () => {
    const user = await givenAccount(app);
    const office = randomIp();
    for (let attempt = 1; attempt <= 8; attempt += 1) {
      const response = await login(app, user, { remoteAddress: office });
      expect(response.statusCode, `login ${attempt}`).toBe(200);
    }
  });
});

describe.skipIf(!process.env['REDIS_URL'])('POST /auth/login limits with Redis', () => {
  const redisUrl = process.env['REDIS_URL'] ?? '';

  describe('two instances sharing one Redis', () => {
    let first: NestFastifyApplication;
    let second: NestFastifyApplication;

    beforeAll(async () => {
      const env = { REDIS_URL: redisUrl, LOGIN_MAX_ATTEMPTS_PER_ACCOUNT: '4' };
      first = await givenAuthApi(env);
      second = await givenAuthApi(env);
    });
    afterAll(async () => {
      await first.close();
      await second.close();
    });

    it('share the per-account counter', async () => {
      const user = await givenAccount(first);
      expect((await login(first, wrong(user), { remoteAddress: randomIp() })).statusCode).toBe(401);
      expect((await login(first, wrong(user), { remoteAddress: randomIp() })).statusCode).toBe(401);
      expect((await login(second, wrong(user), { remoteAddress: randomIp() })).statusCode).toBe(
        401,
      );
      expect((await login(second, wrong(user), { remoteAddress: randomIp() })).statusCode).toBe(
        401,
      );

      expectRateLimited(await login(first, wrong(user), { remoteAddress: randomIp() }));
      expectRateLimited(await login(second, user, { remoteAddress: randomIp() }));
    });

    it('count concurrent attempts on both instances exactly once each', async () => {
      const user = await givenAccount(first);
      const responses = await Promise.all(
        Array.from({ length: 10 }, (_, index) =>
          login(index % 2 === 0 ? first : second, wrong(user), { remoteAddress: randomIp() }),
        ),
      );

      const statuses = responses.map((response) => response.statusCode);
      expect(statuses.filter((status) => status === 401)).toHaveLength(4);
      expect(statuses.filter((status) => status === 429)).toHaveLength(6);
    });
  });

  describe('an unreachable Redis', () => {
    let app: NestFastifyApplication;

    beforeAll(async () => {
      app = await givenAuthApi({
        REDIS_URL: 'redis://127.0.0.1:1',
        LOGIN_MAX_ATTEMPTS_PER_ACCOUNT: '2',
      });
    });
    afterAll(() => app.close());

    it('falls back to memory counters: logins work and the limit still holds', async () => {
      const user = await givenAccount(app);
      const ip = randomIp();
      expect((await login(app, user, { remoteAddress: ip })).statusCode).toBe(200);

      expect((await login(app, wrong(user), { remoteAddress: ip })).statusCode).toBe(401);
      expect((await login(app, wrong(user), { remoteAddress: ip })).statusCode).toBe(401);
      expectRateLimited(await login(app, wrong(user), { remoteAddress: ip }));
    });
  });
});
