import { createHash, randomBytes, randomUUID } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import {
  Database,
  type MfaFactorKind,
  type MfaFactorRow,
  type Repositories,
  type User,
} from '@gatehouse/persistence';

import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../clock.js';
import {
  MfaCodeInvalidError,
  MfaFactorNotFoundError,
  MfaTokenInvalidError,
  PasskeyInvalidError,
  ReauthenticationFailedError,
} from '../identity.errors.js';
import { MailService } from '../mail/mail.service.js';
import { LoginLimiter } from '../rate-limits/login-limiter.js';
import { deriveKey, open, seal } from '../signing-keys/key-encryption.js';
import { PasswordHasher } from '../users/password-hasher.js';
import { PasskeyCeremonies } from './passkey-ceremonies.js';
import { generateRecoveryCodes, hashRecoveryCode } from './recovery-codes.js';
import { base32Secret, generateTotpSecret, matchingStep, totpUri } from './totp.js';

/** The second step of a sign-in lives this long (the user opens the app and types a code). */
const CHALLENGE_TTL_SECONDS = 300;
/** An enrolment not confirmed within this time was never a factor. */
const UNCONFIRMED_TTL_SECONDS = 900;

/**
 * RFC 8176 authentication method references: `hwk`/`swk` a passkey (hardware-bound or synced key),
 * `user` its authenticator's user verification.
 */
export type AuthenticationMethod = 'pwd' | 'otp' | 'mfa' | 'hwk' | 'swk' | 'user' | 'fed';

/** A user who has proved who they are, and how (what a session records). */
export interface SignIn {
  readonly user: User;
  readonly amr: readonly AuthenticationMethod[];
  /** A federated sign-in (amr `fed`): the upstream provider it came through. */
  readonly identityProviderId?: string | null;
}

/** The second factor of a sign-in: a TOTP code, one of the recovery codes, or a passkey's assertion. */
export type SecondFactorProof =
  | { readonly code: string; readonly recoveryCode?: undefined; readonly assertion?: undefined }
  | { readonly recoveryCode: string; readonly code?: undefined; readonly assertion?: undefined }
  | {
      readonly assertion: AuthenticationResponseJSON;
      readonly code?: undefined;
      readonly recoveryCode?: undefined;
    };

/** The ways a user can complete the second step (`methods` of the `mfaRequired` answer). */
export type SecondFactorMethod = 'totp' | 'passkey' | 'recovery_code';

/** To remove a factor: the current password, or a current TOTP code. */
export type Reauthentication =
  | { readonly password: string; readonly code?: undefined }
  | { readonly code: string; readonly password?: undefined };

export interface TotpEnrolment {
  readonly id: string;
  /** Base32, shown once for manual entry. */
  readonly secret: string;
  readonly uri: string;
}

export interface FactorSummary {
  readonly id: string;
  readonly kind: MfaFactorKind | 'passkey';
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
  /** Passkeys only: the name the user gave it. */
  readonly name?: string;
  /** Passkeys only: whether the authenticator says the key is backed up (synced). */
  readonly backedUp?: boolean;
}

const PASSWORD_ONLY: readonly AuthenticationMethod[] = ['pwd'];

/** The second step's methods after a federated first step: `fed` in place of `pwd`. */
function afterFederation(amr: readonly AuthenticationMethod[]): readonly AuthenticationMethod[] {
  return amr.map((method) => (method === 'pwd' ? 'fed' : method));
}

function methodOf(proof: SecondFactorProof): SecondFactorMethod {
  if (proof.assertion !== undefined) {
    return 'passkey';
  }
  return proof.code !== undefined ? 'totp' : 'recovery_code';
}

function hashToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/**
 * TOTP factors (RFC 6238) and recovery codes: enrolment, and the second step every sign-in path goes
 * through once a user has a confirmed factor. Secrets are sealed under KEY_ENCRYPTION_KEY with the
 * factor id as additional data; a code is accepted once (the last accepted time step is stored);
 * wrong codes count against a per-user budget.
 */
@Injectable()
export class MfaService {
  private readonly secretsKey: Buffer;
  private readonly productName: string;

