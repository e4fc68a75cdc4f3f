import { errors, type JWTPayload, jwtVerify } from 'jose';

import {
  InvalidTokenError,
  SessionRevokedError,
  TokenExpiredError,
  VerificationUnavailableError,
} from '../auth.errors.js';
import { CredentialCache } from '../introspection/credential-cache.js';
import type { KeySource } from '../keys/key-sources.js';
import type { IntrospectionRevocationCheck } from './introspection-revocation-check.js';

/** The claims a Gatehouse access token carries (RFC 9068 profile). */
export interface AccessTokenClaims extends JWTPayload {
  readonly sub: string;
  readonly client_id: string;
  readonly scope?: string;
  readonly roles?: string[];
  /** The session behind the token; absent for client-credentials tokens. */
  readonly sid?: string;
}

/** Options of `AccessTokenVerifier`: whose tokens it accepts, its keys, and its session checks. */
export interface AccessTokenVerifierOptions {
  readonly issuer: string;
  /** The `aud` values this app accepts (RFC 8707 resource indicators): the token needs one of them. */
  readonly audience: string | readonly string[];
  readonly keys: KeySource;
  /**
   * Seam: whether the session behind a token has been revoked. Without it only signature and times
   * are checked, and a revoked session's tokens live until they expire.
   */
  readonly isSessionRevoked?: (sessionId: string) => Promise<boolean>;
  /**
   * For a guard with no revocation feed: ask auth-api whether the token is still active, with a short
   * cache (see `IntrospectionRevocationCheck` for the trade-off).
   */
  readonly introspection?: IntrospectionRevocationCheck;
  /** Allowed clock skew for exp/nbf/iat; 30 s by default. */
  readonly clockToleranceSeconds?: number;
  /**
   * How many already-verified tokens to remember (their signature and claims), so a token presented
   * again skips the signature check. Expiry and revocation are still checked on every request.
   * 10 000 by default; 0 disables.
   */
  readonly verifiedCacheSize?: number;
}

/**
 * What the guard needs of a bearer-token verifier: `AccessTokenVerifier`, or a wrapper such as
 * `DiscoveredAccessTokenVerifier` that builds one when it can.
 */
export interface AccessTokenVerification {
  /** The token's claims, or a `GatehouseAuthError` (401 invalid/expired/revoked, 503 unavailable). */
  verify(token: string): Promise<AccessTokenClaims>;
  /** True when `verify` itself asks the platform whether the token's session was revoked. */
  readonly checksSessionsAtPlatform: boolean;
}

/**
 * Asymmetric algorithms only: `none` and every HS* (an HMAC keyed with a public key) are refused
 * whatever the token's header says (RFC 8725 §3.1).
 */
const ALGORITHMS = ['ES256', 'RS256', 'EdDSA'];

/** Verifies bearer access tokens: signature by `kid`, `typ`, iss, aud, times, then the session. */
export class AccessTokenVerifier implements AccessTokenVerification {
  private readonly verified: CredentialCache<AccessTokenClaims>;

  constructor(private readonly options: AccessTokenVerifierOptions) {
    this.verified = new CredentialCache(options.verifiedCacheSize ?? 10_000, 0, false);
  }

  /**
   * Whether `verify` asks the platform about the token's session on every call (`isSessionRevoked`
   * or `introspection` is configured): then the guard needs no other answer when its revocation list
   * cannot give one.
   */
  get checksSessionsAtPlatform(): boolean {
    return this.options.isSessionRevoked !== undefined || this.options.introspection !== undefined;
  }

  async verify(token: string): Promise<AccessTokenClaims> {
    const claims = this.fromCache(token) ?? (await this.verifySignatureAndTimes(token));
    const { isSessionRevoked, introspection } = this.options;
    // Only the checks that are configured are awaited: the hot path stays one promise deep.
    if (claims.sid && isSessionRevoked && (await isSessionRevoked(claims.sid))) {
      throw new SessionRevokedError();
    }
    if (claims.sid && introspection && (await introspection.isRevoked(token))) {
      throw new SessionRevokedError();
    }
    return claims;
  }

  /** A token verified before: its signature holds, but `exp` and `nbf` are judged again now. */
  private fromCache(token: string): AccessTokenClaims | undefined {
    const claims = this.verified.get(token);
    if (!claims) {
      return undefined;
    }
    const tolerance = this.options.clockToleranceSeconds ?? 30;
    const now = Date.now() / 1000;
    if (now >= (claims.exp ?? 0) + tolerance) {
      this.verified.delete(token);
      throw new TokenExpiredError();
    }
    if (claims.nbf !== undefined && now + tolerance < claims.nbf) {
      throw new InvalidTokenError();
    }
    return claims;
  }

  private async verifySignatureAndTimes(token: string): Promise<AccessTokenClaims> {
    try {
      const { payload } = await jwtVerify(token, this.options.keys, {
        issuer: this.options.issuer,
        audience:
          typeof this.options.audience === 'string'
            ? this.options.audience
            : [...this.options.audience],
        algorithms: ALGORITHMS,
        typ: 'at+jwt',
        clockTolerance: this.options.clockToleranceSeconds ?? 30,
        requiredClaims: ['sub', 'exp', 'iat', 'client_id'],
      });
      const claims = payload as AccessTokenClaims;
      this.verified.set(token, claims);
      return claims;
    } catch (error) {
      if (error instanceof errors.JWTExpired) {
        throw new TokenExpiredError();
      }
      if (isKeySetUnreachable(error)) {
        throw new VerificationUnavailableError();
      }
      throw new InvalidTokenError();
    }
  }
}

/**
 * The key set could not be fetched (the issuer is down or answers an error): the token may well be
 * good, so it is "retry later", not "invalid". Errors about the token itself (signature, claims, an
 * unknown kid) are JOSE errors with their own codes; a network failure is fetch's "fetch failed"
 * TypeError, and a non-200 JWKS answer is jose's generic error.
 */
function isKeySetUnreachable(error: unknown): boolean {
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
    return true;
  }
  if (error instanceof errors.JOSEError) {
    return error.code === 'ERR_JOSE_GENERIC';
  }
  return error instanceof TypeError && error.message === 'fetch failed';
}
