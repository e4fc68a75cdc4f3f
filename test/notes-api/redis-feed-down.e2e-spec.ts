import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { RedisRevocationFeed, type RevocationEvent } from '@gatehouse/nest-auth';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { givenTokens, givenUser } from '../support/http.js';
import { freePort, givenAuthApi } from '../support/test-app.js';
import { workerDatabaseUrl } from '../support/test-database.js';

const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;

/**
 * REDIS_URL set but Redis down: a sibling app must still start, and revocations must still reach it,
 * by the PostgreSQL backfill, until Redis is back. (Runs without a Redis: the port is a closed one.)
 */
describe('revocation feed over Redis, with Redis down', () => {
  let auth: NestFastifyApplication;
  let feed: RedisRevocationFeed;
  let redisPort: number;
  let redis: ChildProcess | undefined;
  const received: RevocationEvent[] = [];

  beforeAll(async () => {
    auth = await givenAuthApi();
    redisPort = await freePort();
    feed = new RedisRevocationFeed({
      redisUrl: `redis://127.0.0.1:${redisPort}`,
      databaseUrl: await workerDatabaseUrl(),
      backfillEveryMs: 200,
    });
  });
  afterAll(async () => {
    await feed?.stop();
    await auth?.close();
    redis?.kill();
  });

  it('starts anyway and learns of a revocation from the backfill', async () => {
    await feed.start({ revoked: (event) => received.push(event) });
    const user = await givenUser(auth);
    const tokens = await givenTokens(auth, user);
    const sessionId = (
      await auth.inject({
        method: 'GET',
        url: '/me',
        headers: { authorization: `Bearer ${tokens.access_token}` },
      })
    ).json<{ session: { id: string } }>().session.id;
    const revoked = await auth.inject({
      method: 'POST',
      url: '/oauth/revoke',
      payload: { token: tokens.refresh_token, client_id: 'gatehouse-first-party' },
    });
    expect(revoked.statusCode).toBe(200);
    await expect
      .poll(() => received.some((event) => event.sessionId === sessionId), {
        timeout: 5_000,
      })
      .toBe(true);
  });

  it.runIf(hasRedisServer)('subscribes once Redis comes up, and hears its broadcasts', async () => {
    redis = spawn('redis-server', [
      '--port',
      String(redisPort),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
    ]);
    await expect
      .poll(() => spawnSync('redis-cli', ['-p', String(redisPort), 'ping']).stdout?.toString(), {
        timeout: 10_000,
      })
      .toContain('PONG');
    const publisher = new Redis(redisPort, '127.0.0.1');
    try {
      const sessionId = randomUUID();
      const message = JSON.stringify({ sid: sessionId, until: Date.now() + 60_000 });
      // The queued subscription goes through once the feed reconnects; a broadcast then arrives.
      await expect
        .poll(
          async () => {
            await publisher.publish('gatehouse_revocations', message);
            return received.some((event) => event.sessionId === sessionId);
          },
          { timeout: 10_000, interval: 100 },
        )
        .toBe(true);
    } finally {
      publisher.disconnect();
    }
  });
});
