import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import {
  type CookieSessionWithUser,
  Database,
  type Repositories,
  type SessionSummary,
} from '@gatehouse/persistence';

import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../clock.js';
import { SessionNotFoundError } from '../identity.errors.js';
import type { SignIn } from '../mfa/mfa.service.js';
import { RevocationService } from '../revocations/revocation.service.js';
import { type DescribedSession, SessionCache } from './session-cache.js';
import {
  generateSessionToken,
  hashSessionToken,
  sessionTokenDigest,
  isWellFormedSessionToken,
  SESSION_TOKEN_LENGTH,
} from './session-token.js';

/** Where a request came from, as recorded on the session and in the audit log. */
export interface ClientContext {
  readonly ip: string | null;
  readonly userAgent: string | null;
}

export interface StartedCookieSession {
  /** The cookie value: handed to the browser once, never stored. */
  readonly token: string;
  readonly session: SessionSummary;
  readonly maxAgeSeconds: number;
}

export type CookieAuthentication =
  | { readonly status: 'active'; readonly session: CookieSessionWithUser }
  | { readonly status: 'expired' | 'revoked' | 'unknown' };

function isLive(session: CookieSessionWithUser, now: Date): boolean {
  const at = now.getTime();
  return at < session.absoluteExpiresAt.getTime() && at < session.idleExpiresAt.getTime();
}

/** Sessions listed to their user; enough for any real account, bounded for the pathological one. */
const SELF_SERVICE_LIST_LIMIT = 200;
const USER_AGENT_MAX_LENGTH = 512;

@Injectable()
export class SessionService {
  private readonly policy: GatehouseConfig['session'];

  constructor(
    @InjectConfig() config: GatehouseConfig,
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly revocations: RevocationService,
    private readonly audit: AuditService,
    private readonly cache: SessionCache,
  ) {
    this.policy = config.session;
  }

  /**
   * Starts a cookie session for a user who just proved who they are. A session cookie the browser
   * already carried is revoked first (OWASP: renew the session id on login, against fixation).
   */
  startCookieSession(
    { user, amr, identityProviderId = null }: SignIn,
    context: ClientContext,
    previousToken?: string,
  ): Promise<StartedCookieSession> {
    const now = this.clock.now();
    const token = generateSessionToken();
    const absoluteExpiresAt = this.after(now, this.policy.absoluteTimeoutSeconds);
    return this.database.transaction(async (repositories) => {
      const previous = await this.findByToken(previousToken, repositories.sessions);
      if (previous) {
        // The same user signing in again replaces their sign-in (its apps move over, below); another
        // user signing in on this browser signs the previous one out, apps included.
        await this.revocations.revokeSessions(repositories, [previous.id], {
          at: now,
          reason: previous.userId === user.id ? 'replaced_by_login' : 'logout',
          by: `user:${user.id}`,
        });
      }
      const session = await repositories.sessions.createCookieSession({
        userId: user.id,
        tokenHash: hashSessionToken(token),
        createdAt: now,
        idleExpiresAt: this.idleExpiry(now, absoluteExpiresAt),
        absoluteExpiresAt,
        ip: context.ip,
        userAgent: context.userAgent?.slice(0, USER_AGENT_MAX_LENGTH) ?? null,
        amr,
        identityProviderId,
      });
      if (previous && previous.userId === user.id) {
        // Not a sign-out: the apps signed in through the replaced session now hang on this one.
        await repositories.sessions.adoptChildren(previous.id, session.id, now);
      }
      await this.audit.record(repositories, {
        actor: `user:${user.id}`,
        action: 'login.succeeded',
        subject: `user:${user.id}`,
        ip: context.ip,
        details: {
          sessionId: session.id,
          kind: 'cookie',
          replacedSessionId: previous?.id ?? null,
          amr: [...amr],
        },
      });
      const maxAgeSeconds = Math.floor((absoluteExpiresAt.getTime() - now.getTime()) / 1000);
      return { token, session, maxAgeSeconds };
    });
  }

