import { createHash, randomBytes } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { Database, type Repositories, type User } from '@gatehouse/persistence';

import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../clock.js';
import {
  ResetTokenInvalidError,
  UserDisabledError,
  UserNotFoundError,
  ValidationFailedError,
} from '../identity.errors.js';
import { MailService } from '../mail/mail.service.js';
import { LoginLimiter } from '../rate-limits/login-limiter.js';
import { RevocationService } from '../revocations/revocation.service.js';
import type { ClientContext } from '../sessions/session.service.js';
import { normalizeEmail } from '../users/email.js';
import { PasswordHasher } from '../users/password-hasher.js';
import { passwordProblems } from '../users/password-policy.js';

/** The job queue's task that decides, off the request path, whether a reset request sends a link. */
export const PASSWORD_RESET_REQUEST_TASK = 'password-reset.request';

/** A reset request that fails (the database went away) is tried again a few times, then dropped. */
const REQUEST_JOB_ATTEMPTS = 5;

interface ResetRequestPayload {
  readonly email: string;
  readonly ip: string | null;
}

function requestPayloadOf(payload: unknown): ResetRequestPayload | null {
  const { email, ip } = (payload ?? {}) as { email?: unknown; ip?: unknown };
  return typeof email === 'string' ? { email, ip: typeof ip === 'string' ? ip : null } : null;
}

/** 32 bytes from the CSPRNG, base64url; only the SHA-256 is stored (256 bits: nothing to brute-force). */
function newResetToken(): { token: string; tokenHash: Buffer } {
  const token = randomBytes(32).toString('base64url');
  return { token, tokenHash: hashResetToken(token) };
}

function hashResetToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

export interface PasswordReset {
  readonly token: string;
  readonly newPassword: string;
  readonly ip: string | null;
}

/** What an operator's reset link became: the mail carrying it (`GET /admin/mail`). */
export interface SentResetLink {
  readonly mailId: string;
  readonly expiresAt: Date;
}

/**
 * Password reset over mail (OWASP Forgot Password Cheat Sheet). A request answers the same, and does
 * the same work, whatever the address: it only enqueues a job; the worker looks the address up and,
 * for a live account, replaces its link and enqueues the mail in one transaction. The reset spends
 * the link, sets the password and ends every session in one transaction.
 */
@Injectable()
export class PasswordResetService {
  constructor(
    private readonly database: Database,
    private readonly passwords: PasswordHasher,
    private readonly audit: AuditService,
    private readonly limiter: LoginLimiter,
    private readonly revocations: RevocationService,
    private readonly clock: Clock,
    private readonly mail: MailService,
    @InjectConfig() private readonly config: GatehouseConfig,
  ) {}

  /**
   * Constant work whatever the address: the limits, then one INSERT into the job queue. Whether an
   * account exists is decided by the worker, so neither the answer nor its timing can tell.
   */
  async request(email: string, ip: string | null): Promise<void> {
    const normalized = normalizeEmail(email);
    await this.limiter.takePasswordResetRequest(normalized, ip);
    await this.database.jobs.add({
      task: PASSWORD_RESET_REQUEST_TASK,
      payload: { email: normalized, ip },
      maxAttempts: REQUEST_JOB_ATTEMPTS,
    });
  }

  /** The worker's side of a request: a link for a live account, nothing for any other address. */
  async issueRequested(payload: unknown): Promise<void> {
    const request = requestPayloadOf(payload);
    if (!request) {
      return;
    }
    await this.database.transaction(async (repositories) => {
      const user = await repositories.users.findByEmail(request.email);
      if (!user || user.disabledAt !== null) {
        return;
      }
      const { mailId } = await this.issue(repositories, user);
      await this.audit.record(repositories, {
        actor: `user:${user.id}`,
        action: 'user.password_reset_requested',
        subject: `user:${user.id}`,
        ip: request.ip,
        details: { mailId },
      });
    });
  }

  /** An operator sends the user a reset link (admin-api); audited with the operator. */
  async sendOnBehalf(
    userId: string,
    operatorId: string,
    context: ClientContext,
  ): Promise<SentResetLink> {
    return this.database.transaction(async (repositories) => {
      const user = await repositories.users.lockById(userId);
      if (!user) {
        throw new UserNotFoundError();
      }
      if (user.disabledAt !== null) {
        throw new UserDisabledError();
      }
      const sent = await this.issue(repositories, user);
      await this.audit.record(repositories, {
        actor: `user:${operatorId}`,
        action: 'admin.password_reset_sent',
        subject: `user:${user.id}`,
        ip: context.ip,
        details: { mailId: sent.mailId },
      });
      return sent;
    });
  }

  /** The account a link opens, for the reset page (looking does not spend it); null if none. */
  async accountOf(token: string): Promise<{ email: string } | null> {
    const target = await this.database.passwordResets.findLive(
      hashResetToken(token),
      this.clock.now(),
    );
    return target ? { email: target.email } : null;
  }

  /**
   * OWASP: the new password follows the policy, the link works once, every session ends (whoever
   * held one loses it, through the feed), and the owner is told by mail. A token that opens nothing
   * changes nothing.
   */
  async reset({ token, newPassword, ip }: PasswordReset): Promise<void> {
    const tokenHash = hashResetToken(token);
    const target = await this.database.passwordResets.findLive(tokenHash, this.clock.now());
    if (!target) {
      throw new ResetTokenInvalidError();
    }
    const problems = passwordProblems(newPassword, [target.email]);
    if (problems.length > 0) {
      throw new ValidationFailedError([{ field: 'newPassword', messages: problems }]);
    }
    const passwordHash = await this.passwords.hash(newPassword);
    await this.database.transaction(async (repositories) => {
      const at = this.clock.now();
      // Spent by compare-and-delete: of concurrent resets with one link, exactly one goes on.
      const spent = await repositories.passwordResets.spend(tokenHash, at);
      if (!spent) {
        throw new ResetTokenInvalidError();
      }
      const by = `user:${spent.userId}`;
      await repositories.users.updatePasswordHash(spent.userId, passwordHash);
      const revoked = await this.revocations.revokeAllForUser(repositories, spent.userId, {
        at,
        reason: 'password_reset',
        by,
      });
      await this.audit.record(repositories, {
        actor: by,
        action: 'user.password_reset',
        subject: by,
        ip,
        details: { revokedSessionIds: revoked },
      });
      if (this.config.mail.notifyPasswordChanged) {
        await this.mail.enqueue(repositories, {
          template: 'password-changed',
          to: spent.email,
          params: { changedAt: at.toISOString() },
        });
      }
    });
  }

  /** Replaces the user's link with a new one and enqueues the mail carrying it (sealed). */
  private async issue(repositories: Repositories, user: User): Promise<SentResetLink> {
    const { token, tokenHash } = newResetToken();
    const createdAt = this.clock.now();
    const { ttlSeconds } = this.config.passwordReset;
    const expiresAt = new Date(createdAt.getTime() + ttlSeconds * 1000);
    await repositories.passwordResets.replace({ userId: user.id, tokenHash, createdAt, expiresAt });
    const mailId = await this.mail.enqueue(repositories, {
      template: 'password-reset',
      to: user.email,
      params: { expiresInMinutes: Math.round(ttlSeconds / 60) },
      secret: { token },
    });
    return { mailId, expiresAt };
  }
}
