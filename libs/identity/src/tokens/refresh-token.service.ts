import { isIPv6 } from 'node:net';

import { Injectable, Logger } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import {
  type Client,
  Database,
  type RefreshTokenState,
  type Repositories,
  type User,
} from '@gatehouse/persistence';

import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../clock.js';
import { delegatedScope } from '../oauth/delegation.js';
import { invalidGrant, invalidScope } from '../oauth/oauth.errors.js';
import { RevocationService } from '../revocations/revocation.service.js';
import type { ClientContext } from '../sessions/session.service.js';
import { deriveKey, open, seal } from '../signing-keys/key-encryption.js';
import { AccessTokenIssuer, type MintedGrant } from './access-token.issuer.js';
import { generateRefreshToken, hashRefreshToken, REFRESH_TOKEN_SHAPE } from './refresh-token.js';

/** RFC 6749 §5.1 successful token response. */
export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly refresh_token?: string;
  readonly scope: string;
  /** OpenID Connect, when `openid` was granted at the authorization endpoint. */
  readonly id_token?: string;
}

/** What an authorization-code redemption adds for an ID token. */
export interface OpenIdRequest {
  readonly nonce: string | null;
  readonly authTime: Date;
  /** RFC 8176 methods of the sign-in; recorded on the session, `amr` in the tokens. */
  readonly amr?: readonly string[];
  readonly claims: Readonly<Record<string, unknown>>;
  /**
   * The browser (cookie) session whose sign-in approved the code or device: the token session is
   * its child and ends with it (RevocationService.revokeSessions), unless it holds offline_access.
   */
  readonly parentSessionId?: string | null;
}

/** The sign-in behind a refreshed session, for the `amr` and `auth_time` of its access tokens. */
function signInOf(state: RefreshTokenState): { amr?: readonly string[]; authTime?: Date } {
  return {
    ...(state.sessionAmr ? { amr: state.sessionAmr } : {}),
    ...(state.sessionAuthTime ? { authTime: state.sessionAuthTime } : {}),
  };
}

const REUSE_ACTOR = 'system:refresh-token-reuse';

/** Rolls back `startSessionOnce`'s transaction when its condition fails. */
class ConditionFailed extends Error {}

/**
 * Token sessions and their refresh-token family. Every refresh rotates the token (RFC 9700 §4.14.2):
 * the presented one is marked used and its successor issued in one transaction, by compare-and-set,
 * so concurrent refreshes of one token never yield two live successors. A used token presented
 * again is reuse — a stolen copy or its owner, no way to tell — and ends the whole family; only a
 * replay of the immediate predecessor within the grace window gets the successor already issued.
 */
@Injectable()
export class RefreshTokenService {
  private readonly logger = new Logger(RefreshTokenService.name);
  private readonly successorKey: Buffer;
  private readonly policy: GatehouseConfig['tokens'];

  constructor(
    @InjectConfig() config: GatehouseConfig,
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly accessTokens: AccessTokenIssuer,
    private readonly revocations: RevocationService,
    private readonly audit: AuditService,
  ) {
    if (!config.keys.encryptionKey) {
      throw new Error('KEY_ENCRYPTION_KEY is not set: refresh-token successors cannot be sealed.');
    }
    this.successorKey = deriveKey(config.keys.encryptionKey, 'refresh-token-successors');
    this.policy = config.tokens;
  }

  /** A new token session (kind `token`) for a user who just proved who they are. */
  async startSession(
    user: User,
    client: Client,
    scope: string,
    context: ClientContext,
    resources: readonly string[] = [],
  ): Promise<TokenResponse> {
    return (await this.startSessionOnce(
      user,
      client,
      scope,
      context,
      () => Promise.resolve(true),
      undefined,
      resources,
    ))!;
  }

