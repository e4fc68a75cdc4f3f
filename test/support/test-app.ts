import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { type GatehouseConfig, loadConfig } from '@gatehouse/config';
import { inject } from 'vitest';

import { createAdminApi } from '../../apps/admin-api/src/admin-api.factory.js';
import type { AppOptions } from '../../apps/admin-api/src/admin-api.module.js';
import { createAuthApi } from '../../apps/auth-api/src/auth-api.factory.js';
import { workerDatabaseUrl } from './test-database.js';

type Env = Record<string, string>;

/** Configuration as production would load it, pointed at this worker's database unless env says. */
export async function testConfig(env: Env = {}): Promise<GatehouseConfig> {
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    NODE_ENV: 'test',
    KEY_ENCRYPTION_KEY: inject('keyEncryptionKey'),
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
  options: AppOptions = {},
): Promise<NestFastifyApplication> {
  return ready(await createAuthApi(await testConfig(env), options));
}

export async function givenAdminApi(
  env: Env = {},
  options: AppOptions = {},
): Promise<NestFastifyApplication> {
  return ready(await createAdminApi(await testConfig(env), options));
}
