import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigModule, type GatehouseConfig } from '@gatehouse/config';
import {
  describeError,
  loadConfigOrExit,
  resolveDatabase,
  resolveKeyEncryptionKey,
} from '@gatehouse/http';
import { IdentityModule } from '@gatehouse/identity';
import { PersistenceModule } from '@gatehouse/persistence';

/**
 * A script's whole run: its exit code, or the cause on stderr and 1 — never 0 on a failure, whatever
 * was thrown (some libraries reject with `undefined`, which the bundle's top-level await ignores).
 */
export async function runScript(name: string, main: () => Promise<number | void>): Promise<never> {
  let code: number;
  try {
    code = (await main()) ?? 0;
  } catch (error) {
    process.stderr.write(`${name} failed: ${describeError(error)}\n`);
    code = 1;
  }
  process.exit(code);
}

/**
 * What an operator script runs on: the configuration, the database (with DATABASE_URL unset, the
 * embedded one — the running `npm start`'s when there is one), the key-encryption key, and the
 * identity services.
 */
export async function withScriptContext<T>(
  name: string,
  work: (context: INestApplicationContext, config: GatehouseConfig) => Promise<T>,
): Promise<T> {
  const resolved = await resolveDatabase(loadConfigOrExit(), { owner: name, joinRunning: true });
  try {
    const config = await resolveKeyEncryptionKey(resolved.config, {
      embedded: resolved.inDataDir,
    });
    return await withIdentityContext(name, config, work);
  } finally {
    await resolved.embedded?.stop();
  }
}

/** The identity services on an already resolved configuration (the launcher has its own). */
export async function withIdentityContext<T>(
  name: string,
  config: GatehouseConfig,
  work: (context: INestApplicationContext, config: GatehouseConfig) => Promise<T>,
): Promise<T> {
  @Module({
    imports: [
      ConfigModule.forRoot(config),
      PersistenceModule.forRootAsync({
        useFactory: () => ({
          url: config.database.url ?? '',
          poolSize: 2,
          connectTimeoutMs: config.database.connectTimeoutMs,
          migrationsRun: config.database.migrationsRun,
          applicationName: `gatehouse-${name.replaceAll(/[^a-z0-9]+/gi, '-')}`,
        }),
      }),
      IdentityModule,
    ],
  })
  class ScriptModule {}

  const context = await NestFactory.createApplicationContext(ScriptModule, {
    logger: ['error', 'warn'],
  });
  try {
    return await work(context, config);
  } finally {
    await context.close();
  }
}
