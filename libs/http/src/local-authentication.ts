import type { DynamicModule } from '@nestjs/common';
import { GATEHOUSE_CONFIG, type GatehouseConfig } from '@gatehouse/config';
import { IdentityModule, SessionService, SigningKeyService } from '@gatehouse/identity';
import {
  AccessTokenVerifier,
  GatehouseAuthModule,
  type GatehouseAuthOptions,
  localKeySource,
  PgRevocationFeed,
} from '@gatehouse/nest-auth';

import { LocalSessionIntrospector } from './local-session-introspector.js';

/**
 * nest-auth's guard for the platform's own apps, answered in-process from Gatehouse's tables: session
 * cookies, the signing keys for bearer tokens, and whether a token's session was revoked.
 *
 * With the session cache on (`SESSION_CACHE_TTL_SECONDS` > 0) the process also listens to the
 * revocation feed (PostgreSQL LISTEN, which it needs anyway), so a session revoked by another process
 * leaves this one's cache within milliseconds.
 */
export function localAuthentication(): DynamicModule {
  return GatehouseAuthModule.forRootAsync({
    imports: [IdentityModule],
    inject: [GATEHOUSE_CONFIG, SessionService, SigningKeyService],
    useFactory: (
      config: GatehouseConfig,
      sessions: SessionService,
      keys: SigningKeyService,
    ): GatehouseAuthOptions => ({
      cookieName: config.session.cookieName,
      trustedOrigins: config.trustedOrigins,
      sessions: new LocalSessionIntrospector(sessions),
      accessTokens: new AccessTokenVerifier({
        issuer: config.issuer,
        audience: config.tokens.audience,
        keys: localKeySource(() => keys.jwks()),
        isSessionRevoked: (sessionId) => sessions.isEnded(sessionId),
      }),
      ...(config.session.cacheTtlSeconds > 0 && config.database.url
        ? {
            revocationFeed: new PgRevocationFeed({
              databaseUrl: config.database.url,
              applicationName: 'gatehouse-session-cache-feed',
            }),
          }
        : {}),
    }),
  });
}
