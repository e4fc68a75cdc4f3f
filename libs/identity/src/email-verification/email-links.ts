import { createHash, randomBytes } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import type { Repositories, User } from '@gatehouse/persistence';

import { RateLimitedError } from '../identity.errors.js';
import { RevocationService } from '../revocations/revocation.service.js';
import { SessionCache } from '../sessions/session-cache.js';

/** The shape of every link token: 32 bytes base64url. Anything else costs no database round trip. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** 32 bytes from the CSPRNG, base64url; only the SHA-256 is stored (256 bits: nothing to brute-force). */
export function newLinkToken(): { token: string; tokenHash: Buffer } {
  const token = randomBytes(32).toString('base64url');
  return { token, tokenHash: hashLinkToken(token) };
}

export function hashLinkToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

export function isWellFormedLinkToken(token: unknown): token is string {
  return typeof token === 'string' && TOKEN_SHAPE.test(token);
}

/**
 * What verification and email-change links share: their lifetime, the per-user mail budget, and making
 * a changed address visible at once in `/me` (cached cookie sessions are evicted in every process).
 */
@Injectable()
export class EmailLinks {
  constructor(
    @InjectConfig() private readonly config: GatehouseConfig,
    private readonly revocations: RevocationService,
    private readonly sessionCache: SessionCache,
  ) {}

  expiresAt(now: Date): Date {
    return new Date(now.getTime() + this.config.emailVerification.ttlSeconds * 1000);
  }

  get expiresInMinutes(): number {
    return Math.round(this.config.emailVerification.ttlSeconds / 60);
  }

  /**
   * Every link mails someone: at most EMAIL_VERIFICATION_MAILS_PER_USER per window and user, counted
   * from the links themselves. Call with the user's row locked (`users.lockById`), so concurrent
   * requests count one after the other.
   */
  async assertBudget(repositories: Repositories, userId: string, now: Date): Promise<void> {
    const { mailsPerUser, windowSeconds } = this.config.emailVerification;
    const windowStart = new Date(now.getTime() - windowSeconds * 1000);
    const issued = await repositories.emailVerifications.issuedSince(userId, windowStart);
    if (issued.length >= mailsPerUser) {
      const freedAt = issued[issued.length - mailsPerUser]!.getTime() + windowSeconds * 1000;
      throw new RateLimitedError(Math.max(1, Math.ceil((freedAt - now.getTime()) / 1000)));
    }
  }

  /** The user's email or its verification changed: cached cookie sessions must not show the old one. */
  async refreshCachedUser(repositories: Repositories, user: User, now: Date): Promise<void> {
    const live = await repositories.sessions.listLiveForUser(user.id, now, 1000);
    await this.revocations.evictFromCaches(
      repositories,
      live.filter((session) => session.kind === 'cookie').map((session) => session.id),
    );
    repositories.afterCommit(() => Promise.resolve(this.sessionCache.evictUser(user.id)));
  }
}
