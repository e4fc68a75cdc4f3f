import { createServer, type Server, type Socket, connect } from 'node:net';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterEach, describe, expect, it } from 'vitest';

import { givenTokens, givenUser } from '../support/http.js';
import {
  freePort,
  givenAuthApi,
  givenListeningAuthApi,
  givenNotesApi,
} from '../support/test-app.js';
import { workerDatabaseUrl } from '../support/test-database.js';

/** Fast retries, so the test does not wait out production's backoff. */
const FAST = { NOTES_API_DISCOVERY_RETRY_MAX_MS: '200', NOTES_API_FEED_RECONNECT_MS: '50' };

/**
 * A TCP port that refuses connections until `open()`, then forwards them to PostgreSQL: the database
 * as notes-api sees it while PostgreSQL is briefly down at its start.
 */
class LateDatabase {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    readonly port: number,
    private readonly target: URL,
  ) {}

  static async at(databaseUrl: string): Promise<LateDatabase> {
    return new LateDatabase(await freePort(), new URL(databaseUrl));
  }

  /** The database URL with this port instead of PostgreSQL's. */
  url(): string {
    const url = new URL(this.target);
    url.port = String(this.port);
    return url.toString();
  }

  open(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(Number(this.target.port || 5432), this.target.hostname);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    return new Promise((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  close(): Promise<void> {
    this.sockets.forEach((socket) => socket.destroy());
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

describe('notes-api starting while its dependencies are unreachable', () => {
  const apps: NestFastifyApplication[] = [];
  let database: LateDatabase | undefined;

  afterEach(async () => {
    for (const app of apps.splice(0).reverse()) {
      await app.close();
    }
    await database?.close();
  });

  async function readiness(notes: NestFastifyApplication) {
    const response = await notes.inject({ method: 'GET', url: '/health/ready' });
    return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
  }

  it('starts without auth-api, is not ready, answers bearer requests 503, and becomes ready when auth-api comes up', async () => {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;

    const notes = await givenNotesApi(issuer, FAST);
    apps.push(notes);

    expect((await notes.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect(await readiness(notes)).toEqual({
      status: 503,
      body: {
        status: 'not_ready',
        checks: { issuer: 'down', revocationFeed: 'up', database: 'up' },
      },
    });
    const early = await notes.inject({
      method: 'GET',
      url: '/notes',
      headers: { authorization: 'Bearer some.access.token' },
    });
    expect(early.statusCode).toBe(503);
    expect(early.json()).toEqual({
      statusCode: 503,
      error: 'VERIFICATION_UNAVAILABLE',
      message:
        'Credentials cannot be verified right now: the issuer is not reachable yet. Retry later.',
    });
    expect(Number(early.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(early.headers['www-authenticate']).toBeUndefined();

    // auth-api comes up on the issuer's port; notes-api is not restarted.
    const auth = await givenAuthApi({ ISSUER: issuer });
    apps.push(auth);
    await auth.listen(port, '127.0.0.1');

    await expect
      .poll(async () => (await readiness(notes)).status, { timeout: 10_000, interval: 50 })
      .toBe(200);
    expect((await readiness(notes)).body).toEqual({
      status: 'ok',
      checks: { issuer: 'up', revocationFeed: 'up', database: 'up' },
    });
    const { access_token } = await givenTokens(auth, await givenUser(auth));
    const listed = await notes.inject({
      method: 'GET',
      url: '/notes',
      headers: { authorization: `Bearer ${access_token}` },
    });
    expect(listed.statusCode).toBe(200);
    expect(listed.json()).toEqual([]);
  });

  it('starts while PostgreSQL is unreachable, refuses bearer tokens with 503 until the feed caught up, then serves', async () => {
    const { app: auth, issuer } = await givenListeningAuthApi();
    apps.push(auth);
    const { access_token } = await givenTokens(auth, await givenUser(auth));

    database = await LateDatabase.at(await workerDatabaseUrl());
    const notes = await givenNotesApi(issuer, { ...FAST, DATABASE_URL: database.url() });
    apps.push(notes);

    expect(await readiness(notes)).toEqual({
      status: 503,
      body: {
        status: 'not_ready',
        checks: { issuer: 'up', revocationFeed: 'down', database: 'down' },
      },
    });
    const early = await notes.inject({
      method: 'GET',
      url: '/notes',
      headers: { authorization: `Bearer ${access_token}` },
    });
    expect(early.statusCode).toBe(503);
    expect(early.json()).toMatchObject({ error: 'REVOCATION_CHECK_UNAVAILABLE' });
    expect(early.headers['retry-after']).toBeDefined();

    await database.open();

    await expect
      .poll(async () => (await readiness(notes)).status, { timeout: 15_000, interval: 100 })
      .toBe(200);
    const listed = await notes.inject({
      method: 'GET',
      url: '/notes',
      headers: { authorization: `Bearer ${access_token}` },
    });
    expect(listed.statusCode).toBe(200);
  });
});