  /**
   * Validates a session cookie: one indexed lookup (session and user together). Sliding expiry writes
   * at most once per touch interval, never on every request. `extend: false` checks without sliding
   * the idle expiry: a resource server introspecting a cookie (RFC 7662) observes the session, it
   * does not use it on the user's behalf.
   */
  async authenticateCookie(
    token: string,
    { extend = true }: { readonly extend?: boolean } = {},
  ): Promise<CookieAuthentication> {
    if (!isWellFormedSessionToken(token)) {
      return { status: 'unknown' };
    }
    const key = sessionTokenDigest(token);
    const now = this.clock.now();
    const cached = this.cache.get(key);
    if (cached && isLive(cached, now)) {
      return extend ? this.keepAlive(key, cached, now) : { status: 'active', session: cached };
    }
    const epoch = this.cache.epoch;
    const session = await this.database.sessions.findCookieSessionByTokenHash(
      Buffer.from(key, 'base64'),
    );
    if (!session) {
      return { status: 'unknown' };
    }
    if (session.revokedAt || session.userDisabledAt) {
      return { status: 'revoked' };
    }
    if (!isLive(session, now)) {
      return { status: 'expired' };
    }
    this.cache.set(key, session, epoch);
    return extend ? this.keepAlive(key, session, now) : { status: 'active', session };
  }

  /**
   * The session cache's answer alone, without a promise: a cached live session whose idle expiry
   * needs no sliding yet. Undefined whenever `authenticateCookie` has more to do (not cached, the
   * cached row no longer live, a touch due, a malformed token); the caller then asks it. With the
   * cache off it answers nothing at once: the token's SHA-256 would be taken twice per request.
   */
  recallCookie(token: string): CookieSessionWithUser | undefined {
    // Only the length, not the shape: a malformed value of this length cannot be a cached session's
    // (only well-formed tokens get cached, under their SHA-256), so it misses and goes on to
    // `authenticateCookie`, which refuses it. The length bounds what a hash costs here.
    if (!this.cache.enabled || token.length !== SESSION_TOKEN_LENGTH) {
      return undefined;
    }
    const cached = this.cache.get(sessionTokenDigest(token));
    const now = this.clock.now();
    return cached && isLive(cached, now) && !this.touchDue(cached, now) ? cached : undefined;
  }

  /** Sessions ended elsewhere (revocation feed): cached answers about them must go. */
  forgetSessions(sessionIds: readonly string[]): void {
    this.cache.evictSessions(sessionIds);
  }

  /** For bearer tokens: has the session behind a token been revoked, disabled or outlived? */
  async isEnded(sessionId: string): Promise<boolean> {
    const status = await this.database.sessions.findStatus(sessionId);
    return (
      !status ||
      status.revokedAt !== null ||
      status.userDisabledAt !== null ||
      this.clock.now() >= status.absoluteExpiresAt
    );
  }

  /**
   * `GET /me` for a bearer token: the session and its user, one query, then from the session cache
   * for its TTL (evicted with the session, like a cookie's row).
   */
  async describeWithUser(sessionId: string): Promise<DescribedSession> {
    const cached = this.cache.getDescribed(sessionId);
    if (cached) {
      return cached;
    }
    const epoch = this.cache.epoch;
    const found = await this.database.sessions.findSummaryWithUser(sessionId);
    if (!found) {
      throw new SessionNotFoundError();
    }
    this.cache.setDescribed(found, epoch);
    return found;
  }

  async describe(sessionId: string): Promise<SessionSummary> {
    const session = await this.database.sessions.findSummary(sessionId);
    if (!session) {
      throw new SessionNotFoundError();
    }
    return session;
  }

  listLive(userId: string): Promise<SessionSummary[]> {
    return this.database.sessions.listLiveForUser(
      userId,
      this.clock.now(),
      SELF_SERVICE_LIST_LIMIT,
    );
  }

