import type { EntityManager } from 'typeorm';

import type { MfaFactorKind } from '../entities/mfa-factor.entity.js';
import type { WebAuthnPurpose } from '../entities/webauthn-challenge.entity.js';
import type { PasskeyDeviceType } from '../entities/webauthn-credential.entity.js';
import { select, updateReturning } from './returning.js';

/** A second step just completed: whose, and after which first step (null: a password). */
export interface SpentMfaChallenge {
  readonly userId: string;
  readonly identityProviderId: string | null;
}

export interface NewMfaFactor {
  readonly id: string;
  readonly userId: string;
  readonly kind: MfaFactorKind;
  readonly secretSealed: Buffer;
  readonly createdAt: Date;
}

/** A factor as the rules see it: the sealed secret stays sealed until the service opens it. */
export interface MfaFactorRow {
  readonly id: string;
  readonly userId: string;
  readonly kind: MfaFactorKind;
  readonly secretSealed: Buffer;
  readonly createdAt: Date;
  readonly confirmedAt: Date | null;
  readonly lastUsedAt: Date | null;
}

export interface NewPasskey {
  readonly userId: string;
  readonly credentialId: Buffer;
  readonly publicKey: Buffer;
  readonly signCount: number;
  readonly transports: readonly string[];
  readonly deviceType: PasskeyDeviceType;
  readonly backedUp: boolean;
  readonly name: string;
  readonly createdAt: Date;
}

/** A passkey: its public key and the signature counter it last reported. */
export interface PasskeyRow {
  readonly id: string;
  readonly userId: string;
  readonly credentialId: Buffer;
  readonly publicKey: Buffer;
  readonly signCount: number;
  readonly transports: string[];
  readonly deviceType: PasskeyDeviceType;
  readonly backedUp: boolean;
  readonly name: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
}

const PASSKEY = `p.id, p.user_id AS "userId", p.credential_id AS "credentialId",
  p.public_key AS "publicKey", p.sign_count::float8 AS "signCount", p.transports,
  p.device_type AS "deviceType", p.backed_up AS "backedUp", p.name, p.created_at AS "createdAt",
  p.last_used_at AS "lastUsedAt"`;

const FACTOR = `f.id, f.user_id AS "userId", f.kind, f.secret_sealed AS "secretSealed",
  f.created_at AS "createdAt", f.confirmed_at AS "confirmedAt", f.last_used_at AS "lastUsedAt"`;

/**
 * Factors, recovery codes and pending second steps of users (all of `mfa_*`), and passkeys with their
 * pending ceremonies (`webauthn_*`).
 */
export class MfaRepository {
  constructor(private readonly manager: EntityManager) {}

  async createFactor(factor: NewMfaFactor): Promise<void> {
    await this.manager.query(
      `INSERT INTO mfa_factors (id, user_id, kind, secret_sealed, created_at)
       VALUES ($1, $2, $3, $4, $5)`,
      [factor.id, factor.userId, factor.kind, factor.secretSealed, factor.createdAt],
    );
  }

  /** A factor of this user: confirmed, or unconfirmed and created after `unconfirmedSince`. */
  async findFactor(
    userId: string,
    id: string,
    unconfirmedSince: Date,
  ): Promise<MfaFactorRow | null> {
    const rows = await select<MfaFactorRow>(
      this.manager,
      `SELECT ${FACTOR} FROM mfa_factors f
       WHERE f.id = $1 AND f.user_id = $2 AND (f.confirmed_at IS NOT NULL OR f.created_at > $3)`,
      [id, userId, unconfirmedSince],
    );
    return rows[0] ?? null;
  }

  listConfirmed(userId: string): Promise<MfaFactorRow[]> {
    return select<MfaFactorRow>(
      this.manager,
      `SELECT ${FACTOR} FROM mfa_factors f WHERE f.user_id = $1 AND f.confirmed_at IS NOT NULL
       ORDER BY f.created_at, f.id`,
      [userId],
    );
  }

  /** Whether the user has a second factor: a confirmed TOTP factor or a passkey. */
  async hasConfirmed(userId: string): Promise<boolean> {
    const rows = await select<{ one: number }>(
      this.manager,
      `SELECT 1 AS one FROM mfa_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL
       UNION ALL SELECT 1 FROM webauthn_credentials WHERE user_id = $1 LIMIT 1`,
      [userId],
    );
    return rows.length > 0;
  }

  /** Which kinds of factor the user has (`totp`, `passkey`), for the second step's `methods`. */
  async confirmedKinds(userId: string): Promise<string[]> {
    const rows = await select<{ kind: string }>(
      this.manager,
      `SELECT DISTINCT kind FROM mfa_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL
       UNION SELECT 'passkey' FROM webauthn_credentials WHERE user_id = $1`,
      [userId],
    );
    return rows.map((row) => row.kind).sort();
  }

