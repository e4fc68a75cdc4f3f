import { Injectable } from '@nestjs/common';
import { Database } from '@gatehouse/persistence';

import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../clock.js';
import { OwnFactorsResetError, UserNotFoundError } from '../identity.errors.js';
import { MailService } from '../mail/mail.service.js';
import { RevocationService } from '../revocations/revocation.service.js';
import type { ClientContext } from '../sessions/session.service.js';
import { type FactorSummary, MfaService } from './mfa.service.js';

/** What an operator sees of a user's second factors (`GET /admin/users/:id/mfa`): no secrets. */
export interface UserFactors {
  readonly factors: readonly FactorSummary[];
  /** Unused recovery codes left. */
  readonly recoveryCodesRemaining: number;
}

/** What an operator's reset did (`DELETE /admin/users/:id/mfa`). */
export interface OperatorFactorReset {
  /** Factors removed: confirmed TOTP factors and passkeys (an unconfirmed enrolment goes too, uncounted). */
  readonly factorsRemoved: number;
  /** Unused recovery codes removed. */
  readonly recoveryCodesRemoved: number;
  readonly revokedSessionIds: readonly string[];
  /** The notice mailed to the user (listed at `GET /admin/mail`). */
  readonly mailId: string;
}

/** Operators' view of users' second factors (admin-api); each change is audited with the operator. */
@Injectable()
export class MfaAdministrationService {
  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly mfa: MfaService,
    private readonly revocations: RevocationService,
    private readonly audit: AuditService,
    private readonly mail: MailService,
  ) {}

  /** The user's factors and how many recovery codes are left; 404 for no such user. */
  async list(userId: string): Promise<UserFactors> {
    if (!(await this.database.users.findById(userId))) {
      throw new UserNotFoundError();
    }
    const [factors, recoveryCodesRemaining] = await Promise.all([
      this.mfa.list(userId),
      this.database.mfa.countUnusedRecoveryCodes(userId),
    ]);
    return { factors, recoveryCodesRemaining };
  }

  /**
   * For a user who lost their factors: every factor and recovery code goes (`MfaService.resetFactors`),
   * every session ends through the revocation feed (sibling apps drop them too), the reset is audited
   * as `mfa.reset_by_operator` with the operator and the user is mailed, all in one transaction. The
   * user then signs in with the password alone. An operator's own factors are managed at `/me/mfa`,
   * which asks for the password or a code: 403 `MFA_RESET_OWN_FACTORS` here.
   */
  async reset(
    userId: string,
    operatorId: string,
    context: ClientContext,
  ): Promise<OperatorFactorReset> {
    if (userId === operatorId) {
      throw new OwnFactorsResetError();
    }
    return this.database.transaction(async (repositories) => {
      const user = await repositories.users.findById(userId);
      if (!user) {
        throw new UserNotFoundError();
      }
      const at = this.clock.now();
      const removed = await this.mfa.resetFactors(repositories, userId);
      const revokedSessionIds = await this.revocations.revokeAllForUser(repositories, userId, {
        at,
        reason: 'mfa_reset',
        by: `user:${operatorId}`,
      });
      await this.audit.record(repositories, {
        actor: `user:${operatorId}`,
        action: 'mfa.reset_by_operator',
        subject: `user:${userId}`,
        ip: context.ip,
        details: {
          factorsRemoved: removed.factors,
          recoveryCodesRemoved: removed.recoveryCodes,
          revokedSessionIds,
        },
      });
      const mailId = await this.mail.enqueue(repositories, {
        template: 'mfa-reset',
        to: user.email,
        params: { resetAt: at.toISOString() },
      });
      return {
        factorsRemoved: removed.factors,
        recoveryCodesRemoved: removed.recoveryCodes,
        revokedSessionIds,
        mailId,
      };
    });
  }
}
