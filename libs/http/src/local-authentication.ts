import type { DynamicModule } from '@nestjs/common';
import { GATEHOUSE_CONFIG, type GatehouseConfig } from '@gatehouse/config';
import {
  ClientCache,
  IdentityModule,
  RevocationService,
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
  type PgRevocationFeedOptions,
  type RevocationSink,
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
 * The PostgreSQL feed, plus this process's own revocations the moment they commit: a request that
 * follows a revocation in the same process is refused without waiting for the NOTIFY to come back.
 * Client events also evict the client from this process's client cache (a client deleted, narrowed
 * or changed by another process); while the feed is lost, that cache is emptied, as it cannot hear.
 */
class PlatformRevocationFeed extends PgRevocationFeed {
  private unsubscribe = (): void => undefined;

  constructor(
    options: PgRevocationFeedOptions,
    private readonly revocations: RevocationService,
    private readonly clients: ClientCache,
  ) {
    super(options);
  }

  override start(guardSink: RevocationSink): Promise<void> {
    const sink: RevocationSink = {
      ...guardSink,
      clientRevoked: (event) => {
        this.clients.evict(event.clientId);
        guardSink.clientRevoked?.(event);
      },
      disconnected: () => {
        this.clients.clear();
        guardSink.disconnected?.();
      },
    };
    this.unsubscribe();
    const stop = this.revocations.subscribe({
      sessionsRevoked: (sessionIds, untilMs) => {
        for (const sessionId of sessionIds) {
          sink.revoked({ sessionId, untilMs });
        }
      },
      clientTokensRevoked: (clientId, revokedAtMs, untilMs) =>
        sink.clientRevoked?.({ clientId, revokedAtMs, untilMs }),
    });
    this.unsubscribe = () => void stop();
    return super.start(sink);
  }

  override stop(): Promise<void> {
    this.unsubscribe();
    return super.stop();
  }
}

/**
 * nest-auth's guard for the platform's own apps, answered in-process from Gatehouse's tables: session
 * cookies and the signing keys for bearer tokens.
 *
 * Like a sibling app, the process listens to the revocation feed (PostgreSQL LISTEN on the database
 * it uses anyway): a bearer token's session is checked against the in-process revocation list, with
 * no query, and a session revoked by another process leaves the session cache within milliseconds.
 * While the feed is not connected or has not caught up, the list cannot vouch for a session and the
 * guard asks PostgreSQL instead (`revocationFallback`), as it did on every request before.
 */
export function localAuthentication(resource: LocalResource): DynamicModule {
  return GatehouseAuthModule.forRootAsync({
    imports: [IdentityModule],
    inject: [
      GATEHOUSE_CONFIG,
      SessionService,
      SigningKeyService,
      UserAdministrationService,
      RevocationService,
      ClientCache,
    ],
    useFactory: (
      config: GatehouseConfig,
      sessions: SessionService,
      keys: SigningKeyService,
      users: UserAdministrationService,
      revocations: RevocationService,
      clients: ClientCache,
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
      }),
      revocationFallback: { isRevoked: (_token, sessionId) => sessions.isEnded(sessionId) },
      ...(config.database.url
        ? {
            revocationFeed: new PlatformRevocationFeed(
              { databaseUrl: config.database.url, applicationName: 'gatehouse-revocation-feed' },
              revocations,
              clients,
            ),
          }
        : {}),
    }),
  });
}
