import 'reflect-metadata';

import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigModule } from '@gatehouse/config';
import { loadConfigOrExit, resolveDatabase, resolveKeyEncryptionKey } from '@gatehouse/http';
import { IdentityModule, SigningKeyService } from '@gatehouse/identity';
import { PersistenceModule } from '@gatehouse/persistence';

/**
 * `npm run keys:rotate`: one step of the signing-key life cycle (active → retired, next → active, a new
 * next). Running apps follow within a minute; tokens signed before stay verifiable until they expire.
 * With the embedded database, stop `npm start` first (one server per data directory).
 */
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
        applicationName: 'gatehouse-keys-rotate',
      }),
    }),
    IdentityModule,
  ],
})
class RotateKeysModule {}

const app = await NestFactory.createApplicationContext(RotateKeysModule, {
  logger: ['error', 'warn'],
});
try {
  const keys = app.get(SigningKeyService);
  await keys.ensureKeys();
  const { retired, active, next } = await keys.rotate();
  process.stdout.write(
    `Signing keys rotated: retired ${retired ?? '(none)'}, active ${active}, next ${next}\n`,
  );
} finally {
  await app.close();
  await resolved.embedded?.stop();
}
