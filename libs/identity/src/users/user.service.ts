import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { Database, type Repositories, type User } from '@gatehouse/persistence';

import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../clock.js';
import { EmailVerificationService } from '../email-verification/email-verification.service.js';
import {
  BootstrapOperatorConflictError,
  EmailTakenError,
  InvalidCredentialsError,
  UserNotFoundError,
  ValidationFailedError,
} from '../identity.errors.js';
import { MailService } from '../mail/mail.service.js';
import { LoginLimiter } from '../rate-limits/login-limiter.js';
import { RevocationService } from '../revocations/revocation.service.js';
import { normalizeEmail } from './email.js';
import { PasswordHasher } from './password-hasher.js';
import { passwordProblems } from './password-policy.js';

export interface Registration {
  readonly email: string;
  readonly password: string;
  readonly ip?: string | null;
}

export interface PasswordChange {
  readonly userId: string;
  /** The session making the change: it stays signed in, every other one ends. */
  readonly sessionId: string | null;
  readonly currentPassword: string;
  readonly newPassword: string;
  readonly ip: string | null;
}

export const ADMIN_ROLE = 'admin';

@Injectable()
export class UserService {
  constructor(
    private readonly database: Database,
    private readonly passwords: PasswordHasher,
    private readonly audit: AuditService,
    private readonly limiter: LoginLimiter,
    private readonly revocations: RevocationService,
    private readonly clock: Clock,
    private readonly mail: MailService,
    @InjectConfig() private readonly config: GatehouseConfig,
    private readonly verifications: EmailVerificationService,
  ) {}

  /** The account and its verification mail land together, or neither does. */
  async register({ email, password, ip }: Registration): Promise<User> {
    const normalized = normalizeEmail(email);
    this.assertAcceptablePassword('password', password, normalized);
    // "Email taken" tells whether an account exists: such answers spend the IP's failure budget.
    await this.limiter.takeForIp(ip ?? null);
    const passwordHash = await this.passwords.hash(password);
    const user = await this.database.transaction(async (repositories) => {
      const created = await repositories.users.createUnlessEmailTaken({
        email: normalized,
        passwordHash,
      });
      if (!created) {
        throw new EmailTakenError();
      }
      await this.audit.record(repositories, {
        actor: `user:${created.id}`,
        action: 'user.registered',
        subject: `user:${created.id}`,
        ip,
      });
      await this.verifications.send(repositories, created);
      return created;
    });
    await this.limiter.ipSucceeded(ip ?? null);
    return user;
  }

  async get(id: string): Promise<User> {
    const user = await this.database.users.findById(id);
    if (!user) {
      throw new UserNotFoundError();
    }
    return user;
  }

  /**
   * OWASP: re-authenticate before a password change, end every other session (whoever stole one
   * loses it) and tell the owner by mail, enqueued in the same transaction as the change. Wrong
   * current passwords count against the login limits, so a hijacked session cannot be used to guess
   * the password.
   */
  async changePassword(change: PasswordChange): Promise<void> {
    const user = await this.database.users.findById(change.userId);
    if (!user) {
      throw new InvalidCredentialsError();
    }
    await this.limiter.take(user.email, change.ip);
    if (
      !(await this.passwords.verify(user.passwordHash, change.currentPassword, 'account-change'))
    ) {
      throw new ValidationFailedError([
        { field: 'currentPassword', messages: ['currentPassword is incorrect'] },
      ]);
    }
    await this.limiter.succeeded(user.email, change.ip);
    this.assertAcceptablePassword('newPassword', change.newPassword, user.email);
    const passwordHash = await this.passwords.hash(change.newPassword);
    await this.database.transaction(async (repositories) => {
      const at = this.clock.now();
      const by = `user:${user.id}`;
      await repositories.users.updatePasswordHash(user.id, passwordHash);
      // A reset link sent before the change would undo it: the change voids it.
      await repositories.passwordResets.deleteForUser(user.id);
      const revoked = await this.revocations.revokeAllForUser(
        repositories,
        user.id,
        { at, reason: 'password_changed', by },
        change.sessionId,
      );
      await this.audit.record(repositories, {
        actor: by,
        action: 'user.password_changed',
        subject: by,
        ip: change.ip,
        details: { sessionId: change.sessionId, revokedSessionIds: revoked },
      });
      if (this.config.mail.notifyPasswordChanged) {
        await this.mail.enqueue(repositories, {
          template: 'password-changed',
          to: user.email,
          params: { changedAt: at.toISOString() },
        });
      }
    });
  }

  /**
   * `npm run admin:create`: creates an operator, or promotes an existing account — only if the
   * password proves it is the same person (otherwise whoever registered the address would gain admin).
   */
  async createOperator(email: string, password: string): Promise<{ user: User; created: boolean }> {
    const normalized = normalizeEmail(email);
    this.assertAcceptablePassword('password', password, normalized);
    const passwordHash = await this.passwords.hash(password);
    return this.database.transaction(async (repositories) => {
      const created = await repositories.users.createUnlessEmailTaken({
        email: normalized,
        passwordHash,
        roles: [ADMIN_ROLE],
      });
      const operator =
        created ?? (await this.existingAccountOf(repositories, normalized, password));
      await repositories.users.addRole(operator.id, ADMIN_ROLE);
      await this.audit.record(repositories, {
        actor: 'system:admin-create',
        action: 'admin.operator_created',
        subject: `user:${operator.id}`,
        details: { created: created !== null },
      });
      return { user: operator, created: created !== null };
    });
  }

  /**
   * Makes sure an operator exists: when no user has the admin role, the given account gets it (created
   * if needed). Serialised across processes, so apps starting together bootstrap once.
   * Returns the operator it created or promoted, or null when an admin already existed.
   */
  async ensureBootstrapOperator(email: string, password: string): Promise<User | null> {
    const normalized = normalizeEmail(email);
    const passwordHash = await this.passwords.hash(password);
    return this.database.exclusively('gatehouse:bootstrap-operator', async (repositories) => {
      if (await repositories.users.existsWithRole(ADMIN_ROLE)) {
        return null;
      }
      const operator =
        (await repositories.users.createUnlessEmailTaken({
          email: normalized,
          passwordHash,
          roles: [ADMIN_ROLE],
        })) ?? (await this.existingAccountOf(repositories, normalized, password));
      await repositories.users.addRole(operator.id, ADMIN_ROLE);
      await this.audit.record(repositories, {
        actor: 'system',
        action: 'operator.bootstrapped',
        subject: `user:${operator.id}`,
      });
      return operator;
    });
  }

  /**
   * An account registered under ADMIN_EMAIL before the operator was bootstrapped is promoted only if it
   * knows ADMIN_PASSWORD: otherwise whoever registered that address first would become an admin.
   */
  private async existingAccountOf(
    repositories: Repositories,
    email: string,
    password: string,
  ): Promise<User> {
    const existing = await repositories.users.findByEmail(email);
    if (
      !existing ||
      !(await this.passwords.verify(existing.passwordHash, password, 'account-change'))
    ) {
      throw new BootstrapOperatorConflictError();
    }
    return existing;
  }

  private assertAcceptablePassword(field: string, password: string, email: string): void {
    const problems = passwordProblems(password, [email]);
    if (problems.length > 0) {
      throw new ValidationFailedError([{ field, messages: problems }]);
    }
  }
}
