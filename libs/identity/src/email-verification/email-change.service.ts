import { Injectable } from '@nestjs/common';
import { Database, isUniqueViolation } from '@gatehouse/persistence';

import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../clock.js';
import {
  EmailTakenError,
  InvalidCredentialsError,
  ValidationFailedError,
  VerificationTokenInvalidError,
} from '../identity.errors.js';
import { MailService } from '../mail/mail.service.js';
import { LoginLimiter } from '../rate-limits/login-limiter.js';
import { normalizeEmail } from '../users/email.js';
import { PasswordHasher } from '../users/password-hasher.js';
import { EmailLinks, hashLinkToken, isWellFormedLinkToken, newLinkToken } from './email-links.js';

export interface EmailChangeRequest {
  readonly userId: string;
  readonly newEmail: string;
  /** Recent authentication (OWASP): the current password, checked like a login. */
  readonly password: string;
  readonly ip: string | null;
}

/**
 * Changing the account's address (OWASP Authentication Cheat Sheet): the password again, a
 * confirmation link to the new address, a notice with a cancel link to the current one, and the change
 * applied only when the new address confirms. A taken address is answered like a free one and gets no
 * link; the unique index decides at confirmation, so two accounts can never end with one address.
 */
@Injectable()
export class EmailChangeService {
  constructor(
    private readonly database: Database,
    private readonly passwords: PasswordHasher,
    private readonly limiter: LoginLimiter,
    private readonly clock: Clock,
    private readonly mail: MailService,
    private readonly audit: AuditService,
    private readonly links: EmailLinks,
  ) {}

  async request(change: EmailChangeRequest): Promise<void> {
    const current = await this.database.users.findById(change.userId);
    if (!current) {
      throw new InvalidCredentialsError();
    }
    // Wrong passwords count against the login limits: a hijacked session cannot guess with it.
    await this.limiter.take(current.email, change.ip);
    if (!(await this.passwords.verify(current.passwordHash, change.password, 'account-change'))) {
      throw new ValidationFailedError([{ field: 'password', messages: ['password is incorrect'] }]);
    }
    await this.limiter.succeeded(current.email, change.ip);
    const newEmail = normalizeEmail(change.newEmail);
    if (newEmail === current.email) {
      throw new ValidationFailedError([
        { field: 'newEmail', messages: ['newEmail is already the address of the account'] },
      ]);
    }
    await this.database.transaction(async (repositories) => {
      const now = this.clock.now();
      const user = await repositories.users.lockById(change.userId);
      if (!user) {
        throw new InvalidCredentialsError();
      }
      await this.links.assertBudget(repositories, user.id, now);
      const taken = (await repositories.users.findByEmail(newEmail)) !== null;
      const confirmation = newLinkToken();
      const cancellation = newLinkToken();
      // Issued even for a taken address (its token is never sent): the budget, the superseded link
      // and the notice are the same either way, so nothing tells the two apart.
      await repositories.emailVerifications.issue({
        userId: user.id,
        purpose: 'change',
        email: newEmail,
        tokenHash: confirmation.tokenHash,
        cancelTokenHash: cancellation.tokenHash,
        createdAt: now,
        expiresAt: this.links.expiresAt(now),
      });
      const expiresInMinutes = this.links.expiresInMinutes;
      if (!taken) {
        await this.mail.enqueue(repositories, {
          template: 'email-change-confirmation',
          to: newEmail,
          params: { expiresInMinutes },
          secret: { token: confirmation.token },
        });
      }
      await this.mail.enqueue(repositories, {
        template: 'email-change-requested',
        to: user.email,
        params: { newEmail, expiresInMinutes },
        secret: { token: cancellation.token },
      });
      await this.audit.record(repositories, {
        actor: `user:${user.id}`,
        action: 'user.email_change_requested',
        subject: `user:${user.id}`,
        ip: change.ip,
        details: { from: user.email, to: newEmail, addressTaken: taken },
      });
    });
  }

  /**
   * The new address confirms: it becomes the account's, verified. 409 `EMAIL_TAKEN` when another
   * account took it since (its owner, who holds this link, can learn as much by registering).
   */
  async confirm(token: unknown, ip: string | null): Promise<void> {
    if (!isWellFormedLinkToken(token)) {
      throw new VerificationTokenInvalidError();
    }
    try {
      await this.database.transaction(async (repositories) => {
        const now = this.clock.now();
        const spent = await repositories.emailVerifications.spend(
          hashLinkToken(token),
          'change',
          now,
        );
        const user = spent ? await repositories.users.lockById(spent.userId) : null;
        if (!spent || !user) {
          throw new VerificationTokenInvalidError();
        }
        await repositories.users.changeEmail(user.id, spent.email, now);
        // Links to the old address prove nothing any more.
        await repositories.emailVerifications.voidPending(user.id, 'verify', now);
        await this.audit.record(repositories, {
          actor: `user:${user.id}`,
          action: 'user.email_changed',
          subject: `user:${user.id}`,
          ip,
          details: { from: user.email, to: spent.email },
        });
        await this.links.refreshCachedUser(repositories, user, now);
      });
    } catch (error) {
      throw isUniqueViolation(error, 'users_email_key') ? new EmailTakenError() : error;
    }
  }

  /** The cancel link of the notice to the old address: the pending change is void. */
  async cancel(token: unknown, ip: string | null): Promise<void> {
    if (!isWellFormedLinkToken(token)) {
      throw new VerificationTokenInvalidError();
    }
    await this.database.transaction(async (repositories) => {
      const cancelled = await repositories.emailVerifications.cancel(
        hashLinkToken(token),
        this.clock.now(),
      );
      if (!cancelled) {
        throw new VerificationTokenInvalidError();
      }
      await this.audit.record(repositories, {
        actor: `user:${cancelled.userId}`,
        action: 'user.email_change_cancelled',
        subject: `user:${cancelled.userId}`,
        ip,
        details: { to: cancelled.email },
      });
    });
  }
}
