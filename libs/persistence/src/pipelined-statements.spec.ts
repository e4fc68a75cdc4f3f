import { randomBytes, randomUUID } from 'node:crypto';

import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { workerDatabaseUrl } from '../../../test/support/test-database.js';
import { dataSourceOptions } from './data-source-options.js';
import { Database } from './database.js';
import { isDatabaseUnavailableError } from './database-errors.js';
import {
  attachPipelinedStatements,
  PipelinedStatements,
  pipelinedStatementsOf,
  tlsOptionsOf,
} from './pipelined-statements.js';
import type { RefreshAttempt } from './repositories/refresh-token.repository.js';

const CLIENT = `pipelined-${randomUUID()}`;
const APPLICATION = `gatehouse-pipelined-${randomBytes(4).toString('hex')}`;

/**
 * The refresh rotation through the pipelined client (postgres.js), against a real PostgreSQL: the
 * same answer as node-postgres gives for the same row, the single-successor guarantee under
 * concurrency, errors the HTTP layer maps to 503, and connections closed on end().
 */
describe('PipelinedStatements', () => {
  let url: string;
  let plain: DataSource;
  let pipelinedSource: DataSource;
  let pipelined: PipelinedStatements;

  beforeAll(async () => {
    url = await workerDatabaseUrl();
    plain = await new DataSource(dataSourceOptions({ url, poolSize: 2 })).initialize();
    pipelinedSource = await new DataSource(dataSourceOptions({ url, poolSize: 2 })).initialize();
    pipelined = new PipelinedStatements({
      url,
      poolSize: 2,
      connectTimeoutMs: 3000,
      applicationName: APPLICATION,
    });
    attachPipelinedStatements(pipelinedSource, pipelined);
    await plain.query(
      `INSERT INTO clients (id, name, secret_hash, grant_types, scopes, first_party)
       VALUES ($1, 'Pipelined spec', NULL, '{password,refresh_token}', '{account}', true)`,
      [CLIENT],
    );
  });
  afterAll(async () => {
    await pipelinedOf()?.end();
    await Promise.all([plain.destroy(), pipelinedSource.destroy()]);
  });

  const pipelinedOf = () => pipelinedStatementsOf(pipelinedSource);

  /** A client of its own, on `at` (the worker's database unless told otherwise). */
  const clientAt = (
    at: string,
    { poolSize = 1, connectTimeoutMs = 3000, applicationName = APPLICATION } = {},
  ) => new PipelinedStatements({ url: at, poolSize, connectTimeoutMs, applicationName });

  /** A token session with one live refresh token; its hash. */
  async function givenRefreshToken(): Promise<Buffer> {
    const database = new Database(plain);
    const user = await database.users.createUnlessEmailTaken({
      email: `pipelined-${randomUUID()}@example.com`,
      passwordHash: 'not-a-real-hash',
    });
    const now = Date.now();
    const sessionId = await database.sessions.createTokenSession({
      userId: user!.id,
      clientId: CLIENT,
      scope: 'account',
      createdAt: new Date(now),
      idleExpiresAt: new Date(now + 60_000),
      absoluteExpiresAt: new Date(now + 120_000),
      ip: '203.0.113.9',
      userAgent: 'spec',
      amr: ['pwd', 'otp'],
      authTime: new Date(now),
    });
    const tokenHash = randomBytes(32);
    await database.refreshTokens.insert({
      sessionId,
      tokenHash,
      parentId: null,
      createdAt: new Date(now),
      expiresAt: new Date(now + 60_000),
    });
    return tokenHash;
  }

  const attempt = (tokenHash: Buffer): RefreshAttempt => ({
    tokenHash,
    clientId: CLIENT,
    usedAt: new Date(),
    usedIp: '198.51.100.4',
    sealedSuccessor: randomBytes(48),
    successorTokenHash: randomBytes(32),
    successorExpiresAt: new Date(Date.now() + 60_000),
  });

  it('rotates through postgres.js with the row node-postgres reads, field for field and type for type', async () => {
    const tokenHash = await givenRefreshToken();
    const before = await new Database(plain).refreshTokens.findByTokenHash(tokenHash);

    const outcome = await new Database(pipelinedSource).refreshTokens.rotate(attempt(tokenHash));

    expect(outcome?.rotated).toBe(true);
    expect(outcome?.state).toStrictEqual(before);
    expect(outcome?.state.sessionAmr).toEqual(['pwd', 'otp']);
    expect(outcome?.state.expiresAt).toBeInstanceOf(Date);
    const [sent] = await plain.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`,
      [APPLICATION],
    );
    expect(sent!.n).toBeGreaterThan(0); // it went through the pipelined client's connections
    const after = await new Database(plain).refreshTokens.findByTokenHash(tokenHash);
    expect(after?.usedAt).not.toBeNull();
    expect(after?.usedIp).toBe('198.51.100.4');
  });

  it('answers null for an unknown token', async () => {
    const outcome = await new Database(pipelinedSource).refreshTokens.rotate(
      attempt(randomBytes(32)),
    );
    expect(outcome).toBeNull();
  });

  it('lets exactly one of concurrent rotations of one token spend it, however they are pipelined', async () => {
    const tokenHash = await givenRefreshToken();
    const repository = new Database(pipelinedSource).refreshTokens;

    const outcomes = await Promise.all(
      Array.from({ length: 8 }, () => repository.rotate(attempt(tokenHash))),
    );

    expect(outcomes.filter((outcome) => outcome?.rotated)).toHaveLength(1);
    const [successors] = await plain.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM refresh_tokens child
       JOIN refresh_tokens parent ON parent.id = child.parent_id WHERE parent.token_hash = $1`,
      [tokenHash],
    );
    expect(successors!.n).toBe(1);
  });

  it('keeps statements inside a transaction on the transaction, not on its own connections', async () => {
    const tokenHash = await givenRefreshToken();
    // Rolled back: the rotation inside the transaction leaves nothing behind.
    await new Database(pipelinedSource)
      .transaction(async ({ refreshTokens }) => {
        const outcome = await refreshTokens.rotate(attempt(tokenHash));
        expect(outcome?.rotated).toBe(true);
        throw new Error('roll back');
      })
      .catch((error: Error) => expect(error.message).toBe('roll back'));
    const state = await new Database(plain).refreshTokens.findByTokenHash(tokenHash);
    expect(state?.usedAt).toBeNull();
  });

  it('fails with an error the HTTP layer maps to 503 when PostgreSQL cannot be reached', async () => {
    const unreachable = new URL(url);
    unreachable.port = '1';
    const down = clientAt(unreachable.href, { connectTimeoutMs: 1000 });
    try {
      const failure = await down.query('SELECT 1', []).catch((error: unknown) => error);
      expect(isDatabaseUnavailableError(failure)).toBe(true);
    } finally {
      await down.end();
    }
  });

  it('connects with TLS exactly when node-postgres does, verifying the server as it does', () => {
    const at = (query: string) => `postgres://gatehouse@db.example.com:5432/gatehouse${query}`;
    expect(tlsOptionsOf(at(''))).toBe(false);
    expect(tlsOptionsOf(at('?sslmode=disable'))).toBe(false);
    // node-postgres reads require as verify-full; postgres.js alone would not verify.
    for (const mode of ['require', 'verify-ca', 'verify-full']) {
      const tls = tlsOptionsOf(at(`?sslmode=${mode}`));
      expect(tls).not.toBe(false);
      expect(tls).not.toMatchObject({ rejectUnauthorized: false });
    }
    expect(tlsOptionsOf(at('?sslmode=no-verify'))).toMatchObject({ rejectUnauthorized: false });
  });

  it('does not send the TLS parameters of the URL to PostgreSQL as settings', async () => {
    const plainText = new URL(url);
    plainText.searchParams.set('sslmode', 'disable');
    // node-postgres's own parameter: PostgreSQL refuses it as an unknown setting.
    plainText.searchParams.set('uselibpqcompat', 'true');
    const statements = clientAt(plainText.href);
    try {
      const rows = await statements.query<{ one: number }>('SELECT 1 AS one', []);
      expect([...rows]).toEqual([{ one: 1 }]);
    } finally {
      await statements.end();
    }
  });

  it('closes its connections on end()', async () => {
    const own = `${APPLICATION}-end`;
    const statements = clientAt(url, { poolSize: 2, applicationName: own });
    await Promise.all([statements.query('SELECT 1', []), statements.query('SELECT 2', [])]);
    const count = async () =>
      (
        await plain.query<{ n: number }[]>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`,
          [own],
        )
      )[0]!.n;
    expect(await count()).toBeGreaterThan(0);

    await statements.end();

    for (let waited = 0; (await count()) > 0; waited += 20) {
      expect(waited).toBeLessThan(5000);
      await new Promise((wake) => setTimeout(wake, 20));
    }
  });
});
