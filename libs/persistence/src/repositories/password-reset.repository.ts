import type { EntityManager } from 'typeorm';

import { select, updateReturning } from './returning.js';

export interface NewPasswordReset {
  readonly userId: string;
  readonly tokenHash: Buffer;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

/** The account a live reset link opens. */
export interface PasswordResetTarget {
  readonly userId: string;
  readonly email: string;
}

/**
 * A link is live while it has not expired and its user is not disabled; spending or replacing it
 * deletes it, so a used or superseded token matches no row.
 */
const LIVE = `r.token_hash = $1 AND r.expires_at > $2 AND u.id = r.user_id AND u.disabled_at IS NULL`;

export class PasswordResetRepository {
  constructor(private readonly manager: EntityManager) {}

  /** The user's one live link: a newer request replaces the previous one. */
  async replace(reset: NewPasswordReset): Promise<void> {
    await this.manager.query(
      `INSERT INTO password_resets (user_id, token_hash, created_at, expires_at)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (user_id) DO UPDATE SET token_hash = EXCLUDED.token_hash,
         created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at`,
      [reset.userId, reset.tokenHash, reset.createdAt, reset.expiresAt],
    );
  }

  async findLive(tokenHash: Buffer, now: Date): Promise<PasswordResetTarget | null> {
    const rows = await select<PasswordResetTarget>(
      this.manager,
      `SELECT r.user_id AS "userId", u.email FROM password_resets r, users u WHERE ${LIVE}`,
      [tokenHash, now],
    );
    return rows[0] ?? null;
  }

  /**
   * Deletes the link if it is still live and answers whom it opened: of concurrent resets with one
   * token exactly one gets the account, the others null.
   */
  async spend(tokenHash: Buffer, now: Date): Promise<PasswordResetTarget | null> {
    const rows = await updateReturning<PasswordResetTarget>(
      this.manager,
      `DELETE FROM password_resets r USING users u WHERE ${LIVE}
       RETURNING r.user_id AS "userId", u.email`,
      [tokenHash, now],
    );
    return rows[0] ?? null;
  }

  /** The password changed: a link sent before no longer works. */
  async deleteForUser(userId: string): Promise<void> {
    await this.manager.query('DELETE FROM password_resets WHERE user_id = $1', [userId]);
  }
}
