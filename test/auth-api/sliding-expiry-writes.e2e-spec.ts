import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Clock } from '@gatehouse/identity';
import { Database } from '@gatehouse/persistence';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { type CookieSession, givenCookieSession, givenUser, withCookie } from '../support/http.js';
import { givenAuthApi } from '../support/test-app.js';

/**
 * How writes are counted: every UPDATE of a PostgreSQL row creates a new row version with a new `xmin`
 * (the id of the writing transaction). Reading the row's `xmin` after each request and counting the
 * distinct values seen therefore counts the writes to that row, exactly, with no trigger or statistics
 * lag involved.
 */
async function xminOf(dataSource: DataSource, sessionId: string): Promise<string> {
  const [row] = await dataSource.query<{ xmin: string }[]>(
    'SELECT xmin::text FROM sessions WHERE id = $1',
    [sessionId],
  );
  return row!.xmin;
}

describe('sliding expiry', () => {
  let app: NestFastifyApplication;
  let everyRequest: NestFastifyApplication;
  let dataSource: DataSource;

  beforeAll(async () => {
    app = await givenAuthApi();
    everyRequest = await givenAuthApi({ SESSION_TOUCH_INTERVAL_SECONDS: '0' });
    dataSource = app.get(DataSource);
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    await app.close();
    await everyRequest.close();
  });

  /** Sends `count` sequential GET /me, the clock advancing `step` seconds before each; counts writes. */
  async function writesDuring(
    target: NestFastifyApplication,
    session: CookieSession,
    count: number,
    step: number,
  ): Promise<number> {
    const clock = vi.spyOn(target.get(Clock), 'now');
    const start = Date.now();
    const versions = new Set([await xminOf(dataSource, session.sessionId)]);
    for (let request = 1; request <= count; request += 1) {
      clock.mockReturnValue(new Date(start + request * step * 1000));
      expect((await withCookie(target, session, 'GET', '/me')).statusCode).toBe(200);
      versions.add(await xminOf(dataSource, session.sessionId));
    }
    return versions.size - 1;
  }

  it('writes the session row at most twice over 100 sequential requests (default 60 s interval)', async () => {
    const session = await givenCookieSession(app, await givenUser(app));
    // 100 requests one second apart span 100 s: one renewal is due (at 60 s), never one per request.
    const writes = await writesDuring(app, session, 100, 1);
    expect(writes).toBeLessThanOrEqual(2);
    expect(writes).toBe(1);
  });

  it('does not write at all while requests stay within the interval', async () => {
    const session = await givenCookieSession(app, await givenUser(app));
    expect(await writesDuring(app, session, 50, 0)).toBe(0);
  });

  it('writes once for a burst of concurrent requests that all find the renewal due', async () => {
    const session = await givenCookieSession(app, await givenUser(app));
    vi.spyOn(app.get(Clock), 'now').mockReturnValue(new Date(Date.now() + 120_000));
    // Spied, not mocked: every call still runs its UPDATE; the spy records which ones changed a row.
    const touch = vi.spyOn(app.get(Database).sessions, 'touch');
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => withCookie(app, session, 'GET', '/me')),
    );
    expect(responses.every((response) => response.statusCode === 200)).toBe(true);
    const outcomes = await Promise.all(
      touch.mock.results.map(({ value }) => value as Promise<boolean>),
    );
    expect(outcomes.filter(Boolean)).toHaveLength(1);
  });

  it('counts every write when the interval is 0 (the counter sees writes)', async () => {
    const session = await givenCookieSession(everyRequest, await givenUser(everyRequest));
    expect(await writesDuring(everyRequest, session, 10, 1)).toBe(10);
  });
});
