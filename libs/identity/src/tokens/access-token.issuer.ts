import { createHash, randomUUID } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { createLocalJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';

import { Clock } from '../clock.js';
import { acrOf } from '../mfa/assurance.js';
import { type MintedGrant, ResourceIndicators } from '../oauth/resource-indicators.js';
import { signCompactJws } from '../signing-keys/jws.js';
import { SigningKeyService } from '../signing-keys/signing-key.service.js';

export interface AccessTokenSubject {
  /** A user id, or the client id for client credentials. */
  readonly subject: string;
  readonly sessionId: string | null;
  readonly clientId: string;
  /** The scope and audience (RFC 8707) the token is minted for: see `mint`. */
  readonly minted: MintedGrant;
  /** The user's roles, in first-party tokens only; null leaves the claim out. */
  readonly roles: readonly string[] | null;
  /** How and when the user signed in (RFC 8176 `amr`, `auth_time`); null or absent leaves them out. */
  readonly amr?: readonly string[] | null;
  readonly authTime?: Date | null;
}

export type { MintedGrant };

/** OpenID Connect Core §2: who signed in, for which client, in which browser sign-in. */
export interface IdTokenSubject {
  readonly subject: string;
  readonly clientId: string;
  readonly sessionId: string;
  readonly nonce: string | null;
  readonly authTime: Date;
  /** The access token issued with it, for `at_hash` (§3.1.3.6). */
  readonly accessToken: string;
  /** RFC 8176 methods of the sign-in: `amr`, and the `acr` derived from them. */
  readonly amr?: readonly string[] | null;
  /** Claims of the granted scopes (`email`, …). */
  readonly claims: Readonly<Record<string, unknown>>;
}

export interface IssuedAccessToken {
  readonly token: string;
  readonly expiresIn: number;
}

/** The claims of a Gatehouse access token (RFC 9068 profile). */
export interface AccessTokenClaims extends JWTPayload {
  readonly sub: string;
  readonly exp: number;
  readonly iat: number;
  readonly jti: string;
  readonly client_id: string;
  readonly scope: string;
  /** First-party tokens only. */
  readonly roles?: string[];
  readonly sid?: string;
  readonly auth_time?: number;
  readonly amr?: string[];
  /** Derived from `amr` (see `acrOf`). */
  readonly acr?: string;
}

/** `amr` and the `acr` derived from it, for a token's claims; nothing when the methods are unknown. */
function assuranceClaims(amr: readonly string[] | null | undefined): {
  amr?: string[];
  acr?: string;
} {
  if (!amr) {
    return {};
  }
  const acr = acrOf(amr);
  return { amr: [...amr], ...(acr ? { acr } : {}) };
}

const VERIFIABLE_ALGORITHMS = ['ES256', 'RS256', 'EdDSA'];
/** RFC 9068 §2.1: access tokens are typed `at+jwt`, so an ID token can never pass for one. */
const ACCESS_TOKEN_TYPE = 'at+jwt';
const CLOCK_TOLERANCE_SECONDS = 30;
/** Verification keys are re-read at least this often, so a rotation elsewhere is followed. */
const KEY_SET_MAX_AGE_MS = 60_000;
/**
 * An unknown `kid` re-reads the keys only when they are older than this: a flood of tokens with
 * forged kids costs one database read per 30 s, not one per token (the rule of nest-auth's
 * `localKeySource` and of jose's remote key set). A new key is published as `next` long before it
 * signs, so a verifier's cached set already holds it.
 */
const UNKNOWN_KID_REFETCH_MS = 30_000;

type KeySet = ReturnType<typeof createLocalJWKSet>;

interface LoadedKeySet {
  readonly resolve: KeySet;
  readonly loadedAt: number;
}

/**
 * OIDC Core §3.1.3.6: the left half of the hash of the access token's ASCII, base64url; the hash is
 * the one of the signing algorithm (SHA-256 for ES256/RS256, SHA-512 for Ed25519).
 */
function atHash(accessToken: string, alg: string): string {
  const digest = createHash(alg === 'EdDSA' ? 'sha512' : 'sha256')
    .update(accessToken)
    .digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

/** Signs access tokens with the active key; verifies them for introspection and revocation. */
@Injectable()
export class AccessTokenIssuer {
  private keySet: LoadedKeySet | undefined;
  /** The read in flight, shared by concurrent verifications (one query, however many tokens). */
  private loading: Promise<LoadedKeySet> | undefined;

  constructor(
    @InjectConfig() private readonly config: GatehouseConfig,
    private readonly keys: SigningKeyService,
    private readonly clock: Clock,
    private readonly resources: ResourceIndicators,
  ) {}

  /**
   * The scope and audience of a token for `scope`, for the `resource`s asked for (RFC 8707):
   * `invalid_target` for a resource the grant cannot reach.
   */
  mint(scope: string, resources: readonly string[]): Promise<MintedGrant> {
    return this.resources.mint(scope, resources);
  }

  async issue(subject: AccessTokenSubject): Promise<IssuedAccessToken> {
    const { kid, alg, privateKey } = await this.keys.activeKey();
    const now = Math.floor(this.clock.now().getTime() / 1000);
    const expiresIn = this.config.tokens.accessTokenTtlSeconds;
    const audience = subject.minted.audience;
    const token = signCompactJws(
      { alg, kid, typ: ACCESS_TOKEN_TYPE },
      {
        client_id: subject.clientId,
        scope: subject.minted.scope,
        ...(subject.roles !== null ? { roles: [...subject.roles] } : {}),
        ...(subject.sessionId ? { sid: subject.sessionId } : {}),
        ...assuranceClaims(subject.amr),
        ...(subject.authTime ? { auth_time: Math.floor(subject.authTime.getTime() / 1000) } : {}),
        iss: this.config.issuer,
        sub: subject.subject,
        aud: audience.length === 1 ? audience[0]! : [...audience],
        iat: now,
        exp: now + expiresIn,
        jti: randomUUID(),
      },
      privateKey,
    );
    return { token, expiresIn };
  }

  /** An ID token, signed like access tokens but typed `JWT` with the client as audience. */
  async issueIdToken(subject: IdTokenSubject): Promise<string> {
    const { kid, alg, privateKey } = await this.keys.activeKey();
    const now = Math.floor(this.clock.now().getTime() / 1000);
    return signCompactJws(
      { alg, kid, typ: 'JWT' },
      {
        ...subject.claims,
        ...assuranceClaims(subject.amr),
        auth_time: Math.floor(subject.authTime.getTime() / 1000),
        sid: subject.sessionId,
        at_hash: atHash(subject.accessToken, alg),
        ...(subject.nonce !== null ? { nonce: subject.nonce } : {}),
        iss: this.config.issuer,
        sub: subject.subject,
        aud: subject.clientId,
        iat: now,
        exp: now + this.config.tokens.accessTokenTtlSeconds,
      },
      privateKey,
    );
  }

  /**
   * The claims of a valid access token of ours, whatever resource server it is for (the caller judges
   * `aud`), or null for anything else (forged, expired, foreign, not an access token).
   */
  async verify(token: string): Promise<AccessTokenClaims | null> {
    try {
      const { payload } = await jwtVerify(token, (header, jwt) => this.resolveKey(header, jwt), {
        issuer: this.config.issuer,
        algorithms: VERIFIABLE_ALGORITHMS,
        typ: ACCESS_TOKEN_TYPE,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: this.clock.now(),
        requiredClaims: ['sub', 'aud', 'exp', 'iat', 'jti'],
      });
      return payload as AccessTokenClaims;
    } catch {
      return null;
    }
  }

  /**
   * An ID token of ours sent back as `id_token_hint` (RP-initiated logout): signature and issuer are
   * checked, expiry is not (OIDC RP-Initiated Logout §2: an expired one is still a fine hint), up to
   * the longest a token session can last — as long as its signing key is still published (a key
   * leaves the JWKS ACCESS_TOKEN_TTL + 5 minutes after it retires). Null for anything else.
   */
  async verifyIdTokenHint(
    token: string,
  ): Promise<{ subject: string; clientId: string; sessionId: string | null } | null> {
    try {
      const { payload } = await jwtVerify(token, (header, jwt) => this.resolveKey(header, jwt), {
        issuer: this.config.issuer,
        algorithms: VERIFIABLE_ALGORITHMS,
        typ: 'JWT',
        clockTolerance: this.config.tokens.refreshFamilyMaxSeconds,
        currentDate: this.clock.now(),
        requiredClaims: ['sub', 'aud'],
      });
      const audience = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
      if (audience.length !== 1 || typeof audience[0] !== 'string') {
        return null;
      }
      return {
        subject: payload.sub!,
        clientId: audience[0],
        sessionId: typeof payload['sid'] === 'string' ? payload['sid'] : null,
      };
    } catch {
      return null;
    }
  }

  private async resolveKey(...[header, token]: Parameters<KeySet>): ReturnType<KeySet> {
    const cached = this.keySet;
    const set =
      cached && Date.now() - cached.loadedAt < KEY_SET_MAX_AGE_MS
        ? cached
        : await this.loadKeySet();
    try {
      return await set.resolve(header, token);
    } catch (error) {
      if (
        error instanceof errors.JWKSNoMatchingKey &&
        Date.now() - set.loadedAt > UNKNOWN_KID_REFETCH_MS
      ) {
        return (await this.loadKeySet()).resolve(header, token);
      }
      throw error;
    }
  }

  private loadKeySet(): Promise<LoadedKeySet> {
    this.loading ??= this.keys
      .jwks()
      .then((jwks) => {
        this.keySet = { resolve: createLocalJWKSet(jwks), loadedAt: Date.now() };
        return this.keySet;
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }
}
