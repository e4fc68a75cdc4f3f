import { createServer } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { type GatehouseConfig, loadConfig } from '@gatehouse/config';
import type { HttpAppOptions } from '@gatehouse/http';
import { inject } from 'vitest';

import { createAdminApi } from '../../apps/admin-api/src/admin-api.factory.js';
import { createAuthApi } from '../../apps/auth-api/src/auth-api.factory.js';
import { loadNotesApiConfig } from '../../apps/notes-api/src/notes-api.config.js';
import { createNotesApi } from '../../apps/notes-api/src/notes-api.factory.js';
import { NotesApiModule } from '../../apps/notes-api/src/notes-api.module.js';
import { workerDatabaseUrl } from './test-database.js';

type Env = Record<string, string>;

/**
 * Whether a test app runs the job worker: only where the test delivers side effects (mail through
 * `SMTP_URL`, logout tokens and webhooks to a local receiver through `OUTBOUND_ALLOW_PRIVATE`) or asks
 * for it. Every worker holds a pool of its own; dozens of apps at once would exhaust PostgreSQL's
 * connections. Jobs enqueued by the others wait in the queue, as in production without a worker.
 */
function wantsJobWorker(env: Env): boolean {
  return (
    env['JOB_WORKER_CONCURRENCY'] !== undefined ||
    env['SMTP_URL'] !== undefined ||
    env['OUTBOUND_ALLOW_PRIVATE'] === 'true'
  );
}

/** Configuration as production would load it, pointed at this worker's database unless env says. */
export async function testConfig(env: Env = {}): Promise<GatehouseConfig> {
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    NODE_ENV: 'test',
    KEY_ENCRYPTION_KEY: inject('keyEncryptionKey'),
    // Tests register their users through the API from one address (inject's 127.0.0.1): the
    // registration limit's own spec sets a budget.
    REGISTRATION_ATTEMPTS_PER_IP: '1000000',
    ...(wantsJobWorker(env) ? {} : { JOB_WORKER_CONCURRENCY: '0' }),
    ...env,
  });
  return {
    ...config,
    database: { ...config.database, url: config.database.url ?? (await workerDatabaseUrl()) },
  };
}

async function ready(app: NestFastifyApplication): Promise<NestFastifyApplication> {
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

/** The real auth-api, built by the same factory as main.ts, driven with Fastify's inject (no socket). */
export async function givenAuthApi(
  env: Env = {},
  options: HttpAppOptions = {},
): Promise<NestFastifyApplication> {
  return ready(await createAuthApi(await testConfig(env), options));
}

export async function givenAdminApi(
  env: Env = {},
  options: HttpAppOptions = {},
): Promise<NestFastifyApplication> {
  return ready(await createAdminApi(await testConfig(env), options));
}

/** Whether a server could listen on `port` on loopback right now. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free TCP port on loopback, for apps that must really listen (remote JWKS, real clients). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** auth-api listening on loopback, its issuer being its own URL (siblings discover it there). */
export async function givenListeningAuthApi(
  env: Env = {},
): Promise<{ app: NestFastifyApplication; issuer: string }> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const app = await givenAuthApi({ ISSUER: issuer, ...env });
  await app.listen(port, '127.0.0.1');
  return { app, issuer };
}

/** notes-api, the sibling app, on the same database as auth-api (its own table, the shared feed). */
export async function givenNotesApi(
  issuer: string,
  env: Env = {},
): Promise<NestFastifyApplication> {
  const config = loadNotesApiConfig({
    ISSUER: issuer,
    DATABASE_URL: await workerDatabaseUrl(),
    ...env,
  });
  return ready(await createNotesApi(config));
}

/**
 * The notes-api module mounted on Express instead of Fastify (nest-auth is framework-neutral),
 * listening on loopback, for the auth-api at `issuer`.
 */
export async function givenNotesApiOnExpress(
  issuer: string,
): Promise<{ app: INestApplication; url: string }> {
  const config = loadNotesApiConfig({ ISSUER: issuer, DATABASE_URL: await workerDatabaseUrl() });
  const app = await NestFactory.create(NotesApiModule.forRoot(config), new ExpressAdapter(), {
    logger: false,
  });
  const port = await freePort();
  await app.listen(port, '127.0.0.1');
  return { app, url: `http://127.0.0.1:${port}` };
}

/** admin-api listening on loopback, accepting the access tokens of the auth-api at `issuer`. */
export async function givenListeningAdminApi(
  issuer: string,
  env: Env = {},
): Promise<{ app: NestFastifyApplication; url: string }> {
  const port = await freePort();
  const app = await givenAdminApi({ ISSUER: issuer, ...env });
  await app.listen(port, '127.0.0.1');
  return { app, url: `http://127.0.0.1:${port}` };
}