  /**
   * Like `startSession`, with `condition` run in the same transaction once the session exists: when
   * it answers false, nothing is created and the answer is null (a code redeemed concurrently).
   * A refresh token is issued only to a client allowed the refresh_token grant; otherwise the session
   * lives as long as its access token.
   */
  async startSessionOnce(
    user: Pick<User, 'id' | 'roles'>,
    client: Client,
    requestedScope: string,
    context: ClientContext,
    condition: (repositories: Repositories, sessionId: string) => Promise<boolean>,
    openId?: OpenIdRequest,
    resources: readonly string[] = [],
  ): Promise<TokenResponse | null> {
    const granted = delegatedScope(client, user.roles, requestedScope);
    // Before anything is written: a resource the grant cannot reach creates no session.
    const minted = await this.accessTokens.mint(granted, resources);
    const now = this.clock.now();
    const refreshable = client.grantTypes.includes('refresh_token');
    const absoluteExpiresAt = refreshable
      ? this.after(now, this.policy.refreshFamilyMaxSeconds)
      : this.after(now, this.policy.accessTokenTtlSeconds);
    const expiresAt = this.refreshExpiry(now, absoluteExpiresAt);
    const refreshToken = refreshable ? generateRefreshToken() : null;
    const sessionId = await this.database
      .transaction(async (repositories) => {
        const parentSessionId = openId?.parentSessionId ?? null;
        if (parentSessionId && !(await repositories.sessions.lockLiveParent(parentSessionId))) {
          // Signed out of the browser that approved it, in the meantime (see lockLiveParent).
          throw invalidGrant('The sign-in that approved it has ended.');
        }
        const id = await repositories.sessions.createTokenSession({
          userId: user.id,
          clientId: client.id,
          scope: granted,
          createdAt: now,
          idleExpiresAt: expiresAt,
          absoluteExpiresAt,
          ip: context.ip,
          userAgent: context.userAgent?.slice(0, 512) ?? null,
          amr: openId?.amr ?? null,
          authTime: openId?.authTime ?? null,
          parentSessionId,
        });
        if (refreshToken) {
          await repositories.refreshTokens.insert({
            sessionId: id,
            tokenHash: hashRefreshToken(refreshToken),
            parentId: null,
            createdAt: now,
            expiresAt,
          });
        }
        if (!(await condition(repositories, id))) {
          throw new ConditionFailed();
        }
        await this.audit.record(repositories, {
          actor: `user:${user.id}`,
          action: 'login.succeeded',
          subject: `user:${user.id}`,
          ip: context.ip,
          details: { sessionId: id, kind: 'token', clientId: client.id },
        });
        return id;
      })
      .catch((error: unknown) => {
        if (error instanceof ConditionFailed) {
          return null;
        }
        throw error;
      });
    if (sessionId === null) {
      return null;
    }
    const response = await this.respond(user, sessionId, client, minted, refreshToken, openId);
    if (!openId || !granted.split(' ').includes('openid')) {
      return response;
    }
    const idToken = await this.accessTokens.issueIdToken({
      subject: user.id,
      clientId: client.id,
      sessionId,
      nonce: openId.nonce,
      authTime: openId.authTime,
      accessToken: response.access_token,
      claims: openId.claims,
      amr: openId.amr ?? null,
    });
    return { ...response, id_token: idToken };
  }

