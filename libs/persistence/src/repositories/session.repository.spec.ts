import { randomBytes, randomUUID } from 'node:crypto';

import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { workerDatabaseUrl } from '../../../../test/support/test-database.js';
import { dataSourceOptions } from '../data-source-options.js';
import { Database } from '../database.js';
import { SessionRepository } from './session.repository.js';

/**
 * The hot paths' SQL, checked against the planner: the statement the repository really sends is
 * captured and EXPLAINed with sequential scans disabled, so the test fails if no index can serve it
 * (our test tables are too small for the planner to prefer an index on its own).
 */
async function planOf(dataSource: DataSource, run: () => Promise<unknown>): Promise<string> {
  // A hot statement goes out as a named prepared statement ({ name, text, values }) on the pool
  // itself, anything else through the manager: EXPLAIN whichever was sent.
  const pool = (dataSource.driver as unknown as { master: Pool }).master;
  const query = vi.spyOn(dataSource.manager, 'query');
  const prepared = vi.spyOn(pool, 'query');
  await run();
  const [sent, parameters] = (prepared.mock.calls[0] ?? query.mock.calls[0]) as unknown[];
  query.mockRestore();
  prepared.mockRestore();
  const statement = sent as string | { text: string; values?: unknown[] };
  const sql = typeof statement === 'string' ? statement : statement.text;
  const values = typeof statement === 'string' ? parameters : statement.values;
  return dataSource.transaction(async (manager) => {
    await manager.query('SET LOCAL enable_seqscan = off');
    const rows: { 'QUERY PLAN': unknown }[] = await manager.query(
      `EXPLAIN (FORMAT JSON) ${sql}`,
      values as unknown[],
    );
    return JSON.stringify(rows[0]!['QUERY PLAN']);
  });
}

describe('SessionRepository', () => {
  let dataSource: DataSource;
  let database: Database;
  let userId: string;

  beforeAll(async () => {
    dataSource = await new DataSource(
      dataSourceOptions({ url: await workerDatabaseUrl(), poolSize: 2 }),
    ).initialize();
    database = new Database(dataSource);
    const user = await database.users.createUnlessEmailTaken({
      email: `repo-${randomUUID()}@example.com`,
      passwordHash: 'not-a-real-hash',
    });
    userId = user!.id;
  });
  afterAll(() => dataSource.destroy());

  async function givenSession(at = new Date()): Promise<{ id: string; tokenHash: Buffer }> {
    const tokenHash = randomBytes(32);
    const session = await database.sessions.createCookieSession({
      userId,
      tokenHash,
      createdAt: at,
      idleExpiresAt: new Date(at.getTime() + 60_000),
      absoluteExpiresAt: new Date(at.getTime() + 120_000),
      ip: '203.0.113.7',
      userAgent: 'spec',
    });
    return { id: session.id, tokenHash };
  }

  it('sends the cookie lookup as a named prepared statement (parsed and planned once per connection)', async () => {
    const { tokenHash } = await givenSession();
    const prepared = await dataSource.transaction(async (manager) => {
      await new SessionRepository(manager).findCookieSessionByTokenHash(tokenHash);
      const rows: { name: string }[] = await manager.query(
        'SELECT name FROM pg_prepared_statements',
      );
      return rows.map((row) => row.name);
    });
    expect(prepared).toContain('gatehouse_find_cookie_session');
  });

  it('finds a cookie session with its user in one statement on sessions_token_hash_key', async () => {
    const { id, tokenHash } = await givenSession();
    const found = await database.sessions.findCookieSessionByTokenHash(tokenHash);
    expect(found).toMatchObject({ id, userId, userRoles: [], userDisabledAt: null });
    const plan = await planOf(dataSource, () =>
      database.sessions.findCookieSessionByTokenHash(tokenHash),
    );
    expect(plan).toContain('sessions_token_hash_key');
  });

  it("lists a user's live sessions newest first on sessions_user_id_created_at_idx", async () => {
    const older = await givenSession(new Date(Date.now() - 1000));
    const newer = await givenSession();
    const listed = await database.sessions.listLiveForUser(userId, new Date(), 10);
    const ours = listed.map(({ id }) => id).filter((id) => id === newer.id || id === older.id);
    expect(ours).toEqual([newer.id, older.id]);
    const plan = await planOf(dataSource, () =>
      database.sessions.listLiveForUser(userId, new Date(), 10),
    );
    expect(plan).toContain('sessions_user_id_created_at_idx');
  });

  it('revokes only unrevoked sessions and reports which', async () => {
    const session = await givenSession();
    const revocation = { at: new Date(), reason: 'logout', by: `user:${userId}` } as const;
    expect(await database.sessions.revoke([session.id], revocation)).toEqual([session.id]);
    expect(await database.sessions.revoke([session.id], revocation)).toEqual([]);
  });

  it('renews last_seen_at only when the previous renewal is old enough, and never a revoked session', async () => {
    const now = new Date();
    const session = await givenSession(new Date(now.getTime() - 120_000));
    const idle = new Date(now.getTime() + 60_000);
    const threshold = new Date(now.getTime() - 60_000);
    expect(await database.sessions.touch(session.id, now, idle, threshold)).toBe(true);
    expect(await database.sessions.touch(session.id, now, idle, threshold)).toBe(false);
    await database.sessions.revoke([session.id], { at: now, reason: 'logout', by: 'spec' });
    const later = new Date(now.getTime() + 600_000);
    expect(await database.sessions.touch(session.id, later, later, later)).toBe(false);
  });
});
