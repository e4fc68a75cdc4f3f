import type { EntityManager } from 'typeorm';

import type { EmailVerificationPurpose } from '../entities/email-verification.entity.js';
import { updateReturning } from './returning.js';

export interface NewEmailVerification {
  readonly userId: string;
  readonly purpose: EmailVerificationPurpose;
  readonly email: string;
  readonly tokenHash: Buffer;
  readonly cancelTokenHash?: Buffer | null;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

/** A link that was spent (or cancelled) just now: whose, and for which address. */
export interface SpentEmailVerification {
  readonly id: string;
  readonly userId: string;
  readonly email: string;
}

const SPENT = `id, user_id AS "userId", email`;
const PENDING = `used_at IS NULL AND voided_at IS NULL`;

export class EmailVerificationRepository {
  constructor(private readonly manager: EntityManager) {}

  /** Issues a link; every pending link of the same user and purpose becomes void (superseded). */
  async issue(link: NewEmailVerification): Promise<void> {
    await this.voidPending(link.userId, link.purpose, link.createdAt);
    await this.manager.query(
      `INSERT INTO email_verifications
         (user_id, purpose, email, token_hash, cancel_token_hash, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        link.userId,
        link.purpose,
        link.email,
        link.tokenHash,
        link.cancelTokenHash ?? null,
        link.createdAt,
        link.expiresAt,
      ],
    );
  }

  async voidPending(userId: string, purpose: EmailVerificationPurpose, at: Date): Promise<void> {
    await this.manager.query(
      `UPDATE email_verifications SET voided_at = $3
       WHERE user_id = $1 AND purpose = $2 AND ${PENDING}`,
      [userId, purpose, at],
    );
  }

  /** When each link of the user issued after `since` was issued, oldest first. */
  async issuedSince(userId: string, since: Date): Promise<Date[]> {
    const rows: { createdAt: Date }[] = await this.manager.query(
      `SELECT created_at AS "createdAt" FROM email_verifications
       WHERE user_id = $1 AND created_at > $2 ORDER BY created_at`,
      [userId, since],
    );
    return rows.map((row) => row.createdAt);
  }

  /**
   * Spends a pending, unexpired link by compare-and-set: of two concurrent uses one wins. Null when
   * the token is unknown, of another purpose, used, void or expired.
   */
  async spend(
    tokenHash: Buffer,
    purpose: EmailVerificationPurpose,
    at: Date,
  ): Promise<SpentEmailVerification | null> {
    const rows = await updateReturning<SpentEmailVerification>(
      this.manager,
      `UPDATE email_verifications SET used_at = $3
       WHERE token_hash = $1 AND purpose = $2 AND ${PENDING} AND expires_at > $3
       RETURNING ${SPENT}`,
      [tokenHash, purpose, at],
    );
    return rows[0] ?? null;
  }

  /** Voids the pending email change whose cancel link this is; null when there is none. */
  async cancel(cancelTokenHash: Buffer, at: Date): Promise<SpentEmailVerification | null> {
    const rows = await updateReturning<SpentEmailVerification>(
      this.manager,
      `UPDATE email_verifications SET voided_at = $2
       WHERE cancel_token_hash = $1 AND purpose = 'change' AND ${PENDING} AND expires_at > $2
       RETURNING ${SPENT}`,
      [cancelTokenHash, at],
    );
    return rows[0] ?? null;
  }
}
