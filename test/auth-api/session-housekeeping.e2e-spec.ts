import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Clock, SessionHousekeeping } from '@gatehouse/identity';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import {
  type CookieSession,
  givenCookieSession,
  givenUser,
  type TestUser,
  withCookie,
} from '../support/http.js';
import { givenAuthApi } from '../support/test-app.js';

const SECOND = 1000;
const HOUR = 3600 * SECOND;
const DAY = 24 * HOUR;
/** The default SESSION_RETENTION_SECONDS (30 days). */
const RETENTION = 30 * DAY;
/** REVOCATION_FEED_SECONDS: a feed row outlives its revocation by the longest access-token life. */
const FEED = 900 * SECOND;

/**
 * The worker database is shared with other files and the purge is global: every assertion looks only
 * at this file's own session ids, never at table totals.
 */
describe('SessionHousekeeping.purge', () => {
  let app: NestFastifyApplication;
  let clock: Clock;
  let housekeeping: SessionHousekeeping;
  let dataSource: DataSource;

  beforeAll(async () => {
    app = await givenAuthApi();
    clock = app.get(Clock);
    housekeeping = app.get(SessionHousekeeping);
    dataSource = app.get(DataSource);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(() => app.close());

  /** Freezes the app's clock at `moment` (until the next call or the end of the test). */
  function at(moment: Date | number): void {
    vi.spyOn(clock, 'now').mockReturnValue(new Date(moment));
  }

  async function logout(session: CookieSession): Promise<void> {
    expect((await withCookie(app, session, 'POST', '/auth/logout')).statusCode).toBe(204);
  }

  async function sessions(user: TestUser, count: number): Promise<CookieSession[]> {
    const started: CookieSession[] = [];
    for (let index = 0; index < count; index += 1) {
      started.push(await givenCookieSession(app, user));
    }
    return started;
  }

  async function remaining(...ended: CookieSession[]): Promise<string[]> {
    const rows = await dataSource.query<{ id: string }[]>(
      'SELECT id FROM sessions WHERE id = ANY($1::uuid[])',
      [ended.map((session) => session.sessionId)],
    );
    return rows.map((row) => row.id).sort();
  }

  const idsOf = (...ended: CookieSession[]) => ended.map((session) => session.sessionId).sort();

  async function feedRows(session: CookieSession): Promise<{ revokedAt: Date; until: Date }[]> {
    return dataSource.query(
      'SELECT revoked_at AS "revokedAt", until FROM revocations WHERE session_id = $1',
      [session.sessionId],
    );
  }

  it('deletes a session revoked longer ago than the retention and keeps a live one and a recently revoked one', async () => {
    const start = Date.now();
    at(start);
    const user = await givenUser(app);
    const [live, old, recent] = (await sessions(user, 3)) as [
      CookieSession,
      CookieSession,
      CookieSession,
    ];
    await logout(old);
    at(start + HOUR);
    await logout(recent);

    at(start + RETENTION + 30 * 60 * SECOND);
    const result = await housekeeping.purge();

    expect(result.sessions).toBeGreaterThanOrEqual(1);
    expect(await remaining(live, old, recent)).toEqual(idsOf(live, recent));
  });

  it('deletes sessions that expired without a logout once the retention has passed', async () => {
    const now = Date.now();
    const user = await givenUser(app);
    // Idle timeout is a day: this one went idle 31 days ago, the other one a day ago.
    at(now - RETENTION - 2 * DAY);
    const [expiredLongAgo] = await sessions(user, 1);
    at(now - 2 * DAY);
    const [expiredRecently] = await sessions(user, 1);

    at(now);
    const result = await housekeeping.purge();

    expect(result.sessions).toBeGreaterThanOrEqual(1);
    expect(await remaining(expiredLongAgo!, expiredRecently!)).toEqual(idsOf(expiredRecently!));
  });

  it('answers a purged session cookie as an unknown session', async () => {
    const start = Date.now();
    at(start);
    const user = await givenUser(app);
    const [session] = await sessions(user, 1);
    await logout(session!);
    at(start + RETENTION + 60 * SECOND);
    await housekeeping.purge();
    vi.restoreAllMocks();

    const response = await withCookie(app, session!, 'GET', '/me');
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ error: 'INVALID_SESSION' });
  });

  it('works through every ended session in batches smaller than their number', async () => {
    const start = Date.now();
    at(start);
    const user = await givenUser(app);
    const ended = await sessions(user, 6);
    for (const session of ended) {
      await logout(session);
    }
    expect(await remaining(...ended)).toHaveLength(6);

    at(start + RETENTION + 60 * SECOND);
    const result = await housekeeping.purge(2);

    expect(result.sessions).toBeGreaterThanOrEqual(6);
    expect(await remaining(...ended)).toEqual([]);
  });

  it('keeps a revocation feed row until its until has passed, whatever the session retention', async () => {
    const start = Date.now();
    at(start);
    const user = await givenUser(app);
    const [session] = await sessions(user, 1);
    await logout(session!);
    expect(await feedRows(session!)).toEqual([
      { revokedAt: new Date(start), until: new Date(start + FEED) },
    ]);

    at(start + FEED - SECOND);
    await housekeeping.purge();
    expect(await feedRows(session!)).toHaveLength(1);

    at(start + FEED + SECOND);
    const result = await housekeeping.purge();
    expect(result.revocations).toBeGreaterThanOrEqual(1);
    expect(await feedRows(session!)).toEqual([]);
    // The revoked session itself stays listed for operators until the retention ends.
    expect(await remaining(session!)).toEqual(idsOf(session!));
  });
});

describe('SessionHousekeeping.purge with SESSION_RETENTION_SECONDS=0', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi({ SESSION_RETENTION_SECONDS: '0' });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(() => app.close());

  it('deletes a session as soon as it has ended and leaves live sessions alone', async () => {
    const clock = app.get(Clock);
    const start = Date.now();
    vi.spyOn(clock, 'now').mockReturnValue(new Date(start));
    const user = await givenUser(app);
    const live = await givenCookieSession(app, user);
    const ended = await givenCookieSession(app, user);
    expect((await withCookie(app, ended, 'POST', '/auth/logout')).statusCode).toBe(204);

    vi.spyOn(clock, 'now').mockReturnValue(new Date(start + SECOND));
    const result = await app.get(SessionHousekeeping).purge();

    expect(result.sessions).toBeGreaterThanOrEqual(1);
    const rows = await app
      .get(DataSource)
      .query<{ id: string }[]>('SELECT id FROM sessions WHERE id = ANY($1::uuid[])', [
        [live.sessionId, ended.sessionId],
      ]);
    expect(rows).toEqual([{ id: live.sessionId }]);
    expect((await withCookie(app, live, 'GET', '/me')).statusCode).toBe(200);
  });
});
