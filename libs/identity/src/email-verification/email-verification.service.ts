import { Injectable } from '@nestjs/common';
import { Database, type Repositories, type User } from '@gatehouse/persistence';

import { AuditService } from '../audit/audit.service.js';
import { InteractionSealer } from '../authorization/interaction-sealer.js';
import { Clock } from '../clock.js';
import {
  EmailAlreadyVerifiedError,
  UserNotFoundError,
  VerificationTokenInvalidError,
} from '../identity.errors.js';
import { MailService } from '../mail/mail.service.js';
import type { ClientContext } from '../sessions/session.service.js';
import { EmailLinks, hashLinkToken, isWellFormedLinkToken, newLinkToken } from './email-links.js';

/**
 * Proof that an address belongs to its user: a link mailed at registration and on request, spent
 * once, superseded by a newer one, valid only while the account still has that address. Verifying sets
 * `users.email_verified_at`, which becomes `email_verified` in `/me`, userinfo and ID tokens.
 */
@Injectable()
export class EmailVerificationService {
  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly mail: MailService,
    private readonly audit: AuditService,
    private readonly links: EmailLinks,
    private readonly sealer: InteractionSealer,
  ) {}

  /** In the caller's unit of work (registration): the link exists if and only if the user does. */
  async send(repositories: Repositories, user: User): Promise<void> {
    const now = this.clock.now();
    const { token, tokenHash } = newLinkToken();
    await repositories.emailVerifications.issue({
      userId: user.id,
      purpose: 'verify',
      email: user.email,
      tokenHash,
      createdAt: now,
      expiresAt: this.links.expiresAt(now),
    });
    await this.mail.enqueue(repositories, {
      template: 'email-verification',
      to: user.email,
      params: { expiresInMinutes: this.links.expiresInMinutes },
      secret: { token },
    });
  }

  /**
   * `POST /me/email/verification`: another link, within the user's mail budget (the mail itself is
   * the record: `GET /admin/mail`).
   */
  async resend(userId: string): Promise<void> {
    await this.database.transaction(async (repositories) => {
      const user = await repositories.users.lockById(userId);
      if (!user) {
        throw new UserNotFoundError();
      }
      if (user.emailVerifiedAt) {
        throw new EmailAlreadyVerifiedError();
      }
      await this.links.assertBudget(repositories, user.id, this.clock.now());
      await this.send(repositories, user);
    });
  }

  /**
   * For the sign-in page of `REQUIRE_VERIFIED_EMAIL`: proof, for ten minutes, that whoever holds it
   * just gave the user's correct password, so the page can offer to send the link again.
   */
  resendTicket(userId: string): string {
    return this.sealer.startVerificationResend(userId);
  }

  /** The ticket's user gets another link; an expired or forged ticket is an invalid link. */
  async resendWithTicket(ticket: string | undefined): Promise<void> {
    const userId = this.sealer.resumeVerificationResend(ticket);
    if (!userId) {
      throw new VerificationTokenInvalidError();
    }
    await this.resend(userId);
  }

  /** `POST /auth/email/verify` and the `/verify-email` page. Bad links change nothing. */
  async verify(token: unknown, ip: string | null): Promise<void> {
    if (!isWellFormedLinkToken(token)) {
      throw new VerificationTokenInvalidError();
    }
    await this.database.transaction(async (repositories) => {
      const now = this.clock.now();
      const spent = await repositories.emailVerifications.spend(
        hashLinkToken(token),
        'verify',
        now,
      );
      // A link to an address the account no longer has proves nothing about the current one.
      if (!spent || !(await repositories.users.markEmailVerified(spent.userId, now, spent.email))) {
        throw new VerificationTokenInvalidError();
      }
      await this.audit.record(repositories, {
        actor: `user:${spent.userId}`,
        action: 'user.email_verified',
        subject: `user:${spent.userId}`,
        ip,
        details: { email: spent.email },
      });
      const user = await repositories.users.findById(spent.userId);
      await this.links.refreshCachedUser(repositories, user!, now);
    });
  }

  /** admin-api: the operator vouches for the address (e.g. users who predate verification). */
  async markVerifiedByOperator(
    userId: string,
    operatorId: string,
    context: ClientContext,
  ): Promise<User> {
    return this.database.transaction(async (repositories) => {
      const now = this.clock.now();
      const user = await repositories.users.lockById(userId);
      if (!user || !(await repositories.users.markEmailVerified(userId, now))) {
        throw new UserNotFoundError();
      }
      await repositories.emailVerifications.voidPending(userId, 'verify', now);
      await this.audit.record(repositories, {
        actor: `user:${operatorId}`,
        action: 'admin.user_email_verified',
        subject: `user:${userId}`,
        ip: context.ip,
        details: { email: user.email, alreadyVerified: user.emailVerifiedAt !== null },
      });
      await this.links.refreshCachedUser(repositories, user, now);
      return (await repositories.users.findById(userId))!;
    });
  }
}
