import { pipelinedStatementsOf } from '@gatehouse/persistence';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { givenTokens, givenUser, refreshGrant } from '../support/http.js';
import { givenAuthApi } from '../support/test-app.js';
import { workerDatabaseUrl } from '../support/test-database.js';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/** Signs a new user in and rotates the refresh token twice. */
async function rotateTwice(app: NestFastifyApplication): Promise<void> {
  let token = (await givenTokens(app, await givenUser(app))).refresh_token;
  for (let round = 0; round < 2; round += 1) {
    const response = await refreshGrant(app, token);
    expect(response.statusCode).toBe(200);
    token = response.json<{ refresh_token: string }>().refresh_token;
  }
}

/**
 * The refresh rotation's own client (DATABASE_PIPELINE_POOL_SIZE): opened with auth-api, closed with
 * it, and left out when set to 0 (the rotation then goes through the main pool).
 */
describe('the pipelined client of the refresh rotation', () => {
  let observer: pg.Client;

  beforeAll(async () => {
    observer = new pg.Client({ connectionString: await workerDatabaseUrl() });
    await observer.connect();
  });
  afterAll(() => observer.end());

  /** auth-api's connections to this worker's database, pipelined client and main pool alike. */
  const connections = async () =>
    (
      await observer.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE application_name = 'gatehouse-auth-api' AND datname = current_database()`,
      )
    ).rows[0]!.n;

  it('rotates through it, and every connection of the app is closed with the app', async () => {
    const app = await givenAuthApi();
    expect(pipelinedStatementsOf(app.get(DataSource))).toBeDefined();
    await rotateTwice(app);

    await app.close();

    for (let waited = 0; (await connections()) > 0; waited += 20) {
      expect(waited).toBeLessThan(5000);
      await new Promise((wake) => setTimeout(wake, 20));
    }
  });

  it('is not opened with DATABASE_PIPELINE_POOL_SIZE=0, and refresh rotates through the main pool', async () => {
    const app = await givenAuthApi({ DATABASE_PIPELINE_POOL_SIZE: '0' });
    try {
      expect(pipelinedStatementsOf(app.get(DataSource))).toBeUndefined();
      await rotateTwice(app);
    } finally {
      await app.close();
    }
  });
});