  /** Inserts a passkey; null when its credential id is registered already (to anyone). */
  async createPasskey(passkey: NewPasskey): Promise<PasskeyRow | null> {
    const rows = await select<PasskeyRow>(
      this.manager,
      `WITH p AS (
         INSERT INTO webauthn_credentials (user_id, credential_id, public_key, sign_count, transports,
           device_type, backed_up, name, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (credential_id) DO NOTHING RETURNING *)
       SELECT ${PASSKEY} FROM p`,
      [
        passkey.userId,
        passkey.credentialId,
        passkey.publicKey,
        passkey.signCount,
        passkey.transports,
        passkey.deviceType,
        passkey.backedUp,
        passkey.name,
        passkey.createdAt,
      ],
    );
    return rows[0] ?? null;
  }

  listPasskeys(userId: string): Promise<PasskeyRow[]> {
    return select<PasskeyRow>(
      this.manager,
      `SELECT ${PASSKEY} FROM webauthn_credentials p WHERE p.user_id = $1 ORDER BY p.created_at, p.id`,
      [userId],
    );
  }

  async findPasskeyByCredentialId(credentialId: Buffer): Promise<PasskeyRow | null> {
    const rows = await select<PasskeyRow>(
      this.manager,
      `SELECT ${PASSKEY} FROM webauthn_credentials p WHERE p.credential_id = $1`,
      [credentialId],
    );
    return rows[0] ?? null;
  }

  async renamePasskey(userId: string, id: string, name: string): Promise<PasskeyRow | null> {
    const rows = await updateReturning<PasskeyRow>(
      this.manager,
      `UPDATE webauthn_credentials p SET name = $3 WHERE p.id = $1 AND p.user_id = $2
       RETURNING ${PASSKEY}`,
      [id, userId, name],
    );
    return rows[0] ?? null;
  }

  async deletePasskey(userId: string, id: string): Promise<boolean> {
    const rows = await updateReturning<{ id: string }>(
      this.manager,
      'DELETE FROM webauthn_credentials WHERE id = $1 AND user_id = $2 RETURNING id',
      [id, userId],
    );
    return rows.length > 0;
  }

  /**
   * Records a use: the new counter only if it moved on from the one `previous` was read with (or both
   * are 0: authenticators without a counter), so of two concurrent uses of one assertion, or a cloned
   * authenticator racing the original, at most one gets `true`.
   */
  async recordPasskeyUse(
    id: string,
    previous: number,
    signCount: number,
    backedUp: boolean,
    now: Date,
  ): Promise<boolean> {
    const rows = await updateReturning<{ id: string }>(
      this.manager,
      `UPDATE webauthn_credentials SET sign_count = $3, backed_up = $4, last_used_at = $5
       WHERE id = $1 AND sign_count = $2 AND ($3 > $2 OR ($3 = 0 AND $2 = 0)) RETURNING id`,
      [id, previous, signCount, backedUp, now],
    );
    return rows.length > 0;
  }

  /** A WebAuthn ceremony begins; expired ones (anyone's) are swept on the way. */
  async createWebAuthnChallenge(
    challengeHash: Buffer,
    purpose: WebAuthnPurpose,
    userId: string | null,
    createdAt: Date,
    expiresAt: Date,
  ): Promise<void> {
    await this.manager.query('DELETE FROM webauthn_challenges WHERE expires_at <= $1', [createdAt]);
    await this.manager.query(
      `INSERT INTO webauthn_challenges (challenge_hash, purpose, user_id, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5)`,
      [challengeHash, purpose, userId, createdAt, expiresAt],
    );
  }

  /**
   * Deletes a live challenge of this purpose: of concurrent uses exactly one finds it. Answers whether
   * it was there and the user it was bound to (null for a passwordless sign-in's).
   */
  async spendWebAuthnChallenge(
    challengeHash: Buffer,
    purpose: WebAuthnPurpose,
    now: Date,
  ): Promise<{ readonly userId: string | null } | null> {
    const rows = await updateReturning<{ userId: string | null }>(
      this.manager,
      `DELETE FROM webauthn_challenges WHERE challenge_hash = $1 AND purpose = $2 AND expires_at > $3
       RETURNING user_id AS "userId"`,
      [challengeHash, purpose, now],
    );
    return rows[0] ?? null;
  }

  /**
   * Records that `step` was accepted, only if it is later than the last accepted one: of two
   * requests with the same code exactly one gets `true` (RFC 6238 §5.2, no replay).
   */
  async acceptStep(id: string, step: number, now: Date, confirm: boolean): Promise<boolean> {
    const rows = await updateReturning<{ id: string }>(
      this.manager,
      `UPDATE mfa_factors SET last_used_step = $2, last_used_at = $3,
         confirmed_at = CASE WHEN $4::boolean THEN COALESCE(confirmed_at, $3) ELSE confirmed_at END
       WHERE id = $1 AND (last_used_step IS NULL OR last_used_step < $2) RETURNING id`,
      [id, step, now, confirm],
    );
    return rows.length > 0;
  }

  async deleteFactor(userId: string, id: string): Promise<boolean> {
    const rows = await updateReturning<{ id: string }>(
      this.manager,
      'DELETE FROM mfa_factors WHERE id = $1 AND user_id = $2 RETURNING id',
      [id, userId],
    );
    return rows.length > 0;
  }

