// A sibling app of another repository, as its README would have it: it installs
// @gatehouse/nest-auth from the packed tarball and knows nothing else of Gatehouse.
// test/deployment/nest-auth-package.e2e-spec.ts copies it into a temporary folder outside this
// repository, compiles it with plain tsc and runs it: `node dist/main.js <express|fastify>
// [--passport]`.
import 'reflect-metadata';

import { Controller, Get, Module, type ModuleMetadata } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import {
  AccessTokenVerifier,
  CurrentUser,
  DiscoveredAccessTokenVerifier,
  GatehouseAuthModule,
  IssuerDiscovery,
  PgRevocationFeed,
  remoteKeySource,
} from '@gatehouse/nest-auth';

const issuer = required('ISSUER');
const databaseUrl = required('DATABASE_URL');
const adapter = process.argv[2] === 'express' ? new ExpressAdapter() : new FastifyAdapter();
const passport = process.argv.includes('--passport') ? await import('./passport.js') : undefined;

@Controller()
class WhoamiController {
  @Get('whoami')
  whoami(@CurrentUser() user: CurrentUser): { id: string; sessionId: string | null } {
    return { id: user.id, sessionId: user.sessionId };
  }
}

const discovery = new IssuerDiscovery({ issuer });
const metadata: ModuleMetadata = {
  imports: [
    GatehouseAuthModule.forRoot({
      cookieName: 'gh_session',
      trustedOrigins: [],
      accessTokens: new DiscoveredAccessTokenVerifier(
        discovery,
        (meta) =>
          new AccessTokenVerifier({
            issuer: meta.issuer,
            audience: meta.gatehouse_access_token_audience ?? 'gatehouse',
            keys: remoteKeySource(meta.jwks_uri),
          }),
      ),
      revocationFeed: new PgRevocationFeed({ databaseUrl }),
    }),
  ],
  controllers: [WhoamiController, ...(passport ? [passport.PassportWhoamiController] : [])],
  providers: [
    { provide: IssuerDiscovery, useFactory: () => discovery },
    ...(passport?.passportProviders ?? []),
  ],
};

@Module(metadata)
class AppModule {}

const app = await NestFactory.create(AppModule, adapter, { logger: ['error', 'warn'] });
app.enableShutdownHooks();
await app.listen(0, '127.0.0.1');
process.stdout.write(`listening on http://127.0.0.1:${new URL(await app.getUrl()).port}\n`);

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is required`);
  }
  return value;
}
