import type { CapabilityMap } from './capabilities.js';
import type { RevocationFeed } from './revocation/revocation-feed.js';
import type { SessionIntrospector } from './sessions/session-introspector.js';
import type { AccessTokenVerifier } from './tokens/access-token.verifier.js';

export const GATEHOUSE_AUTH_OPTIONS = Symbol('GATEHOUSE_AUTH_OPTIONS');

export interface GatehouseAuthOptions {
  /** Name of the session cookie: `gh_session`, or `__Host-gh_session` when served over HTTPS. */
  readonly cookieName: string;
  /** Origins whose cookie-authenticated writes are accepted (CSRF defence). */
  readonly trustedOrigins: readonly string[];
  /** Validates session cookies. Without it the app accepts no cookie credential. */
  readonly sessions?: SessionIntrospector;
  /** Verifies bearer access tokens. Without it the app accepts no bearer credential. */
  readonly accessTokens?: AccessTokenVerifier;
  /**
   * Where revocations come from (`PgRevocationFeed` by default in sibling apps): a revoked session's
   * still-unexpired access tokens are refused as soon as the event arrives.
   */
  readonly revocationFeed?: RevocationFeed;
  /** Extra roles or capabilities, merged into the defaults (`admin`, `support`). */
  readonly capabilities?: CapabilityMap;
  /** The realm of `WWW-Authenticate` challenges; `gatehouse` by default. */
  readonly realm?: string;
}
