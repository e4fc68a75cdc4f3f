import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { type Client, Database, type Repositories } from '@gatehouse/persistence';

import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../clock.js';
import {
  invalidGrant,
  invalidTarget,
  OAuthError,
  unauthorizedClient,
} from '../oauth/oauth.errors.js';
import { RevocationService } from '../revocations/revocation.service.js';
import type { ClientContext } from '../sessions/session.service.js';
import { RefreshTokenService, type TokenResponse } from '../tokens/refresh-token.service.js';

/** RFC 9700 §4.2.1 / OAuth 2.1: codes are short-lived; a minute covers any honest redirect. */
export const AUTHORIZATION_CODE_TTL_SECONDS = 60;

const CODE_SHAPE = /^[A-Za-z0-9_-]{43}$/;
/** RFC 7636 §4.1: 43 to 128 characters of the unreserved set. */
const VERIFIER_SHAPE = /^[A-Za-z0-9._~-]{43,128}$/;
const REUSE_ACTOR = 'system:authorization-code-reuse';

/** What the user approved at the authorization endpoint, to be bound to the code. */
export interface ApprovedAuthorization {
  readonly client: Client;
  readonly userId: string;
  readonly redirectUri: string;
  readonly scope: string;
  /** RFC 8707: the resources asked for (none: the default audience). */
  readonly resources: readonly string[];
  /** BASE64URL(SHA-256(code_verifier)), checked at the authorization endpoint to be S256. */
  readonly codeChallenge: string;
  readonly nonce: string | null;
  /** When the user signed in (their browser session's start). */
  readonly authTime: Date;
  /** How (RFC 8176), from the browser session. */
  readonly amr: readonly string[] | null;
  /** The browser session that approved it: ending it ends the token session the code starts. */
  readonly browserSessionId: string | null;
}

export interface CodeRedemption {
  readonly code: string;
  readonly redirectUri: string;
  readonly codeVerifier: string;
  /** RFC 8707 §2.2: the resources the token is for (the default audience when none). */
  readonly resources?: readonly string[];
}

const hashCode = (code: string) => createHash('sha256').update(code).digest();

/**
 * OIDC Core §5.4: the claims a scope releases, in the ID token and at userinfo. Gatehouse keeps an
 * email and nothing else about a person; `email_verified` once the address proved to be the user's.
 */
export function claimsFor(
  scope: string,
  user: { readonly email: string; readonly emailVerifiedAt: Date | null },
): Record<string, unknown> {
  const scopes = scope.split(' ');
  return scopes.includes('email')
    ? { email: user.email, email_verified: user.emailVerifiedAt !== null }
    : {};
}

/**
 * `REQUIRE_VERIFIED_EMAIL` at the token endpoint: RFC 6749 §5.2 has no code for it, so the grant is
 * refused as the user's (`access_denied`, as RFC 8628 §3.5 uses it), the reason in the description.
 */
export const emailNotVerified = () =>
  new OAuthError('access_denied', 'The email address of the account is not verified.');

/**
 * RFC 8707 §2.2: the token request may name fewer of the resources the authorization request asked
 * for, never others; naming none means all of them.
 */
function resourcesOfRedemption(
  authorized: readonly string[],
  requested: readonly string[],
): readonly string[] {
  if (requested.length === 0) {
    return authorized;
  }
  if (authorized.length > 0 && requested.some((resource) => !authorized.includes(resource))) {
    throw invalidTarget('The resource was not part of the authorization request.');
  }
  return requested;
}

/** RFC 7636 §4.6, S256: BASE64URL(SHA-256(ASCII(code_verifier))) == code_challenge. */
function verifierMatches(verifier: string, challenge: string): boolean {
  const computed = Buffer.from(createHash('sha256').update(verifier).digest('base64url'));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}

/**
 * The authorization code grant (RFC 6749 §4.1) with PKCE required of every client (RFC 7636, S256
 * only; OAuth 2.1): codes are 32 random bytes, stored as SHA-256, valid 60 s, redeemable once, by the
 * client they were issued to, with the same redirect_uri and the verifier of their challenge. A second
 * redemption revokes the session the first one created (RFC 6749 §4.1.2).
 */
