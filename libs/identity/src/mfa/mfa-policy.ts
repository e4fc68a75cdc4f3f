import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';

import { MfaEnrolmentRequiredError, MfaSignInRequiredError } from '../identity.errors.js';
import { ACR_MFA, satisfiesAcrValues } from './assurance.js';
import { MfaService } from './mfa.service.js';

/** Who is calling, as far as the policy needs to know. */
export interface MfaPolicySubject {
  readonly userId: string;
  /** The user's current roles. */
  readonly roles: readonly string[];
  /** RFC 8176 methods of the sign-in behind the credential (the session's, the token's `amr`). */
  readonly amr: readonly string[];
}

/**
 * `MFA_REQUIRED_ROLES`: a user holding such a role uses admin-api only with a second factor. Without
 * one: 403 `MFA_ENROLMENT_REQUIRED` (enrol at auth-api `/me/mfa`). With one, but a session or token
 * signed in without it (a password alone, or before the enrolment): 401
 * `INSUFFICIENT_USER_AUTHENTICATION` with RFC 9470's challenge naming `urn:gatehouse:acr:mfa`; a new
 * sign-in asks for the factor. Costs nothing when no role is listed or the caller holds none of them;
 * otherwise one indexed query (`hasConfirmed`).
 */
@Injectable()
export class MfaPolicy {
  private readonly requiredRoles: ReadonlySet<string>;

  constructor(
    @InjectConfig() config: GatehouseConfig,
    private readonly mfa: MfaService,
  ) {
    this.requiredRoles = new Set(config.mfa.requiredRoles);
  }

  /** Whether the policy applies to a caller with these roles. */
  applies(roles: readonly string[]): boolean {
    return this.requiredRoles.size > 0 && roles.some((role) => this.requiredRoles.has(role));
  }

  /** Passes, or throws `MfaEnrolmentRequiredError` / `MfaSignInRequiredError`. */
  async check(subject: MfaPolicySubject): Promise<void> {
    if (!this.applies(subject.roles)) {
      return;
    }
    if (!(await this.mfa.isEnrolled(subject.userId))) {
      throw new MfaEnrolmentRequiredError();
    }
    if (!satisfiesAcrValues(subject.amr, [ACR_MFA])) {
      throw new MfaSignInRequiredError(ACR_MFA);
    }
  }
}
