import { type DynamicModule, Logger, Module, ValidationPipe } from '@nestjs/common';
import { APP_PIPE } from '@nestjs/core';
import {
  AccessTokenVerifier,
  GatehouseAuthModule,
  HttpSessionIntrospector,
  PgRevocationFeed,
  RedisRevocationFeed,
  type RevocationFeed,
  remoteKeySource,
} from '@gatehouse/nest-auth';
import pg from 'pg';

import type { NotesApiConfig } from './notes-api.config.js';
import { NOTES_API_INSTANCE_ID, NotesController } from './notes/notes.controller.js';
import { NOTES_POOL, NotesRepository } from './notes/notes.repository.js';

interface IssuerMetadata {
  readonly issuer: string;
  readonly jwks_uri: string;
  readonly introspection_endpoint: string;
  readonly gatehouse_access_token_audience: string;
}

/** Everything notes-api knows about Gatehouse comes from the issuer's discovery document. */
async function discover(issuer: string): Promise<IssuerMetadata> {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`);
  if (!response.ok) {
    throw new Error(`Discovery at ${issuer} answered ${response.status}`);
  }
  return (await response.json()) as IssuerMetadata;
}

/** Redis pub/sub when REDIS_URL is set, else PostgreSQL LISTEN; both backfill from the table. */
function revocationFeed(config: NotesApiConfig): RevocationFeed {
  return config.redisUrl
    ? new RedisRevocationFeed({ redisUrl: config.redisUrl, databaseUrl: config.databaseUrl })
    : new PgRevocationFeed({
        databaseUrl: config.databaseUrl,
        applicationName: 'notes-api-revocation-feed',
        reconnectDelayMs: config.feedReconnectDelayMs,
      });
}

@Module({})
export class NotesApiModule {
  static forRoot(config: NotesApiConfig): DynamicModule {
    return {
      module: NotesApiModule,
      imports: [
        GatehouseAuthModule.forRootAsync({
          useFactory: async () => {
            const metadata = await discover(config.issuer);
            const client = config.introspectionClient;
            return {
              cookieName: 'gh_session',
              trustedOrigins: config.trustedOrigins,
              accessTokens: new AccessTokenVerifier({
                issuer: metadata.issuer,
                audience: config.audience
                  ? [config.audience, metadata.gatehouse_access_token_audience]
                  : metadata.gatehouse_access_token_audience,
                keys: remoteKeySource(metadata.jwks_uri),
              }),
              sessions: client
                ? new HttpSessionIntrospector({
                    endpoint: metadata.introspection_endpoint,
                    clientId: client.id,
                    clientSecret: client.secret,
                  })
                : undefined,
              revocationFeed: revocationFeed(config),
              capabilities: { moderator: ['notes:moderate'], admin: ['notes:moderate'] },
            };
          },
        }),
      ],
      controllers: [NotesController],
      providers: [
        NotesRepository,
        { provide: NOTES_API_INSTANCE_ID, useFactory: () => config.instanceId },
        {
          provide: NOTES_POOL,
          useFactory: () => {
            const pool = new pg.Pool({
              connectionString: config.databaseUrl,
              max: 5,
              application_name: 'notes-api',
            });
            // An idle client dropped by the server (restart, failover) must not crash the process.
            pool.on('error', (error) => new Logger('NotesRepository').warn(error.message));
            return pool;
          },
        },
        {
          provide: APP_PIPE,
          useValue: new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true }),
        },
      ],
    };
  }
}