  constructor(
    @InjectConfig() config: GatehouseConfig,
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly limiter: LoginLimiter,
    private readonly audit: AuditService,
    private readonly mail: MailService,
    private readonly passwords: PasswordHasher,
    private readonly passkeys: PasskeyCeremonies,
  ) {
    if (!config.keys.encryptionKey) {
      throw new Error('KEY_ENCRYPTION_KEY is not set: TOTP secrets cannot be stored or read.');
    }
    this.secretsKey = deriveKey(config.keys.encryptionKey, 'mfa-secrets');
    this.productName = config.mail.productName;
  }

  /**
   * After a correct password: the methods of a user without a factor, or a single-use token for the
   * second step (only its SHA-256 is stored) when the user has a confirmed one. After a federated
   * sign-in the pending step records the provider: the completed sign-in's amr then starts with
   * `fed`, not `pwd`, and its session names the provider.
   */
  async afterPassword(
    user: User,
    identityProviderId: string | null = null,
  ): Promise<{
    readonly mfaToken: string;
    readonly methods: readonly SecondFactorMethod[];
  } | null> {
    const kinds = await this.database.mfa.confirmedKinds(user.id);
    if (kinds.length === 0) {
      return null;
    }
    const token = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    await this.database.mfa.createChallenge(
      hashToken(token),
      user.id,
      now,
      new Date(now.getTime() + CHALLENGE_TTL_SECONDS * 1000),
      identityProviderId,
    );
    const methods = (['totp', 'passkey'] as const).filter((kind) => kinds.includes(kind));
    return { mfaToken: token, methods: [...methods, 'recovery_code'] };
  }

  /** What completes this live second step (nothing for an unknown or expired token). */
  async methodsFor(mfaToken: string): Promise<readonly SecondFactorMethod[]> {
    const userId = await this.database.mfa.findChallenge(hashToken(mfaToken), this.clock.now());
    if (!userId) {
      return [];
    }
    const kinds = await this.database.mfa.confirmedKinds(userId);
    const methods = (['totp', 'passkey'] as const).filter((kind) => kinds.includes(kind));
    return [...methods, 'recovery_code'];
  }

  /** Options of a passkey ceremony for the second step of this live sign-in (the user's passkeys). */
  async passkeyOptions(mfaToken: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const userId = await this.database.mfa.findChallenge(hashToken(mfaToken), this.clock.now());
    const passkeys = userId ? await this.database.mfa.listPasskeys(userId) : [];
    if (!userId || passkeys.length === 0) {
      throw new MfaTokenInvalidError();
    }
    return this.passkeys.authenticationOptions('second_factor', userId, passkeys);
  }

  /** The methods of a password sign-in of a user without a factor. */
  passwordOnly(user: User): SignIn {
    return { user, amr: PASSWORD_ONLY };
  }

  /**
   * Completes the second step: the token is spent in the same transaction that accepts the code, so a
   * wrong code leaves it usable (until it expires) and a right one makes it useless.
   */
  async complete(mfaToken: string, proof: SecondFactorProof, ip: string | null): Promise<SignIn> {
    const tokenHash = hashToken(mfaToken);
    const userId = await this.database.mfa.findChallenge(tokenHash, this.clock.now());
    if (!userId) {
      throw new MfaTokenInvalidError();
    }
    await this.limiter.takeMfaAttempt(userId);
    const signIn = await this.database
      .transaction(async (repositories) => {
        const now = this.clock.now();
        const spent = await repositories.mfa.spendChallenge(tokenHash, now);
        if (spent?.userId !== userId) {
          throw new MfaTokenInvalidError();
        }
        const user = await repositories.users.findById(userId);
        if (!user || user.disabledAt) {
          throw new MfaTokenInvalidError();
        }
        const amr = await this.verifyProof(repositories, user, proof, now, ip);
        if (!amr) {
          throw new MfaCodeInvalidError();
        }
        const { identityProviderId } = spent;
        return identityProviderId === null
          ? { user, amr }
          : { user, amr: afterFederation(amr), identityProviderId };
      })
      .catch(async (error: unknown) => {
        if (error instanceof MfaCodeInvalidError || error instanceof PasskeyInvalidError) {
          await this.audit.record(this.database, {
            actor: 'anonymous',
            action: 'login.mfa_failed',
            subject: `user:${userId}`,
            ip,
            details: { method: methodOf(proof) },
          });
        }
        throw error;
      });
    await this.limiter.mfaSucceeded(userId);
    return signIn;
  }

