import { randomUUID } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { createLocalJWKSet, errors, type JWTPayload, jwtVerify, SignJWT } from 'jose';

import { Clock } from '../clock.js';
import { SigningKeyService } from '../signing-keys/signing-key.service.js';

export interface AccessTokenSubject {
  /** A user id, or the client id for client credentials. */
  readonly subject: string;
  readonly sessionId: string | null;
  readonly clientId: string;
  readonly scope: string;
  readonly roles: readonly string[];
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
  readonly roles: string[];
  readonly sid?: string;
}

const VERIFIABLE_ALGORITHMS = ['ES256', 'RS256', 'EdDSA'];
/** RFC 9068 §2.1: access tokens are typed `at+jwt`, so an ID token can never pass for one. */
const ACCESS_TOKEN_TYPE = 'at+jwt';
const CLOCK_TOLERANCE_SECONDS = 30;
/** Verification keys are re-read at most this often, and at once on an unknown `kid`. */
const KEY_SET_CACHE_MS = 30_000;

type KeySet = ReturnType<typeof createLocalJWKSet>;

/** Signs access tokens with the active key; verifies them for introspection and revocation. */
@Injectable()
export class AccessTokenIssuer {
  private keySet: { resolve: KeySet; loadedAt: number } | undefined;

  constructor(
    @InjectConfig() private readonly config: GatehouseConfig,
    private readonly keys: SigningKeyService,
    private readonly clock: Clock,
  ) {}

  async issue(subject: AccessTokenSubject): Promise<IssuedAccessToken> {
    const { kid, alg, key } = await this.keys.activeKey();
    const now = Math.floor(this.clock.now().getTime() / 1000);
    const expiresIn = this.config.tokens.accessTokenTtlSeconds;
    const token = await new SignJWT({
      client_id: subject.clientId,
      scope: subject.scope,
      roles: [...subject.roles],
      ...(subject.sessionId ? { sid: subject.sessionId } : {}),
    })
      .setProtectedHeader({ alg, kid, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(this.config.issuer)
      .setSubject(subject.subject)
      .setAudience(this.config.tokens.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + expiresIn)
      .setJti(randomUUID())
      .sign(key);
    return { token, expiresIn };
  }

  /** The claims of a valid token of ours, or null for anything else (forged, expired, foreign). */
  async verify(token: string): Promise<AccessTokenClaims | null> {
    try {
      const { payload } = await jwtVerify(token, (header, jwt) => this.resolveKey(header, jwt), {
        issuer: this.config.issuer,
        audience: this.config.tokens.audience,
        algorithms: VERIFIABLE_ALGORITHMS,
        typ: ACCESS_TOKEN_TYPE,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: this.clock.now(),
        requiredClaims: ['sub', 'exp', 'iat', 'jti'],
      });
      return payload as AccessTokenClaims;
    } catch {
      return null;
    }
  }

  private async resolveKey(...[header, token]: Parameters<KeySet>): ReturnType<KeySet> {
    const cached = this.keySet;
    const fresh = cached && Date.now() - cached.loadedAt < KEY_SET_CACHE_MS;
    const set = fresh ? cached : await this.loadKeySet();
    try {
      return await set.resolve(header, token);
    } catch (error) {
      if (fresh && error instanceof errors.JWKSNoMatchingKey) {
        return (await this.loadKeySet()).resolve(header, token);
      }
      throw error;
    }
  }

  private async loadKeySet(): Promise<{ resolve: KeySet; loadedAt: number }> {
    this.keySet = { resolve: createLocalJWKSet(await this.keys.jwks()), loadedAt: Date.now() };
    return this.keySet;
  }
}
