import { type DynamicModule, Logger, Module, ValidationPipe } from '@nestjs/common';
import { APP_PIPE } from '@nestjs/core';
import {
  AccessTokenVerifier,
  DiscoveredAccessTokenVerifier,
  GatehouseAuthModule,
  type GatehouseAuthOptions,
  HttpSessionIntrospector,
  IssuerDiscovery,
  PgRevocationFeed,
  RedisRevocationFeed,
  type RevocationFeed,
  remoteKeySource,
} from '@gatehouse/nest-auth';
import { GatehouseJwtStrategy } from '@gatehouse/nest-auth/passport';
import pg from 'pg';

import type { NotesApiConfig } from './notes-api.config.js';
import { NOTES_API_INSTANCE_ID, NotesController } from './notes/notes.controller.js';
import { NOTES_POOL, NotesRepository } from './notes/notes.repository.js';
import { ReadinessController } from './health/readiness.controller.js';

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

/**
 * Everything notes-api knows about Gatehouse comes from the issuer's discovery document, fetched
 * without ever stopping the app: while auth-api is unreachable notes-api runs, is not ready
 * (`GET /health/ready`) and answers credentials 503, and it keeps retrying.
 */
function authOptions(config: NotesApiConfig, discovery: IssuerDiscovery): GatehouseAuthOptions {
  const client = config.introspectionClient;
  return {
    cookieName: 'gh_session',
    trustedOrigins: config.trustedOrigins,
    accessTokens: new DiscoveredAccessTokenVerifier(discovery, (metadata) => {
      const platformAudience = metadata.gatehouse_access_token_audience ?? 'gatehouse';
      return new AccessTokenVerifier({
        issuer: metadata.issuer,
        audience: config.audience ? [config.audience, platformAudience] : platformAudience,
        keys: remoteKeySource(metadata.jwks_uri),
      });
    }),
    sessions: client
      ? new HttpSessionIntrospector({
          endpoint: () =>
            discovery.require().introspection_endpoint ?? `${config.issuer}/oauth/introspect`,
          clientId: client.id,
          clientSecret: client.secret,
        })
      : undefined,
    revocationFeed: revocationFeed(config),
    capabilities: { moderator: ['notes:moderate'], admin: ['notes:moderate'] },
  };
}

@Module({})
export class NotesApiModule {
  static forRoot(config: NotesApiConfig): DynamicModule {
    const discovery = new IssuerDiscovery({
      issuer: config.issuer,
      maxRetryDelayMs: config.discoveryRetryMaxMs,
    });
    return {
      module: NotesApiModule,
      imports: [GatehouseAuthModule.forRoot(authOptions(config, discovery))],
      controllers: [NotesController, ReadinessController],
      providers: [
        NotesRepository,
        // For the routes that opt into Passport (`AuthGuard('gatehouse')`); the global guard serves the rest.
        GatehouseJwtStrategy,
        // A provider, so Nest starts it at bootstrap and stops its retries at shutdown.
        { provide: IssuerDiscovery, useFactory: () => discovery },
        { provide: NOTES_API_INSTANCE_ID, useFactory: () => config.instanceId },
        {
          provide: NOTES_POOL,
          useFactory: () => {
            const pool = new pg.Pool({
              connectionString: config.databaseUrl,
              max: 5,
              application_name: 'notes-api',
              // An unreachable database answers 503 in seconds instead of hanging requests.
              connectionTimeoutMillis: 3000,
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
