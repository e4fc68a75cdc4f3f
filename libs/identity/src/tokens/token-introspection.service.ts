import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { type Client, Database, type RefreshTokenState } from '@gatehouse/persistence';

import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../clock.js';
import { RevocationService } from '../revocations/revocation.service.js';
import type { ClientContext } from '../sessions/session.service.js';
import { AccessTokenIssuer, type AccessTokenClaims } from './access-token.issuer.js';
import { hashRefreshToken, REFRESH_TOKEN_SHAPE } from './refresh-token.js';

export type TokenTypeHint = 'access_token' | 'refresh_token';

/** RFC 7662 §2.2 response. */
export type Introspection =
  | { readonly active: false }
  | {
      readonly active: true;
      readonly token_type: TokenTypeHint;
      readonly sub: string;
      readonly client_id: string;
      readonly scope: string;
      readonly exp: number;
      readonly iat: number;
      readonly iss: string;
      readonly sid?: string;
      readonly aud?: string | string[];
      readonly jti?: string;
      /** When and how the user signed in, and its class (as in the access token). */
      readonly auth_time?: number;
      readonly amr?: string[];
      readonly acr?: string;
    };

const INACTIVE: Introspection = { active: false };
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

/**
 * Introspection (RFC 7662) and revocation (RFC 7009) of both token kinds. An access token is active
 * only if its signature and times are valid **and** its session still lives: a revoked session's
 * access tokens are inactive here at once, not when they expire.
 */
@Injectable()
export class TokenIntrospectionService {
  constructor(
    @InjectConfig() private readonly config: GatehouseConfig,
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly accessTokens: AccessTokenIssuer,
    private readonly revocations: RevocationService,
    private readonly audit: AuditService,
  ) {}

  /**
   * RFC 7662 §4: a resource server learns only about access tokens addressed to it — its own
   * resource indicator, or the default audience every sibling accepts; others are `active: false`.
   */
  async introspect(
    token: string,
    hint: TokenTypeHint | undefined,
    resourceServer: Pick<Client, 'audience'>,
  ): Promise<Introspection> {
    const audiences = [this.config.tokens.audience, resourceServer.audience];
    const lookups =
      hint === 'refresh_token'
        ? [() => this.refreshToken(token), () => this.accessToken(token, audiences)]
        : [() => this.accessToken(token, audiences), () => this.refreshToken(token)];
    for (const lookup of lookups) {
      const result = await lookup();
      if (result.active) {
        return result;
      }
    }
    return INACTIVE;
  }

  /**
   * RFC 7009: ends the session behind a refresh or access token of this client. Unknown tokens,
   * tokens of other clients and stateless client-credentials tokens change nothing (still 200).
   */
  async revoke(client: Client, token: string, context: ClientContext): Promise<void> {
    const sessionId = await this.sessionOf(client, token);
    if (!sessionId) {
      return;
    }
    await this.database.transaction(async (repositories) => {
      const revoked = await this.revocations.revokeSessions(repositories, [sessionId], {
        at: this.clock.now(),
        reason: 'token_revoked',
        by: `client:${client.id}`,
      });
      if (revoked.length > 0) {
        await this.audit.record(repositories, {
          actor: `client:${client.id}`,
          action: 'session.revoked',
          subject: `session:${sessionId}`,
          ip: context.ip,
          details: { sessionIds: revoked, reason: 'token_revoked' },
        });
      }
    });
  }

  private async sessionOf(client: Client, token: string): Promise<string | null> {
    const refresh = await this.findRefreshToken(token);
    if (refresh) {
      return refresh.clientId === client.id ? refresh.sessionId : null;
    }
    const claims = await this.accessTokens.verify(token);
    return claims?.sid && claims.client_id === client.id ? claims.sid : null;
  }

  private async accessToken(
    token: string,
    audiences: readonly (string | null)[],
  ): Promise<Introspection> {
    const claims = await this.accessTokens.verify(token);
    const aud = claims ? [claims.aud ?? []].flat() : [];
    if (!claims || !aud.some((audience) => audiences.includes(audience))) {
      return INACTIVE;
    }
    const live = claims.sid
      ? await this.sessionIsLive(claims.sid)
      : await this.clientTokenIsLive(claims.client_id, claims.iat);
    return live ? this.describeAccessToken(claims) : INACTIVE;
  }

  /** A client's own token: its client still exists and has not revoked its tokens since `iat`. */
  private async clientTokenIsLive(clientId: string, issuedAt: number): Promise<boolean> {
    const [client, revokedAt] = await Promise.all([
      this.database.clients.findById(clientId),
      this.database.revocations.clientRevokedAt(clientId, this.clock.now()),
    ]);
    return !!client && (revokedAt === null || issuedAt * 1000 > revokedAt.getTime());
  }

  private describeAccessToken(claims: AccessTokenClaims): Introspection {
    return {
      active: true,
      token_type: 'access_token',
      sub: claims.sub,
      client_id: claims.client_id,
      scope: claims.scope,
      exp: claims.exp,
      iat: claims.iat,
      iss: this.config.issuer,
      ...(claims.sid ? { sid: claims.sid } : {}),
      ...(claims.aud ? { aud: claims.aud } : {}),
      jti: claims.jti,
      ...(claims.auth_time !== undefined ? { auth_time: claims.auth_time } : {}),
      ...(claims.amr ? { amr: claims.amr } : {}),
      ...(claims.acr ? { acr: claims.acr } : {}),
    };
  }

  private async refreshToken(token: string): Promise<Introspection> {
    const state = await this.findRefreshToken(token);
    const now = this.clock.now();
    if (
      !state ||
      state.usedAt ||
      state.sessionRevokedAt ||
      state.userDisabledAt ||
      now >= state.expiresAt ||
      now >= state.sessionAbsoluteExpiresAt
    ) {
      return INACTIVE;
    }
    return {
      active: true,
      token_type: 'refresh_token',
      sub: state.userId,
      client_id: state.clientId ?? '',
      scope: state.scope ?? '',
      exp: seconds(state.expiresAt),
      iat: seconds(state.createdAt),
      iss: this.config.issuer,
      sid: state.sessionId,
    };
  }

  private findRefreshToken(token: string): Promise<RefreshTokenState | null> {
    return REFRESH_TOKEN_SHAPE.test(token)
      ? this.database.refreshTokens.findByTokenHash(hashRefreshToken(token))
      : Promise.resolve(null);
  }

  private async sessionIsLive(sessionId: string): Promise<boolean> {
    const status = await this.database.sessions.findStatus(sessionId);
    return (
      !!status &&
      !status.revokedAt &&
      !status.userDisabledAt &&
      this.clock.now() < status.absoluteExpiresAt
    );
  }
}