  /** `POST /me/mfa/totp`: a new, unconfirmed factor; it counts once a code confirms it. */
  async enrolTotp(user: { readonly id: string; readonly email: string }): Promise<TotpEnrolment> {
    const id = randomUUID();
    const secret = generateTotpSecret();
    const now = this.clock.now();
    await this.database.transaction(async (repositories) => {
      await repositories.mfa.deleteUnconfirmedBefore(user.id, this.unconfirmedCutoff(now));
      await repositories.mfa.createFactor({
        id,
        userId: user.id,
        kind: 'totp',
        secretSealed: seal(this.secretsKey, secret, id),
        createdAt: now,
      });
    });
    return {
      id,
      secret: base32Secret(secret),
      uri: totpUri(this.productName, user.email, secret),
    };
  }

  /**
   * Confirms an enrolment with a code from the app. The first confirmed factor comes with ten
   * recovery codes (returned once); a later one keeps the existing set (empty answer).
   */
  async confirmTotp(
    userId: string,
    factorId: string,
    code: string,
    ip: string | null,
  ): Promise<string[]> {
    await this.limiter.takeMfaAttempt(userId);
    const codes = await this.database.transaction(async (repositories) => {
      const now = this.clock.now();
      const factor = await repositories.mfa.findFactor(
        userId,
        factorId,
        this.unconfirmedCutoff(now),
      );
      // A confirmed factor is not confirmed again (no second set of codes, no second audit event).
      if (!factor || factor.confirmedAt) {
        throw new MfaFactorNotFoundError();
      }
      const hadFactor = await repositories.mfa.hasConfirmed(userId);
      const step = matchingStep(this.openSecret(factor), code, now);
      if (step === null || !(await repositories.mfa.acceptStep(factor.id, step, now, true))) {
        throw new MfaCodeInvalidError(400);
      }
      const recoveryCodes = hadFactor ? [] : await this.replaceCodes(repositories, userId, now);
      await this.audit.record(repositories, {
        actor: `user:${userId}`,
        action: 'mfa.totp_enrolled',
        subject: `user:${userId}`,
        ip,
        details: { factorId: factor.id },
      });
      return recoveryCodes;
    });
    await this.limiter.mfaSucceeded(userId);
    return codes;
  }

  /** TOTP factors, then passkeys, each oldest first. */
  async list(userId: string): Promise<FactorSummary[]> {
    const factors = await this.database.mfa.listConfirmed(userId);
    const passkeys = await this.database.mfa.listPasskeys(userId);
    return [
      ...factors.map(({ id, kind, createdAt, lastUsedAt }) => ({
        id,
        kind,
        createdAt,
        lastUsedAt,
      })),
      ...passkeys.map(({ id, name, createdAt, lastUsedAt, backedUp }) => ({
        id,
        kind: 'passkey' as const,
        name,
        createdAt,
        lastUsedAt,
        backedUp,
      })),
    ];
  }

  /** Removes a factor; with the last one the recovery codes go too (they would be a lone factor). */
  async remove(
    userId: string,
    factorId: string,
    proof: Reauthentication,
    ip: string | null,
  ): Promise<void> {
    await this.reauthenticate(userId, proof);
    await this.database.transaction(async (repositories) => {
      const removed =
        (await repositories.mfa.deleteFactor(userId, factorId)) ||
        (await repositories.mfa.deletePasskey(userId, factorId));
      if (!removed) {
        throw new MfaFactorNotFoundError();
      }
      if (!(await repositories.mfa.hasConfirmed(userId))) {
        await repositories.mfa.deleteRecoveryCodes(userId);
      }
      await this.audit.record(repositories, {
        actor: `user:${userId}`,
        action: 'mfa.factor_removed',
        subject: `user:${userId}`,
        ip,
        details: { factorId },
      });
    });
  }

  /** A new set of ten codes; the old set stops working. Needs the password. */
  async regenerateRecoveryCodes(
    userId: string,
    password: string,
    ip: string | null,
  ): Promise<string[]> {
    await this.reauthenticate(userId, { password });
    return this.database.transaction(async (repositories) => {
      const now = this.clock.now();
      if (!(await repositories.mfa.hasConfirmed(userId))) {
        throw new MfaFactorNotFoundError();
      }
      const codes = await this.replaceCodes(repositories, userId, now);
      await this.audit.record(repositories, {
        actor: `user:${userId}`,
        action: 'mfa.recovery_codes_regenerated',
        subject: `user:${userId}`,
        ip,
        details: {},
      });
      return codes;
    });
  }

