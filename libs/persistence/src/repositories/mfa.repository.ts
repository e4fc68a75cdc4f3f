import type { EntityManager } from 'typeorm';

import type { MfaFactorKind } from '../entities/mfa-factor.entity.js';
import { select, updateReturning } from './returning.js';

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

const FACTOR = `f.id, f.user_id AS "userId", f.kind, f.secret_sealed AS "secretSealed",
  f.created_at AS "createdAt", f.confirmed_at AS "confirmedAt", f.last_used_at AS "lastUsedAt"`;

/** Factors, recovery codes and pending second steps of users (all of `mfa_*`). */
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

  async hasConfirmed(userId: string): Promise<boolean> {
    const rows = await select<{ one: number }>(
      this.manager,
      `SELECT 1 AS one FROM mfa_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL LIMIT 1`,
      [userId],
    );
    return rows.length > 0;
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
  ): Promise<void> {
    await this.manager.query('DELETE FROM mfa_challenges WHERE user_id = $1 AND expires_at <= $2', [
      userId,
      createdAt,
    ]);
    await this.manager.query(
      `INSERT INTO mfa_challenges (token_hash, user_id, created_at, expires_at)
       VALUES ($1, $2, $3, $4)`,
      [tokenHash, userId, createdAt, expiresAt],
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

  /** Deletes a live second step: of concurrent completions exactly one gets the user. */
  async spendChallenge(tokenHash: Buffer, now: Date): Promise<string | null> {
    const rows = await updateReturning<{ userId: string }>(
      this.manager,
      `DELETE FROM mfa_challenges WHERE token_hash = $1 AND expires_at > $2
       RETURNING user_id AS "userId"`,
      [tokenHash, now],
    );
    return rows[0]?.userId ?? null;
  }
}
