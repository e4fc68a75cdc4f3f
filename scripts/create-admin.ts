import 'reflect-metadata';

import { createInterface } from 'node:readline';

import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigModule } from '@gatehouse/config';
import { loadConfigOrExit, resolveDatabase, resolveKeyEncryptionKey } from '@gatehouse/http';
import { IdentityModule, UserService } from '@gatehouse/identity';
import { PersistenceModule } from '@gatehouse/persistence';

/**
 * `npm run admin:create -- --email ops@example.com`: creates an operator (role `admin`), or promotes an
 * existing account whose password it is given. The password is read from the first line of standard
 * input — never from the command line, where `ps` would show it.
 */
function emailArgument(): string {
  const index = process.argv.indexOf('--email');
  const email = index >= 0 ? process.argv[index + 1] : undefined;
  if (!email) {
    process.stderr.write(
      'Usage: npm run admin:create -- --email <email>  (password: ADMIN_PASSWORD or stdin)\n',
    );
    process.exit(2);
  }
  return email;
}

async function passwordInput(): Promise<string> {
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    lines.close();
    return line;
  }
  return '';
}

const email = emailArgument();
const initial = loadConfigOrExit();
const password = await passwordInput();
const resolved = await resolveDatabase(initial);
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
        applicationName: 'gatehouse-admin-create',
      }),
    }),
    IdentityModule,
  ],
})
class CreateAdminModule {}

const app = await NestFactory.createApplicationContext(CreateAdminModule, { logger: ['error'] });
let exitCode = 0;
try {
  const { user, created } = await app.get(UserService).createOperator(email, password);
  process.stdout.write(`${created ? 'Created' : 'Promoted'} operator ${user.email} (${user.id})\n`);
} catch (error) {
  process.stderr.write(`admin:create failed: ${(error as Error).message}\n`);
  exitCode = 1;
} finally {
  await app.close();
  await resolved.embedded?.stop();
}
process.exit(exitCode);