  /** Enrolments never confirmed in time: they were never a factor. */
  async deleteUnconfirmedBefore(userId: string, cutoff: Date): Promise<void> {
    await this.manager.query(
      'DELETE FROM mfa_factors WHERE user_id = $1 AND confirmed_at IS NULL AND created_at <= $2',
      [userId, cutoff],
    );
  }

  /** A new set of recovery codes; the previous set is void. */
  async replaceRecoveryCodes(userId: string, hashes: readonly Buffer[], now: Date): Promise<void> {
    await this.deleteRecoveryCodes(userId);
    await this.manager.query(
      `INSERT INTO mfa_recovery_codes (user_id, code_hash, created_at)
       SELECT $1, hash, $3 FROM unnest($2::bytea[]) AS hash`,
      [userId, hashes, now],
    );
  }

  async countUnusedRecoveryCodes(userId: string): Promise<number> {
    const rows = await select<{ count: number }>(
      this.manager,
      'SELECT count(*)::int AS count FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL',
      [userId],
    );
    return rows[0]?.count ?? 0;
  }

  async deleteRecoveryCodes(userId: string): Promise<void> {
    await this.manager.query('DELETE FROM mfa_recovery_codes WHERE user_id = $1', [userId]);
  }

  /** Spends an unused code: of concurrent uses of one code exactly one gets `true`. */
  async useRecoveryCode(userId: string, hash: Buffer, now: Date): Promise<boolean> {
    const rows = await updateReturning<{ id: string }>(
      this.manager,
      `UPDATE mfa_recovery_codes SET used_at = $3
       WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING id`,
      [userId, hash, now],
    );
    return rows.length > 0;
  }

  async createChallenge(
    tokenHash: Buffer,
    userId: string,
    createdAt: Date,
    expiresAt: Date,
    identityProviderId: string | null = null,
  ): Promise<void> {
    await this.manager.query('DELETE FROM mfa_challenges WHERE user_id = $1 AND expires_at <= $2', [
      userId,
      createdAt,
    ]);
    await this.manager.query(
      `INSERT INTO mfa_challenges (token_hash, user_id, created_at, expires_at, identity_provider_id)
       VALUES ($1, $2, $3, $4, $5)`,
      [tokenHash, userId, createdAt, expiresAt, identityProviderId],
    );
  }

  /** The user a live second step belongs to. */
  async findChallenge(tokenHash: Buffer, now: Date): Promise<string | null> {
    const rows = await select<{ userId: string }>(
      this.manager,
      `SELECT user_id AS "userId" FROM mfa_challenges WHERE token_hash = $1 AND expires_at > $2`,
      [tokenHash, now],
    );
    return rows[0]?.userId ?? null;
  }

  /**
   * Deletes a live second step: of concurrent completions exactly one gets the user (and the provider
   * of a federated first step).
   */
  async spendChallenge(tokenHash: Buffer, now: Date): Promise<SpentMfaChallenge | null> {
    const rows = await updateReturning<SpentMfaChallenge>(
      this.manager,
      `DELETE FROM mfa_challenges WHERE token_hash = $1 AND expires_at > $2
       RETURNING user_id AS "userId", identity_provider_id AS "identityProviderId"`,
      [tokenHash, now],
    );
    return rows[0] ?? null;
  }

  /**
   * Every second factor of the user (TOTP factors, confirmed or not, and passkeys), the recovery codes,
   * pending second steps and passkey ceremonies, in one statement; answers how many factors (confirmed
   * TOTP factors and passkeys) and unused recovery codes there were.
   */
  async deleteAllFactorsForUser(
    userId: string,
  ): Promise<{ readonly factors: number; readonly recoveryCodes: number }> {
    const rows = await select<{ factors: number; recoveryCodes: number }>(
      this.manager,
      `WITH totp AS (
         DELETE FROM mfa_factors WHERE user_id = $1 RETURNING confirmed_at),
       passkeys AS (
         DELETE FROM webauthn_credentials WHERE user_id = $1 RETURNING 1),
       codes AS (
         DELETE FROM mfa_recovery_codes WHERE user_id = $1 RETURNING used_at),
       challenges AS (
         DELETE FROM mfa_challenges WHERE user_id = $1 RETURNING 1),
       ceremonies AS (
         DELETE FROM webauthn_challenges WHERE user_id = $1 RETURNING 1)
       SELECT (SELECT count(*)::int FROM totp WHERE confirmed_at IS NOT NULL)
           + (SELECT count(*)::int FROM passkeys) AS factors,
         (SELECT count(*)::int FROM codes WHERE used_at IS NULL) AS "recoveryCodes",
         (SELECT count(*)::int FROM challenges) + (SELECT count(*)::int FROM ceremonies) AS pending`,
      [userId],
    );
    return { factors: rows[0]?.factors ?? 0, recoveryCodes: rows[0]?.recoveryCodes ?? 0 };
  }
}
