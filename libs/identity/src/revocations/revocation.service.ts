import { Injectable } from '@nestjs/common';
import type { Repositories, RevocationReason } from '@gatehouse/persistence';

import { ClientCache } from '../clients/client-cache.js';
import { SessionCache } from '../sessions/session-cache.js';
import { RevocationPublisher } from './revocation-publisher.js';

/**
 * How long a revocation stays in the feed: the longest an access token can live (the design caps
 * access tokens at 15 minutes), so a guard verifying JWTs locally can drop a revoked `sid` after that.
 */
export const REVOCATION_FEED_SECONDS = 900;

/** The channel `@gatehouse/nest-auth`'s PgRevocationFeed listens on (its REVOCATION_CHANNEL). */
export const REVOCATION_CHANNEL = 'gatehouse_revocations';

export interface SessionRevocation {
  readonly at: Date;
  readonly reason: RevocationReason;
  /** `user:<id>` or a system actor. */
  readonly by: string;
  /** The operator's text with a forced revocation, kept on the session beside the reason. */
  readonly note?: string | null;
}

/**
 * Told of sessions that end, INSIDE the transaction that ends them (before the commit): what it
 * writes (a queued logout token, a webhook event) commits or rolls back with the revocation itself.
 * Every way a session ends early goes through here: logout, RP-initiated logout, a user's or an
 * operator's revocation, refresh-token reuse, a disabled user, a password change or reset, a factor
 * reset, a client deleted or narrowed.
 */
export interface SessionEndHook {
  sessionsEnded(repositories: Repositories, ended: EndedSessions): Promise<void>;
}

export interface EndedSessions {
  /** The sessions this transaction revoked (never empty when a hook is called). */
  readonly ids: readonly string[];
  readonly revocation: SessionRevocation;
}

/** Told in-process, right after the commit, of what this process revoked (its own guard's list). */
export interface RevocationListener {
  sessionsRevoked(sessionIds: readonly string[], untilMs: number): void;
  clientTokensRevoked(clientId: string, revokedAtMs: number, untilMs: number): void;
}

/**
 * Ends sessions everywhere: the row is revoked (cookie and refresh family die with it), and a feed row
 * plus a PostgreSQL NOTIFY go out in the same transaction, so services that verify access tokens
 * locally learn of it within milliseconds of the commit, or at their next backfill.
 */
@Injectable()
export class RevocationService {
  private readonly listeners = new Set<RevocationListener>();
  private readonly endHooks: SessionEndHook[] = [];

  constructor(
    private readonly publisher: RevocationPublisher,
    private readonly cache: SessionCache,
    private readonly clients: ClientCache,
  ) {}

