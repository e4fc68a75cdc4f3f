import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { Database, type User } from '@gatehouse/persistence';

import { AuditService } from '../audit/audit.service.js';
import {
  EmailNotVerifiedError,
  InvalidCredentialsError,
  ServiceBusyError,
} from '../identity.errors.js';
import { MfaService, type SecondFactorMethod, type SignIn } from '../mfa/mfa.service.js';
import { LoginLimiter } from '../rate-limits/login-limiter.js';
import { normalizeEmail } from './email.js';
import { PasswordHasher } from './password-hasher.js';

export interface PasswordAttempt {
  readonly email: string;
  readonly password: string;
  readonly ip: string | null;
}

/**
 * A correct password: a sign-in for a user without a second factor, else the token of the second
 * step. Every caller must handle both, so a password alone never starts the session of a user with a
 * confirmed factor.
 */
export type PasswordOutcome =
  | { readonly status: 'signed-in'; readonly signIn: SignIn }
  | {
      readonly status: 'mfa-required';
      readonly mfaToken: string;
      readonly methods: readonly SecondFactorMethod[];
    };

type FailureReason = 'unknown_email' | 'wrong_password' | 'user_disabled';

/**
 * The one password check of every login (cookie login now, the password grant later). Unknown email,
 * wrong password and disabled account cost the same work (a dummy hash is verified when there is no
 * account) and end in the same error, so neither the body nor the timing tells whether an account exists.
 */
@Injectable()
export class PasswordAuthenticator {
  constructor(
    private readonly database: Database,
    private readonly passwords: PasswordHasher,
    private readonly limiter: LoginLimiter,
    private readonly audit: AuditService,
    @InjectConfig() private readonly config: GatehouseConfig,
    private readonly mfa: MfaService,
  ) {}

  async authenticate(attempt: PasswordAttempt): Promise<PasswordOutcome> {
    const user = await this.checkPassword(attempt);
    const challenge = await this.mfa.afterPassword(user);
    return challenge
      ? { status: 'mfa-required', mfaToken: challenge.mfaToken, methods: challenge.methods }
      : { status: 'signed-in', signIn: this.mfa.passwordOnly(user) };
  }

  private async checkPassword({ email, password, ip }: PasswordAttempt): Promise<User> {
    const normalized = normalizeEmail(email);
    await this.limiter.take(normalized, ip);
    const user = await this.database.users.findByEmail(normalized);
    const matches = await this.passwords
      .verify(user?.passwordHash ?? null, password, 'sign-in')
      .catch(async (error: unknown) => {
        // Refused before any hashing: a busy server must not lock the account out.
        if (error instanceof ServiceBusyError) {
          await this.limiter.notAttempted(normalized, ip);
        }
        throw error;
      });
    const failure = this.failureOf(user, matches);
    if (failure || !user) {
      await this.audit.record(this.database, {
        actor: 'anonymous',
        action: 'login.failed',
        subject: user ? `user:${user.id}` : null,
        ip,
        details: { email: normalized, reason: failure ?? 'unknown_email' },
      });
      throw new InvalidCredentialsError();
    }
    await this.limiter.succeeded(normalized, ip);
    // REQUIRE_VERIFIED_EMAIL: said only after the right password, so it reveals no account.
    if (this.config.emailVerification.required && !user.emailVerifiedAt) {
      await this.audit.record(this.database, {
        actor: 'anonymous',
        action: 'login.failed',
        subject: `user:${user.id}`,
        ip,
        details: { email: normalized, reason: 'email_not_verified' },
      });
      throw new EmailNotVerifiedError(user.id);
    }
    return user;
  }

  private failureOf(user: User | null, matches: boolean): FailureReason | null {
    if (!user) {
      return 'unknown_email';
    }
    if (!matches) {
      return 'wrong_password';
    }
    return user.disabledAt ? 'user_disabled' : null;
  }
}