@Injectable()
export class AuthorizationCodeService {
  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly refreshTokens: RefreshTokenService,
    private readonly revocations: RevocationService,
    private readonly audit: AuditService,
    @InjectConfig() private readonly config: GatehouseConfig,
  ) {}

  /** `repositories`: the caller's unit of work (the consent given with it), else the pool. */
  async issue(
    approved: ApprovedAuthorization,
    repositories: Repositories = this.database,
  ): Promise<string> {
    const code = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    await repositories.authorizationCodes.insert({
      codeHash: hashCode(code),
      clientId: approved.client.id,
      userId: approved.userId,
      redirectUri: approved.redirectUri,
      scope: approved.scope,
      resources: approved.resources,
      codeChallenge: approved.codeChallenge,
      nonce: approved.nonce,
      authTime: approved.authTime,
      amr: approved.amr,
      browserSessionId: approved.browserSessionId,
      createdAt: now,
      expiresAt: new Date(now.getTime() + AUTHORIZATION_CODE_TTL_SECONDS * 1000),
    });
    return code;
  }

  /** `POST /oauth/token` with `grant_type=authorization_code`. */
  async redeem(
    client: Client,
    redemption: CodeRedemption,
    context: ClientContext,
  ): Promise<TokenResponse> {
    if (!client.grantTypes.includes('authorization_code')) {
      throw unauthorizedClient('The client may not use the authorization_code grant.');
    }
    const state = CODE_SHAPE.test(redemption.code)
      ? await this.database.authorizationCodes.findByCodeHash(hashCode(redemption.code))
      : null;
    // A code of another client is answered like an unknown one.
    if (!state || state.clientId !== client.id) {
      throw invalidGrant('The authorization code is invalid.');
    }
    if (state.usedAt !== null) {
      await this.revokeIssuedFrom(state.id, state.tokenSessionId, client.id);
      throw invalidGrant('The authorization code has already been used.');
    }
    if (this.clock.now() >= state.expiresAt) {
      throw invalidGrant('The authorization code has expired.');
    }
    if (redemption.redirectUri !== state.redirectUri) {
      throw invalidGrant('The redirect_uri differs from the authorization request.');
    }
    if (
      !VERIFIER_SHAPE.test(redemption.codeVerifier) ||
      !verifierMatches(redemption.codeVerifier, state.codeChallenge)
    ) {
      throw invalidGrant('The code_verifier does not match the code_challenge.');
    }
    // The user signed out (or was signed out) of the browser that approved it: its tokens would
    // outlive the logout that should have ended them.
    if (state.browserSessionEndedAt) {
      throw invalidGrant('The sign-in that approved the code has ended.');
    }
    if (state.userDisabledAt) {
      throw invalidGrant('The account is disabled.');
    }
    if (this.config.emailVerification.required && !state.userEmailVerifiedAt) {
      throw emailNotVerified();
    }
    const started = await this.refreshTokens.startSessionOnce(
      { id: state.userId, roles: state.userRoles },
      client,
      state.scope,
      context,
      async (repositories, sessionId) => {
        // Compare-and-set in the same transaction: of two concurrent redemptions one wins, and
        // the loser finds the code used (with the winner's session to revoke) once this commits.
        if (!(await repositories.authorizationCodes.markUsed(state.id, this.clock.now()))) {
          return false;
        }
        await repositories.authorizationCodes.setTokenSession(state.id, sessionId);
        return true;
      },
      {
        nonce: state.nonce,
        authTime: state.authTime,
        ...(state.amr ? { amr: state.amr } : {}),
        parentSessionId: state.browserSessionId,
        claims: claimsFor(state.scope, {
          email: state.userEmail,
          emailVerifiedAt: state.userEmailVerifiedAt,
        }),
      },
      resourcesOfRedemption(state.resources, redemption.resources ?? []),
    );
    if (!started) {
      const again = await this.database.authorizationCodes.findByCodeHash(
        hashCode(redemption.code),
      );
      await this.revokeIssuedFrom(state.id, again?.tokenSessionId ?? null, client.id);
      throw invalidGrant('The authorization code has already been used.');
    }
    return started;
  }

  /** RFC 6749 §4.1.2: a code used twice revokes the tokens issued from it. */
  private async revokeIssuedFrom(
    codeId: string,
    sessionId: string | null,
    clientId: string,
  ): Promise<void> {
    const at = this.clock.now();
    await this.database.transaction(async (repositories) => {
      const revoked = sessionId
        ? await this.revocations.revokeSessions(repositories, [sessionId], {
            at,
            reason: 'authorization_code_reuse',
            by: REUSE_ACTOR,
          })
        : [];
      await this.audit.record(repositories, {
        actor: REUSE_ACTOR,
        action: 'oauth.authorization_code_reused',
        subject: `client:${clientId}`,
        ip: null,
        details: { codeId, revokedSessionIds: revoked },
      });
    });
  }
}
