import { Injectable } from '@nestjs/common';
import { Database, type PasskeyRow } from '@gatehouse/persistence';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';

import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../clock.js';
import { MfaFactorNotFoundError, PasskeyInvalidError } from '../identity.errors.js';
import { LoginLimiter } from '../rate-limits/login-limiter.js';
import { UserService } from '../users/user.service.js';
import type { AuthenticationMethod, SignIn } from './mfa.service.js';
import { PasskeyCeremonies } from './passkey-ceremonies.js';
import { generateRecoveryCodes, hashRecoveryCode } from './recovery-codes.js';

/** What `GET /me/mfa` shows of a passkey (never its key). */
export interface PasskeySummary {
  readonly id: string;
  readonly name: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
  readonly backedUp: boolean;
}

export interface RegisteredPasskey {
  readonly passkey: PasskeySummary;
  /** Ten codes when this is the user's first factor, else empty (the existing set stays). */
  readonly recoveryCodes: string[];
}

const DEFAULT_NAME = 'Passkey';

export function toPasskeySummary(passkey: PasskeyRow): PasskeySummary {
  const { id, name, createdAt, lastUsedAt, backedUp } = passkey;
  return { id, name, createdAt, lastUsedAt, backedUp };
}

/**
 * RFC 8176 methods of a passkey: `swk` for a synced passkey (the key leaves the device: a
 * software-secured key), `hwk` for one bound to its authenticator.
 */
export function passkeyMethod(passkey: PasskeyRow): AuthenticationMethod {
  return passkey.deviceType === 'multiDevice' ? 'swk' : 'hwk';
}

/**
 * Passkeys: adding one (a discoverable credential, which is also a second factor), renaming, and the
 * passwordless sign-in with one. A passwordless sign-in needs user verification: possession of the key
 * plus the authenticator's PIN or biometrics, so it is multi-factor (amr `hwk`|`swk`, `user`, `mfa`).
 */
@Injectable()
export class PasskeyService {
  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly ceremonies: PasskeyCeremonies,
    private readonly audit: AuditService,
    private readonly users: UserService,
    private readonly limiter: LoginLimiter,
  ) {}

  async registrationOptions(userId: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const user = await this.users.get(userId);
    return this.ceremonies.registrationOptions(user, await this.database.mfa.listPasskeys(userId));
  }

  /** Verifies and stores a new passkey; the first factor of the account brings recovery codes. */
  async register(
    userId: string,
    response: RegistrationResponseJSON,
    name: string | undefined,
    ip: string | null,
  ): Promise<RegisteredPasskey> {
    const verified = await this.ceremonies.verifyRegistration(userId, response);
    return this.database.transaction(async (repositories) => {
      const now = this.clock.now();
      const hadFactor = await repositories.mfa.hasConfirmed(userId);
      const passkey = await repositories.mfa.createPasskey({
        userId,
        ...verified,
        name: name?.trim() || DEFAULT_NAME,
        createdAt: now,
      });
      if (!passkey) {
        throw new PasskeyInvalidError(400);
      }
      let recoveryCodes: string[] = [];
      if (!hadFactor) {
        recoveryCodes = generateRecoveryCodes();
        await repositories.mfa.replaceRecoveryCodes(
          userId,
          recoveryCodes.map(hashRecoveryCode),
          now,
        );
      }
      await this.audit.record(repositories, {
        actor: `user:${userId}`,
        action: 'mfa.passkey_registered',
        subject: `user:${userId}`,
        ip,
        details: {
          factorId: passkey.id,
          deviceType: passkey.deviceType,
          backedUp: passkey.backedUp,
        },
      });
      return { passkey: toPasskeySummary(passkey), recoveryCodes };
    });
  }

  async rename(
    userId: string,
    id: string,
    name: string,
    ip: string | null,
  ): Promise<PasskeySummary> {
    return this.database.transaction(async (repositories) => {
      const passkey = await repositories.mfa.renamePasskey(userId, id, name.trim());
      if (!passkey) {
        throw new MfaFactorNotFoundError();
      }
      await this.audit.record(repositories, {
        actor: `user:${userId}`,
        action: 'mfa.passkey_renamed',
        subject: `user:${userId}`,
        ip,
        details: { factorId: id },
      });
      return toPasskeySummary(passkey);
    });
  }

  /**
   * Options of a passwordless sign-in: nobody is named, the authenticator offers its passkeys. Each
   * stores a challenge, so they count against the IP's budget (429 past it).
   */
  async signInOptions(ip: string | null): Promise<PublicKeyCredentialRequestOptionsJSON> {
    await this.limiter.takePasskeyCeremony(ip);
    return this.ceremonies.authenticationOptions('sign_in', null);
  }

  /**
   * A passwordless sign-in. Every refusal (unknown credential, bad signature, foreign origin, counter
   * gone backwards, disabled account) is the same PasskeyInvalidError; the reason is audited only.
   * Attempts count against the IP's budget of failed sign-ins, as password attempts do; a passkey
   * that verifies gives its point back.
   */
  async signIn(response: AuthenticationResponseJSON, ip: string | null): Promise<SignIn> {
    await this.limiter.takeForIp(ip);
    try {
      const signIn = await this.database.transaction(async (repositories) => {
        const { passkey } = await this.ceremonies.verifyAssertion(
          repositories,
          response,
          'sign_in',
          null,
        );
        const user = await repositories.users.findById(passkey.userId);
        if (!user || user.disabledAt) {
          throw new PasskeyInvalidError();
        }
        const amr: readonly AuthenticationMethod[] = [passkeyMethod(passkey), 'user', 'mfa'];
        return { user, amr };
      });
      await this.limiter.ipSucceeded(ip);
      return signIn;
    } catch (error) {
      if (error instanceof PasskeyInvalidError) {
        await this.audit.record(this.database, {
          actor: 'anonymous',
          action: 'login.passkey_failed',
          subject: null,
          ip,
          details: {},
        });
      }
      throw error;
    }
  }
}