  /**
   * Whether the user has a second factor: whatever `hasConfirmed` counts. `MFA_REQUIRED_ROLES` is
   * judged by it (`MfaPolicy`).
   */
  isEnrolled(userId: string): Promise<boolean> {
    return this.database.mfa.hasConfirmed(userId);
  }

  /**
   * Removes every second factor of the user (TOTP factors and passkeys), with the recovery codes and
   * any pending second step or passkey ceremony, in the caller's transaction (an operator's reset). A
   * new kind of factor must be removed here too, so that a reset leaves none behind. Answers how many
   * factors and unused recovery codes there were.
   */
  resetFactors(
    repositories: Repositories,
    userId: string,
  ): Promise<{ readonly factors: number; readonly recoveryCodes: number }> {
    return repositories.mfa.deleteAllFactorsForUser(userId);
  }

  private async reauthenticate(userId: string, proof: Reauthentication): Promise<void> {
    await this.limiter.takeMfaAttempt(userId);
    const user = await this.database.users.findById(userId);
    let proven = false;
    if (user && proof.password !== undefined) {
      proven = await this.passwords.verify(user.passwordHash, proof.password, 'sign-in');
    } else if (user && proof.code !== undefined) {
      proven =
        (await this.acceptTotp(this.database, userId, proof.code, this.clock.now())) !== null;
    }
    if (!proven) {
      throw new ReauthenticationFailedError();
    }
    await this.limiter.mfaSucceeded(userId);
  }

  private async verifyProof(
    repositories: Repositories,
    user: User,
    proof: SecondFactorProof,
    now: Date,
    ip: string | null,
  ): Promise<readonly AuthenticationMethod[] | null> {
    if (proof.code !== undefined) {
      return this.acceptTotp(repositories, user.id, proof.code, now);
    }
    if (proof.assertion !== undefined) {
      const { passkey } = await this.passkeys.verifyAssertion(
        repositories,
        proof.assertion,
        'second_factor',
        user.id,
      );
      return ['pwd', passkey.deviceType === 'multiDevice' ? 'swk' : 'hwk', 'mfa'];
    }
    if (
      !(await repositories.mfa.useRecoveryCode(user.id, hashRecoveryCode(proof.recoveryCode), now))
    ) {
      return null;
    }
    const remaining = await repositories.mfa.countUnusedRecoveryCodes(user.id);
    await this.audit.record(repositories, {
      actor: `user:${user.id}`,
      action: 'mfa.recovery_code_used',
      subject: `user:${user.id}`,
      ip,
      details: { remaining },
    });
    await this.mail.enqueue(repositories, {
      template: 'recovery-code-used',
      to: user.email,
      params: { usedAt: now.toISOString(), remaining },
    });
    return ['pwd', 'mfa'];
  }

  /** The first confirmed factor whose code this is, its step recorded; null if none (or replayed). */
  private async acceptTotp(
    repositories: Repositories,
    userId: string,
    code: string,
    now: Date,
  ): Promise<readonly AuthenticationMethod[] | null> {
    const trimmed = code.replace(/\s/g, '');
    for (const factor of await repositories.mfa.listConfirmed(userId)) {
      const step = matchingStep(this.openSecret(factor), trimmed, now);
      if (step !== null && (await repositories.mfa.acceptStep(factor.id, step, now, false))) {
        return ['pwd', 'otp', 'mfa'];
      }
    }
    return null;
  }

  private async replaceCodes(
    repositories: Repositories,
    userId: string,
    now: Date,
  ): Promise<string[]> {
    const codes = generateRecoveryCodes();
    await repositories.mfa.replaceRecoveryCodes(userId, codes.map(hashRecoveryCode), now);
    return codes;
  }

  private openSecret(factor: MfaFactorRow): Buffer {
    return open(this.secretsKey, factor.secretSealed, factor.id);
  }

  private unconfirmedCutoff(now: Date): Date {
    return new Date(now.getTime() - UNCONFIRMED_TTL_SECONDS * 1000);
  }
}