  /**
   * The refresh_token grant (RFC 6749 §6); `context` is the presenting request's origin. One round
   * trip in the usual case: the token is read and spent by the same statement. A request that
   * narrows scope or audience is judged first, so a refused one leaves the token unspent.
   */
  async rotate(
    client: Client,
    presented: string,
    context: ClientContext,
    requestedScope?: string,
    resources: readonly string[] = [],
  ): Promise<TokenResponse> {
    if (!REFRESH_TOKEN_SHAPE.test(presented)) {
      throw invalidGrant('The refresh token is invalid.');
    }
    const tokenHash = hashRefreshToken(presented);
    const judged =
      requestedScope !== undefined || resources.length > 0
        ? await this.judge(
            client,
            await this.findUsable(client, tokenHash),
            requestedScope,
            resources,
          )
        : null;
    const now = this.clock.now();
    const successor = generateRefreshToken();
    const outcome = await this.database.refreshTokens.rotate({
      tokenHash,
      clientId: client.id,
      usedAt: now,
      usedIp: context.ip,
      sealedSuccessor: seal(this.successorKey, Buffer.from(successor), sealContext(tokenHash)),
      successorTokenHash: hashRefreshToken(successor),
      successorExpiresAt: this.after(now, this.policy.refreshTokenTtlSeconds),
    });
    let state = this.usable(client, outcome?.state ?? null, now);
    const { user, minted } = judged ?? (await this.judge(client, state, requestedScope, resources));
    if (outcome?.rotated) {
      return this.respond(user, state.sessionId, client, minted, successor, signInOf(state));
    }
    if (state.usedAt === null) {
      // Lost the race: the winner has committed by now (its row lock made us wait). Look again.
      state = await this.findUsable(client, tokenHash);
    }
    const issued = await this.successorWithinGrace(state, tokenHash, context);
    if (issued === null) {
      await this.revokeFamily(state, context);
      throw invalidGrant('The refresh token has already been used.');
    }
    await this.audit.record(this.database, {
      actor: `user:${state.userId}`,
      action: 'refresh_token.grace',
      subject: `user:${state.userId}`,
      ip: context.ip,
      details: this.replayDetails(state, context),
    });
    return this.respond(user, state.sessionId, client, minted, issued, signInOf(state));
  }

  /**
   * What a refresh of `state` may carry: the scope the session may still be delegated (the client's
   * registration and the user's roles now), narrowed to `requestedScope`, for the `resources` asked.
   */
  private async judge(
    client: Client,
    state: RefreshTokenState,
    requestedScope: string | undefined,
    resources: readonly string[],
  ): Promise<{ user: Pick<User, 'id' | 'roles'>; minted: MintedGrant }> {
    const scope = this.narrowScope(
      delegatedScope(client, state.userRoles, state.scope ?? ''),
      requestedScope,
    );
    const minted = await this.accessTokens.mint(scope, resources);
    return { user: { id: state.userId, roles: state.userRoles }, minted };
  }

  private async findUsable(client: Client, tokenHash: Buffer): Promise<RefreshTokenState> {
    const state = await this.database.refreshTokens.findByTokenHash(tokenHash);
    return this.usable(client, state, this.clock.now());
  }

  /** The live, unused-or-used token, or `invalid_grant` for anything that cannot be refreshed. */
  private usable(client: Client, state: RefreshTokenState | null, now: Date): RefreshTokenState {
    // A token of another client is answered like an unknown one (RFC 6749 §10.4).
    if (!state || state.clientId !== client.id) {
      throw invalidGrant('The refresh token is invalid.');
    }
    if (state.sessionRevokedAt || state.userDisabledAt) {
      throw invalidGrant('The refresh token has been revoked.');
    }
    if (now >= state.expiresAt || now >= state.sessionAbsoluteExpiresAt) {
      throw invalidGrant('The refresh token has expired.');
    }
    return state;
  }

  /**
   * The successor already issued for a used token, if this is a replay of the immediate predecessor
   * of the live token within the grace window, from the address that rotated it; null means reuse.
   * The grace is for the same client retrying (two tabs, a lost response); a copy replayed from
   * elsewhere within the window is exactly the stolen-token race RFC 9700 §4.14.2 detects.
   */
  private async successorWithinGrace(
    state: RefreshTokenState,
    tokenHash: Buffer,
    context: ClientContext,
  ): Promise<string | null> {
    const graceMs = this.policy.refreshReuseGraceSeconds * 1000;
    const usedAt = state.usedAt;
    if (!usedAt || graceMs === 0) {
      return null;
    }
    if (this.clock.now().getTime() - usedAt.getTime() > graceMs) {
      return null;
    }
    if (!sameRotatingAddress(state.usedIp, context.ip)) {
      return null;
    }
    const child = await this.database.refreshTokens.findChild(state.id);
    if (!child || child.usedAt !== null || !child.sealedToken) {
      return null;
    }
    return openSuccessor(this.successorKey, child.sealedToken, tokenHash, state.id);
  }

