import { type JWTPayload, jwtVerify } from 'jose';

import type { KeySource } from '../keys/key-sources.js';
import { InMemoryLogoutReplayCache, type LogoutReplayCache } from './logout-replay-cache.js';

/** The one member of a logout token's `events` claim (Back-Channel Logout 1.0 §2.4). */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** What a valid logout token says: whose session ended (`sub`, `sid` or both) and its `jti`. */
export interface VerifiedLogout {
  readonly iss: string;
  readonly sub: string | null;
  readonly sid: string | null;
  readonly jti: string;
  readonly iat: number;
}

export interface LogoutTokenVerifierOptions {
  readonly issuer: string;
  /** This app's client id at the issuer: the token's `aud` must include it. */
  readonly clientId: string;
  /** The issuer's keys (`remoteKeySource(jwksUri)`, the same cache as access tokens). */
  readonly keys: KeySource;
  /** Seen `jti`s (§2.6 step 8); one in-memory cache per verifier by default. */
  readonly replays?: LogoutReplayCache;
  /** A token issued longer ago than this is refused (§2.6: `iat` in an acceptable range). 300 s. */
  readonly maxAgeSeconds?: number;
  /** Allowed clock skew for exp and iat; 30 s by default. */
  readonly clockToleranceSeconds?: number;
  /**
   * Accept tokens without a `typ` header (OPs that predate explicit typing). False by default:
   * Gatehouse always sends `typ: logout+jwt`. An explicit `typ` other than `logout+jwt` (an ID
   * token's `JWT`, an access token's `at+jwt`) is refused either way.
   */
  readonly allowUntyped?: boolean;
}

/** The token is not a valid logout token for this app; `message` says why (never the token). */
export class InvalidLogoutTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidLogoutTokenError';
  }
}

const ALGORITHMS = ['ES256', 'RS256', 'EdDSA'];
const TOKEN_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;

const stringOrNull = (value: unknown) => (typeof value === 'string' && value ? value : null);

/**
 * Validates logout tokens as OpenID Connect Back-Channel Logout 1.0 §2.6 says: signature from the
 * issuer's keys (no `none`), `iss`, `aud` includes the client id, `iat` recent, `exp` not passed,
 * explicit `typ` `logout+jwt`, an `events` claim with the back-channel logout member, `sub` or `sid`,
 * no `nonce` (which would make it an ID token), and a `jti` not seen before.
 */
export class LogoutTokenVerifier {
  private readonly replays: LogoutReplayCache;

  constructor(private readonly options: LogoutTokenVerifierOptions) {
    this.replays = options.replays ?? new InMemoryLogoutReplayCache();
  }

  async verify(token: unknown): Promise<VerifiedLogout> {
    if (typeof token !== 'string' || token.length > 8192 || !TOKEN_SHAPE.test(token)) {
      throw new InvalidLogoutTokenError('logout_token is missing or is not a signed JWT.');
    }
    const tolerance = this.options.clockToleranceSeconds ?? 30;
    let payload: JWTPayload;
    let typ: string | undefined;
    try {
      const verified = await jwtVerify(token, this.options.keys, {
        issuer: this.options.issuer,
        audience: this.options.clientId,
        algorithms: ALGORITHMS,
        clockTolerance: tolerance,
        maxTokenAge: this.options.maxAgeSeconds ?? 300,
        requiredClaims: ['iat', 'exp', 'jti', 'events'],
      });
      payload = verified.payload;
      typ = verified.protectedHeader.typ;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new InvalidLogoutTokenError(
        `The logout token is not valid${typeof code === 'string' ? ` (${code})` : ''}.`,
      );
    }
    const type = typ?.toLowerCase().replace(/^application\//, '');
    if (type === undefined ? !this.options.allowUntyped : type !== 'logout+jwt') {
      throw new InvalidLogoutTokenError('The token is not typed logout+jwt.');
    }
    const events = payload['events'];
    if (
      typeof events !== 'object' ||
      events === null ||
      typeof (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT] !== 'object'
    ) {
      throw new InvalidLogoutTokenError('The events claim has no back-channel logout event.');
    }
    if ('nonce' in payload) {
      throw new InvalidLogoutTokenError('A logout token never carries a nonce.');
    }
    const sub = stringOrNull(payload.sub);
    const sid = stringOrNull(payload['sid']);
    if (sub === null && sid === null) {
      throw new InvalidLogoutTokenError('The logout token names neither sub nor sid.');
    }
    const jti = stringOrNull(payload.jti);
    if (jti === null) {
      throw new InvalidLogoutTokenError('The logout token has no jti.');
    }
    if (!(await this.replays.remember(jti, (payload.exp! + tolerance) * 1000))) {
      throw new InvalidLogoutTokenError('This logout token was already received.');
    }
    return { iss: payload.iss!, sub, sid, jti, iat: payload.iat! };
  }
}
