import { errors, type JWTPayload, jwtVerify } from 'jose';

import {
  InvalidTokenError,
  SessionRevokedError,
  TokenExpiredError,
  VerificationUnavailableError,
} from '../auth.errors.js';
import { hasWhitespace } from '../guards/bearer-token.js';
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
  /** When and how the user signed in (OIDC `auth_time`, RFC 8176 `amr`), and its class (`acr`). */
  readonly auth_time?: number;
  readonly amr?: string[];
  readonly acr?: string;
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
 * What `verify` checks, for a verifier that checks the signature itself (`GatehouseJwtStrategy`,
 * with passport-jwt): the same key source, algorithms, `typ`, iss, aud and clock tolerance, the
 * same verified-token cache, and the same session checks after the signature.
 */
export interface AccessTokenRules {
  readonly issuer: string;
  readonly audience: readonly string[];
  /** The same resolver (and key cache, and unknown-kid refetch rule) `verify` uses. */
  readonly keys: KeySource;
  readonly algorithms: readonly string[];
  /** RFC 9068 §2.1: `at+jwt` (`application/at+jwt` is the same type). */
  readonly typ: 'at+jwt';
  readonly clockToleranceSeconds: number;
  readonly requiredClaims: readonly string[];
  /**
   * The claims of a token verified before (signature and claims hold; `exp` and `nbf` are judged
   * again: `TokenExpiredError`, `InvalidTokenError`), or undefined.
   */
  recall(token: string): AccessTokenClaims | undefined;
  /** Remembers a token verified under these rules, so it is not verified again (see `recall`). */
  remember(token: string, claims: AccessTokenClaims): void;
  /** What `verify` asks after the signature (`isSessionRevoked`, `introspection`), if configured. */
  checkSession(token: string, claims: AccessTokenClaims): Promise<void>;
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
  /**
   * The rules `verify` applies, for `GatehouseJwtStrategy`; `VerificationUnavailableError` while
   * they are not known yet (the issuer has not been discovered).
   */
  rules(): AccessTokenRules;
}

/**
 * Asymmetric algorithms only: `none` and every HS* (an HMAC keyed with a public key) are refused
 * whatever the token's header says (RFC 8725 §3.1).
 */
const ALGORITHMS: readonly string[] = ['ES256', 'RS256', 'EdDSA'];
const REQUIRED_CLAIMS: readonly string[] = ['sub', 'exp', 'iat', 'client_id'];

/** A verified token, whole, with its claims: filed under `verifiedKey(token)`. */
interface Verified {
  readonly token: string;
  readonly claims: AccessTokenClaims;
}

/**
 * Where a verified token is filed: its signature segment (about 86 characters for ES256), not the
 * whole ~660-character token, whose hash a lookup would compute on every request. The entry keeps
 * the whole token and only an exact match is a hit, so a signature pasted onto another header or
 * payload is verified like any token not seen before.
 */
function verifiedKey(token: string): string {
  return token.slice(token.lastIndexOf('.') + 1);
}

/** Verifies bearer access tokens: signature by `kid`, `typ`, iss, aud, times, then the session. */
export class AccessTokenVerifier implements AccessTokenVerification {
  private readonly verified: CredentialCache<Verified>;
  private readonly profile: AccessTokenRules;

  constructor(private readonly options: AccessTokenVerifierOptions) {
    this.verified = new CredentialCache(options.verifiedCacheSize ?? 10_000, 0, false);
    this.profile = {
      issuer: options.issuer,
      audience: typeof options.audience === 'string' ? [options.audience] : [...options.audience],
      keys: options.keys,
      algorithms: ALGORITHMS,
      typ: 'at+jwt',
      clockToleranceSeconds: options.clockToleranceSeconds ?? 30,
      requiredClaims: REQUIRED_CLAIMS,
      recall: (token) => this.fromCache(token),
      remember: (token, claims) => this.remember(token, claims),
      checkSession: (token, claims) => this.checkSession(token, claims),
    };
  }

  rules(): AccessTokenRules {
    return this.profile;
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
    // Only when checks are configured: the hot path stays one promise deep.
    if (this.checksSessionsAtPlatform) {
      await this.checkSession(token, claims);
    }
    return claims;
  }

  private async checkSession(token: string, claims: AccessTokenClaims): Promise<void> {
    const { isSessionRevoked, introspection } = this.options;
    if (claims.sid && isSessionRevoked && (await isSessionRevoked(claims.sid))) {
      throw new SessionRevokedError();
    }
    if (claims.sid && introspection && (await introspection.isRevoked(token))) {
      throw new SessionRevokedError();
    }
  }

  /**
   * A token with whitespace (not an RFC 6750 b64token) is never cached: the guard looks a request's
   * credential up here before scanning it, which is sound only while no cached token has any.
   * `verifySignatureAndTimes` refuses one before it gets this far.
   */
  private remember(token: string, claims: AccessTokenClaims): void {
    if (!hasWhitespace(token)) {
      this.file(token, claims);
    }
  }

  private file(token: string, claims: AccessTokenClaims): void {
    this.verified.set(verifiedKey(token), { token, claims });
  }

  /** A token verified before: its signature holds, but `exp` and `nbf` are judged again now. */
  private fromCache(token: string): AccessTokenClaims | undefined {
    const key = verifiedKey(token);
    const entry = this.verified.get(key);
    if (entry?.token !== token) {
      return undefined;
    }
    const { claims } = entry;
    const tolerance = this.options.clockToleranceSeconds ?? 30;
    const now = Date.now() / 1000;
    if (now >= (claims.exp ?? 0) + tolerance) {
      this.verified.delete(key);
      throw new TokenExpiredError();
    }
    if (claims.nbf !== undefined && now + tolerance < claims.nbf) {
      throw new InvalidTokenError();
    }
    return claims;
  }

  private async verifySignatureAndTimes(token: string): Promise<AccessTokenClaims> {
    if (hasWhitespace(token)) {
      throw new InvalidTokenError();
    }
    try {
      const rules = this.profile;
      const { payload } = await jwtVerify(token, rules.keys, {
        issuer: rules.issuer,
        audience: [...rules.audience],
        algorithms: [...rules.algorithms],
        typ: rules.typ,
        clockTolerance: rules.clockToleranceSeconds,
        requiredClaims: [...rules.requiredClaims],
      });
      const claims = payload as AccessTokenClaims;
      this.file(token, claims);
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
export function isKeySetUnreachable(error: unknown): boolean {
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
    return true;
  }
  if (error instanceof errors.JOSEError) {
    return error.code === 'ERR_JOSE_GENERIC';
  }
  return error instanceof TypeError && error.message === 'fetch failed';
}