  /**
   * `listener` learns of this process's revocations as they commit, before the feed's event comes
   * back: a request that follows the revocation in the same process is refused. Answers a function
   * that unsubscribes it.
   */
  subscribe(listener: RevocationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * `hook` runs inside every transaction that ends sessions, in registration order (register once,
   * at module init). A hook that throws rolls the revocation back: hooks only enqueue work.
   */
  onSessionsEnded(hook: SessionEndHook): void {
    this.endHooks.push(hook);
  }

  /**
   * Ends these sessions and, one level down, the token sessions obtained through them (the apps
   * signed in through a browser session: Keycloak's client sessions of a user session), with the same
   * reason, actor and moment, so the hooks see every one (each app gets its logout token with its own
   * `sid`). Not when a new sign-in replaces the browser session (not a sign-out), and never a token
   * session holding `offline_access` (it outlives the sign-in, OIDC Core §11). Answers every id it
   * revoked, the children after the sessions asked for.
   */
  async revokeSessions(
    repositories: Repositories,
    ids: readonly string[],
    revocation: SessionRevocation,
  ): Promise<string[]> {
    const revoked = await repositories.sessions.revoke(ids, revocation);
    const children =
      revocation.reason === 'replaced_by_login'
        ? []
        : await repositories.sessions.revokeChildren(ids, revocation);
    const all = children.length > 0 ? [...revoked, ...children] : revoked;
    await this.recordInFeed(repositories, all, revocation);
    return all;
  }

  /** Every live session of the user, except `keep` (the caller's own, when it stays signed in). */
  async revokeAllForUser(
    repositories: Repositories,
    userId: string,
    revocation: SessionRevocation,
    keep: string | null = null,
  ): Promise<string[]> {
    const revoked = await repositories.sessions.revokeAllForUser(userId, revocation, keep);
    await this.recordInFeed(repositories, revoked, revocation);
    return revoked;
  }

  /** Every live session of a client (the client is being deleted). */
  async revokeAllForClient(
    repositories: Repositories,
    clientId: string,
    revocation: SessionRevocation,
  ): Promise<string[]> {
    const revoked = await repositories.sessions.revokeAllForClient(clientId, revocation);
    await this.recordInFeed(repositories, revoked, revocation);
    return revoked;
  }

  /**
   * Ends the tokens a client obtained for itself (client credentials): they have no session to
   * revoke, so the feed carries the client and the moment, and guards refuse its tokens issued at or
   * before it. Used when a client is deleted or loses a scope or grant.
   */
  async revokeClientTokens(repositories: Repositories, clientId: string, at: Date): Promise<void> {
    const until = new Date(at.getTime() + REVOCATION_FEED_SECONDS * 1000);
    const payload = JSON.stringify({ cid: clientId, at: at.getTime(), until: until.getTime() });
    await repositories.revocations.appendClient(clientId, at, until);
    await repositories.revocations.notify(REVOCATION_CHANNEL, [payload]);
    repositories.afterCommit(() => {
      this.clients.evict(clientId);
      for (const listener of this.listeners) {
        listener.clientTokensRevoked(clientId, at.getTime(), until.getTime());
      }
      return this.publisher.publish(REVOCATION_CHANNEL, [payload]);
    });
  }

  /**
   * Tells every process's client cache to forget the client, revoking nothing: its registration
   * changed (a new secret, other scopes or URIs). Like `evictFromCaches`, an event whose `until` has
   * passed: guards that keep client revocations ignore it, and no row is written (a process that
   * misses it rereads within CLIENT_CACHE_TTL_MS).
   */
  async forgetClient(repositories: Repositories, clientId: string): Promise<void> {
    const payload = JSON.stringify({ cid: clientId, at: 0, until: 0 });
    await repositories.revocations.notify(REVOCATION_CHANNEL, [payload]);
    repositories.afterCommit(() => {
      this.clients.evict(clientId);
      return this.publisher.publish(REVOCATION_CHANNEL, [payload]);
    });
  }

  /**
   * Tells every process's session cache to forget these sessions, revoking nothing: their user's
   * roles changed. A feed event whose `until` has passed adds nothing to any revocation list, so it
   * only evicts; no row is written (a process that misses it rereads within SESSION_CACHE_TTL).
   */
  async evictFromCaches(repositories: Repositories, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) {
      return;
    }
    const payloads = ids.map((sid) => JSON.stringify({ sid, until: 0 }));
    await repositories.revocations.notify(REVOCATION_CHANNEL, payloads);
    repositories.afterCommit(() => {
      this.cache.evictSessions(ids);
      return this.publisher.publish(REVOCATION_CHANNEL, payloads);
    });
  }

  /**
   * The durable row (backfill after a reconnect) and the broadcast (instant), in one transaction; this
   * process's session cache forgets the sessions as soon as the transaction commits.
   */
  private async recordInFeed(
    repositories: Repositories,
    ids: string[],
    revocation: SessionRevocation,
  ): Promise<void> {
    const until = new Date(revocation.at.getTime() + REVOCATION_FEED_SECONDS * 1000);
    const payloads = ids.map((sid) => JSON.stringify({ sid, until: until.getTime() }));
    await repositories.revocations.appendSessions(ids, revocation.at, until);
    await repositories.revocations.notify(REVOCATION_CHANNEL, payloads);
    if (ids.length > 0) {
      for (const hook of this.endHooks) {
        await hook.sessionsEnded(repositories, { ids, revocation });
      }
    }
    if (payloads.length > 0) {
      repositories.afterCommit(() => {
        this.cache.evictSessions(ids);
        for (const listener of this.listeners) {
          listener.sessionsRevoked(ids, until.getTime());
        }
        return this.publisher.publish(REVOCATION_CHANNEL, payloads);
      });
    }
  }
}
