import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigModule, type GatehouseConfig } from '@gatehouse/config';
import { loadConfigOrExit, resolveDatabase, resolveKeyEncryptionKey } from '@gatehouse/http';
import { IdentityModule } from '@gatehouse/identity';
import { PersistenceModule } from '@gatehouse/persistence';

/**
 * What an operator script runs on: the configuration, the database (the embedded one when
 * DATABASE_URL is unset — stop `npm start` first), the key-encryption key, and the identity services.
 */
export async function withScriptContext<T>(
  name: string,
  work: (context: INestApplicationContext, config: GatehouseConfig) => Promise<T>,
): Promise<T> {
  const resolved = await resolveDatabase(loadConfigOrExit());
  const config = await resolveKeyEncryptionKey(resolved.config, { embedded: !!resolved.embedded });

  @Module({
    imports: [
      ConfigModule.forRoot(config),
      PersistenceModule.forRootAsync({
        useFactory: () => ({
          url: config.database.url ?? '',
          poolSize: 2,
          connectTimeoutMs: config.database.connectTimeoutMs,
          migrationsRun: config.database.migrationsRun,
          applicationName: `gatehouse-${name}`,
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
    await resolved.embedded?.stop();
  }
}
