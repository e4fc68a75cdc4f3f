import type { DynamicModule } from '@nestjs/common';
import { GATEHOUSE_CONFIG, type GatehouseConfig } from '@gatehouse/config';
import {
  IdentityModule,
  SessionService,
  SigningKeyService,
  UserAdministrationService,
} from '@gatehouse/identity';
import {
  AccessTokenVerifier,
  GatehouseAuthModule,
  type GatehouseAuthOptions,
  localKeySource,
  PgRevocationFeed,
} from '@gatehouse/nest-auth';

import { LocalSessionIntrospector } from './local-session-introspector.js';

/** Which resource server the app is (RFC 8707) and what a browser session holds there. */
export interface LocalResource {
  /** The `aud` values the app accepts. */
  readonly audience: (config: GatehouseConfig) => string | readonly string[];
  /** The reserved scopes a cookie session holds at this app (a browser session is first-party). */
  readonly cookieScopes: readonly string[];
}

/**
 * nest-auth's guard for the platform's own apps, answered in-process from Gatehouse's tables: session
 * cookies, the signing keys for bearer tokens, and whether a token's session was revoked.
 *
 * With the session cache on (`SESSION_CACHE_TTL_SECONDS` > 0) the process also listens to the
 * revocation feed (PostgreSQL LISTEN, which it needs anyway), so a session revoked by another process
 * leaves this one's cache within milliseconds.
 */
export function localAuthentication(resource: LocalResource): DynamicModule {
  return GatehouseAuthModule.forRootAsync({
    imports: [IdentityModule],
    inject: [GATEHOUSE_CONFIG, SessionService, SigningKeyService, UserAdministrationService],
    useFactory: (
      config: GatehouseConfig,
      sessions: SessionService,
      keys: SigningKeyService,
      users: UserAdministrationService,
    ): GatehouseAuthOptions => ({
      cookieName: config.session.cookieName,
      trustedOrigins: config.trustedOrigins,
      sessions: new LocalSessionIntrospector(sessions),
      cookieScopes: resource.cookieScopes,
      currentRoles: (userId) => users.currentRoles(userId),
      accessTokens: new AccessTokenVerifier({
        issuer: config.issuer,
        audience: resource.audience(config),
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
