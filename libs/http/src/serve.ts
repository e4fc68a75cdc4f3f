import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ConfigError, type GatehouseConfig, loadConfig } from '@gatehouse/config';

import { resolveDatabase } from './database-url.js';
import { describeError } from './describe-error.js';
import { resolveKeyEncryptionKey } from './key-encryption-key.js';

export interface AppEntry {
  readonly name: string;
  readonly port: (config: GatehouseConfig) => number;
  readonly create: (config: GatehouseConfig) => Promise<NestFastifyApplication>;
}

/** Reads the environment once; on invalid configuration prints what is wrong and exits 1. */
export function loadConfigOrExit(): GatehouseConfig {
  try {
    return loadConfig();
  } catch (error) {
    return exitOnConfigError(error);
  }
}

function exitOnConfigError(error: unknown): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}

/** The whole of an app's `main.ts`: configuration, database, app, listen, graceful shutdown. */
export async function serve(entry: AppEntry): Promise<void> {
  try {
    await start(entry);
  } catch (error) {
    process.stderr.write(`${entry.name} failed to start: ${describeError(error)}\n`);
    process.exit(1);
  }
}

async function start(entry: AppEntry): Promise<void> {
  const resolved = await resolveDatabase(loadConfigOrExit(), {
    owner: entry.name,
    joinRunning: true,
  });
  const { embedded } = resolved;
  const config = await resolveKeyEncryptionKey(resolved.config, {
    embedded: resolved.inDataDir,
  }).catch((error: unknown) => exitOnConfigError(error));
  const app = await entry.create(config);
  app.enableShutdownHooks();
  if (embedded) {
    const fastify = app.getHttpAdapter().getInstance();
    fastify.addHook('onClose', () => embedded.stop());
  }
  const port = entry.port(config);
  await app.listen(port, config.host);
  process.stdout.write(
    `${entry.name} listening on http://${config.host}:${port} (Swagger UI: /docs)\n`,
  );
}
