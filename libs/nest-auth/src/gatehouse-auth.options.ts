import type { CapabilityMap } from './capabilities.js';
import type { RevocationFeed } from './revocation/revocation-feed.js';
import type { SessionIntrospector } from './sessions/session-introspector.js';
import type { AccessTokenVerification } from './tokens/access-token.verifier.js';

/** The injection token of the resolved `GatehouseAuthOptions` (exported by `GatehouseAuthModule`). */
export const GATEHOUSE_AUTH_OPTIONS = Symbol('GATEHOUSE_AUTH_OPTIONS');

/** Asks the platform whether a verified bearer token's session has been revoked. */
export interface RevocationCheck {
  isRevoked(token: string, sessionId: string): Promise<boolean>;
}

/** What `GatehouseAuthModule.forRoot` / `forRootAsync` configure: credentials, feed, capabilities. */
export interface GatehouseAuthOptions {
  /** Name of the session cookie: `gh_session`, or `__Host-gh_session` when served over HTTPS. */
  readonly cookieName: string;
  /** Origins whose cookie-authenticated writes are accepted (CSRF defence). */
  readonly trustedOrigins: readonly string[];
  /** Validates session cookies. Without it the app accepts no cookie credential. */
  readonly sessions?: SessionIntrospector;
  /**
   * Verifies bearer access tokens (`AccessTokenVerifier`, or `DiscoveredAccessTokenVerifier` when the
   * issuer may not be reachable yet). Without it the app accepts no bearer credential.
   */
  readonly accessTokens?: AccessTokenVerification;
  /**
   * Where revocations come from (`PgRevocationFeed` by default in sibling apps): a revoked session's
   * still-unexpired access tokens are refused as soon as the event arrives.
   */
  readonly revocationFeed?: RevocationFeed;
  /**
   * How many revoked sessions the in-memory revocation list holds (100 000 by default; each is kept
   * until the longest access token of its session has expired). A full list forgets nothing: it
   * stops storing and, until every revocation it could not store has expired, a bearer token whose
   * session it does not hold is checked at the platform — by the verifier's `isSessionRevoked` or
   * `introspection` if configured, else by `revocationFallback` — or, with neither, refused with 503
   * `REVOCATION_CHECK_UNAVAILABLE` and `Retry-After`. A session cookie is then asked of `sessions`
   * again, past its cache.
   */
  readonly revocationListCapacity?: number;
  /**
   * Asked whether a bearer token's session is revoked while the revocation list cannot vouch for it
   * (it overflows, or its feed is not connected or has not caught up), and only then (true refuses
   * it with 401 `SESSION_REVOKED`). An `IntrospectionRevocationCheck` fits, as does
   * any `{ isRevoked(token, sessionId) }` that asks the platform.
   */
  readonly revocationFallback?: RevocationCheck;
  /**
   * The scopes a cookie-authenticated caller holds. A browser session is the user at the platform's
   * own pages, first-party by nature, so an app lists here the reserved scopes its routes require of
   * bearer tokens (`account` at auth-api, `admin` at admin-api). None by default.
   */
  readonly cookieScopes?: readonly string[];
  /**
   * Seam: the user's roles *now*, for a bearer caller on a route that needs capabilities (the
   * platform's apps read them from the database, so a role removed is gone at once). Null: the user
   * is gone or disabled. Without it, the token's `roles` claim (roles at issuance) is used. A token
   * without a `roles` claim (a third-party client's) holds no role either way.
   */
  readonly currentRoles?: (userId: string) => Promise<readonly string[] | null>;
  /** Extra roles or capabilities, merged into the defaults (`admin`, `support`). */
  readonly capabilities?: CapabilityMap;
  /** The realm of `WWW-Authenticate` challenges; `gatehouse` by default. */
  readonly realm?: string;
}