  /** RFC 9700 §4.14.2: reuse of a rotated refresh token revokes the family, i.e. the session. */
  private async revokeFamily(state: RefreshTokenState, context: ClientContext): Promise<void> {
    const at = this.clock.now();
    await this.database.transaction(async (repositories) => {
      const revoked = await this.revocations.revokeSessions(repositories, [state.sessionId], {
        at,
        reason: 'refresh_token_reuse',
        by: REUSE_ACTOR,
      });
      if (revoked.length > 0) {
        await this.audit.record(repositories, {
          actor: REUSE_ACTOR,
          action: 'refresh_token.reuse_detected',
          subject: `user:${state.userId}`,
          ip: context.ip,
          details: this.replayDetails(state, context),
        });
      }
    });
    this.logger.warn(`Refresh token reuse: session ${state.sessionId} revoked`);
  }

  /** What the audit log keeps of a used token presented again: whose, and both addresses. */
  private replayDetails(state: RefreshTokenState, context: ClientContext): Record<string, unknown> {
    return {
      sessionId: state.sessionId,
      clientId: state.clientId,
      tokenId: state.id,
      rotatedIp: state.usedIp,
      replayIp: context.ip,
    };
  }

  /** RFC 6749 §6: a refresh may ask for less than the session was granted, never more. */
  private narrowScope(granted: string, requested: string | undefined): string {
    if (requested === undefined) {
      return granted;
    }
    const allowed = new Set(granted.split(' ').filter(Boolean));
    const asked = [...new Set(requested.split(' ').filter(Boolean))];
    if (asked.some((scope) => !allowed.has(scope))) {
      throw invalidScope('The requested scope exceeds the scope granted to the session.');
    }
    return asked.join(' ');
  }

  /** Roles travel only in first-party tokens: a third-party client is never handed them. */
  private async respond(
    user: Pick<User, 'id' | 'roles'>,
    sessionId: string,
    client: Client,
    minted: MintedGrant,
    refreshToken: string | null,
    signIn: { readonly amr?: readonly string[]; readonly authTime?: Date } = {},
  ): Promise<TokenResponse> {
    const access = await this.accessTokens.issue({
      subject: user.id,
      sessionId,
      clientId: client.id,
      minted,
      roles: client.firstParty ? user.roles : null,
      amr: signIn.amr ?? null,
      authTime: signIn.authTime ?? null,
    });
    return {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: access.expiresIn,
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
      scope: minted.scope,
    };
  }

  private refreshExpiry(now: Date, absoluteExpiresAt: Date): Date {
    const expiry = this.after(now, this.policy.refreshTokenTtlSeconds);
    return expiry < absoluteExpiresAt ? expiry : absoluteExpiresAt;
  }

  private after(moment: Date, seconds: number): Date {
    return new Date(moment.getTime() + seconds * 1000);
  }
}

/**
 * A successor is sealed bound to its predecessor's token hash — known before the predecessor's row
 * is read, so reading and spending it take one statement.
 */
function sealContext(tokenHash: Buffer): string {
  return `refresh-token:${tokenHash.toString('hex')}`;
}

/** Successors sealed before the seal was bound to the token hash were bound to its row id. */
function openSuccessor(key: Buffer, sealed: Buffer, tokenHash: Buffer, tokenId: string): string {
  try {
    return open(key, sealed, sealContext(tokenHash)).toString('utf8');
  } catch {
    return open(key, sealed, tokenId).toString('utf8');
  }
}

/**
 * Whether a replay comes from the address that rotated the token. A token rotated before addresses
 * were kept (`rotated` null, only within the grace window of a deploy) keeps the rule it had. The
 * two spellings come from PostgreSQL (`host(inet)`) and Node, which may differ for IPv6.
 */
function sameRotatingAddress(rotated: string | null, replay: string | null): boolean {
  if (rotated === null) {
    return true;
  }
  return replay !== null && canonicalAddress(rotated) === canonicalAddress(replay);
}

function canonicalAddress(ip: string): string {
  return isIPv6(ip) ? new URL(`http://[${ip}]`).hostname : ip;
}