  logout(userId: string, sessionId: string, context: ClientContext): Promise<void> {
    return this.revokeOwn(userId, [sessionId], 'logout', context);
  }

  /** Another user's session id answers exactly like an unknown one: 404, nothing changed. */
  async revokeOne(userId: string, sessionId: string, context: ClientContext): Promise<void> {
    const session = await this.database.sessions.findSummary(sessionId);
    if (!session || session.userId !== userId) {
      throw new SessionNotFoundError();
    }
    await this.revokeOwn(userId, [sessionId], 'revoked_by_user', context);
  }

  /** Signs the user out everywhere but here; returns how many sessions ended. */
  revokeOthers(userId: string, keep: string | null, context: ClientContext): Promise<number> {
    return this.database.transaction(async (repositories) => {
      const at = this.clock.now();
      const revoked = await this.revocations.revokeAllForUser(
        repositories,
        userId,
        { at, reason: 'revoked_by_user', by: `user:${userId}` },
        keep,
      );
      await this.recordRevocation(repositories, userId, revoked, 'revoked_by_user', context);
      return revoked.length;
    });
  }

  private revokeOwn(
    userId: string,
    ids: string[],
    reason: 'logout' | 'revoked_by_user',
    context: ClientContext,
  ): Promise<void> {
    return this.database.transaction(async (repositories) => {
      const at = this.clock.now();
      const by = `user:${userId}`;
      const revoked = await this.revocations.revokeSessions(repositories, ids, { at, reason, by });
      await this.recordRevocation(repositories, userId, revoked, reason, context);
    });
  }

  private async recordRevocation(
    repositories: Repositories,
    userId: string,
    sessionIds: string[],
    reason: 'logout' | 'revoked_by_user',
    context: ClientContext,
  ): Promise<void> {
    if (sessionIds.length === 0) {
      return;
    }
    await this.audit.record(repositories, {
      actor: `user:${userId}`,
      action: reason === 'logout' ? 'session.logout' : 'session.revoked',
      subject: `user:${userId}`,
      ip: context.ip,
      details: { sessionIds, reason },
    });
  }

  /** Slides the idle expiry at most once per touch interval (a conditional UPDATE). */
  private async keepAlive(
    key: string,
    session: CookieSessionWithUser,
    now: Date,
  ): Promise<CookieAuthentication> {
    if (!this.touchDue(session, now)) {
      return { status: 'active', session };
    }
    const touchBefore = this.after(now, -this.policy.touchIntervalSeconds);
    const idleExpiresAt = this.idleExpiry(now, session.absoluteExpiresAt);
    const epoch = this.cache.epoch;
    if (!(await this.database.sessions.touch(session.id, now, idleExpiresAt, touchBefore))) {
      // Touched by a concurrent request or another instance, or just revoked: read it again next time.
      this.cache.delete(key);
      return { status: 'active', session };
    }
    const touched = { ...session, lastSeenAt: now, idleExpiresAt };
    this.cache.set(key, touched, epoch);
    return { status: 'active', session: touched };
  }

  /** Has the touch interval passed since the session was last seen (its idle expiry slid)? */
  private touchDue(session: CookieSessionWithUser, now: Date): boolean {
    return now.getTime() - session.lastSeenAt.getTime() >= this.policy.touchIntervalSeconds * 1000;
  }

  private findByToken(
    token: string | undefined,
    sessions: Database['sessions'],
  ): Promise<CookieSessionWithUser | null> {
    if (token === undefined || !isWellFormedSessionToken(token)) {
      return Promise.resolve(null);
    }
    return sessions.findCookieSessionByTokenHash(hashSessionToken(token));
  }

  private idleExpiry(now: Date, absoluteExpiresAt: Date): Date {
    const idle = this.after(now, this.policy.idleTimeoutSeconds);
    return idle < absoluteExpiresAt ? idle : absoluteExpiresAt;
  }

  private after(moment: Date, seconds: number): Date {
    return new Date(moment.getTime() + seconds * 1000);
  }
}
