import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  GATEHOUSE_AUTH_OPTIONS,
  type GatehouseAuthOptions,
  type PgRevocationFeed,
  RevocationList,
} from '@gatehouse/nest-auth';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { givenTokens, givenUser, SESSION_REVOKED, type TokenResponse } from '../support/http.js';
import { givenAuthApi } from '../support/test-app.js';

/** The statements auth-api's own pool sends (not the feed's LISTEN connection, not the test's). */
function countPoolQueries(): () => number {
  const query = vi.spyOn(pg.Client.prototype, 'query');
  return () =>
    query.mock.contexts.filter(
      (client) =>
        (client as { connectionParameters?: { application_name?: string } }).connectionParameters
          ?.application_name === 'gatehouse-auth-api',
    ).length;
}

async function until(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 5) {
    expect(waited).toBeLessThan(5000);
    await new Promise((wake) => setTimeout(wake, 5));
  }
}

describe('GET /me with a bearer token at auth-api', () => {
  let app: NestFastifyApplication;
  let revocations: RevocationList;

  beforeAll(async () => {
    app = await givenAuthApi();
    revocations = app.get(RevocationList);
  });
  afterAll(() => app.close());
  afterEach(() => vi.restoreAllMocks());

  const me = (tokens: TokenResponse) =>
    app.inject({
      method: 'GET',
      url: '/me',
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });

  const revoke = async (tokens: TokenResponse) => {
    const response = await app.inject({
      method: 'POST',
      url: '/oauth/revoke',
      payload: { token: tokens.refresh_token, client_id: 'gatehouse-first-party' },
    });
    expect(response.statusCode).toBe(200);
  };

  it('makes no database query while the revocation feed is connected', async () => {
    const user = await givenUser(app);
    const tokens = await givenTokens(app, user);
    expect(revocations.awaitingFeed).toBe(false);
    // The first answer reads the session and its user; the session cache keeps them for its TTL.
    expect((await me(tokens)).statusCode).toBe(200);

    const queries = countPoolQueries();
    for (let request = 0; request < 3; request += 1) {
      const response = await me(tokens);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ user: { id: user.id, email: user.email } });
    }
    expect(queries()).toBe(0);
  });

  it('refuses the token as soon as its session is revoked', async () => {
    const tokens = await givenTokens(app, await givenUser(app));
    expect((await me(tokens)).statusCode).toBe(200);
    await revoke(tokens);
    // The revocation reaches the list through the feed (NOTIFY on commit), within milliseconds.
    const response = await me(tokens);
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual(SESSION_REVOKED);
  });

  it('asks PostgreSQL while the feed is disconnected, refuses what was revoked meanwhile, and stops asking once it is back', async () => {
    const kept = await givenTokens(app, await givenUser(app));
    const revoked = await givenTokens(app, await givenUser(app));
    expect((await me(kept)).statusCode).toBe(200);
    expect((await me(revoked)).statusCode).toBe(200);
    const [termination] = await app.get(DataSource).query<{ terminated: boolean }[]>(
      `SELECT bool_or(pg_terminate_backend(pid)) AS terminated FROM pg_stat_activity
       WHERE application_name = 'gatehouse-revocation-feed' AND datname = current_database()
         AND pid <> pg_backend_pid()`,
    );
    expect(termination?.terminated).toBe(true);
    await until(() => revocations.awaitingFeed);

    const queries = countPoolQueries();
    await revoke(revoked);
    const refused = await me(revoked);
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toEqual(SESSION_REVOKED);
    const before = queries();
    expect((await me(kept)).statusCode).toBe(200);
    expect(queries()).toBeGreaterThan(before);

    const options = app.get<GatehouseAuthOptions>(GATEHOUSE_AUTH_OPTIONS);
    await (options.revocationFeed as PgRevocationFeed).whenConnected();
    expect(revocations.awaitingFeed).toBe(false);
    const { sid } = JSON.parse(
      Buffer.from(revoked.access_token.split('.')[1]!, 'base64url').toString(),
    ) as { sid: string };
    expect(revocations.isRevoked(sid)).toBe(true);
    const after = queries();
    expect((await me(kept)).statusCode).toBe(200);
    expect(queries()).toBe(after);
  });
});
