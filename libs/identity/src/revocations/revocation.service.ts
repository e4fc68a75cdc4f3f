import { Injectable } from '@nestjs/common';
import type { Repositories, RevocationReason } from '@gatehouse/persistence';

/**
 * How long a revocation stays in the feed: the longest an access token can live (the design caps
 * access tokens at 15 minutes), so a guard verifying JWTs locally can drop a revoked `sid` after that.
 */
export const REVOCATION_FEED_SECONDS = 900;

export interface SessionRevocation {
  readonly at: Date;
  readonly reason: RevocationReason;
  /** `user:<id>` or a system actor. */
  readonly by: string;
}

/**
 * Ends sessions everywhere: the row is revoked (cookie and refresh family die with it) and a feed row
 * is written in the same transaction, so services that verify access tokens locally learn of it.
 */
@Injectable()
export class RevocationService {
  async revokeSessions(
    repositories: Repositories,
    ids: readonly string[],
    revocation: SessionRevocation,
  ): Promise<string[]> {
    const revoked = await repositories.sessions.revoke(ids, revocation);
    await this.recordInFeed(repositories, revoked, revocation.at);
    return revoked;
  }

  /** Every live session of the user, except `keep` (the caller's own, when it stays signed in). */
  async revokeAllForUser(
    repositories: Repositories,
    userId: string,
    revocation: SessionRevocation,
    keep: string | null = null,
  ): Promise<string[]> {
    const revoked = await repositories.sessions.revokeAllForUser(userId, revocation, keep);
    await this.recordInFeed(repositories, revoked, revocation.at);
    return revoked;
  }

  private recordInFeed(repositories: Repositories, ids: string[], at: Date): Promise<void> {
    const until = new Date(at.getTime() + REVOCATION_FEED_SECONDS * 1000);
    return repositories.revocations.appendSessions(ids, at, until);
  }
}
