import type { EntityManager } from 'typeorm';

import type { SigningKey, SigningKeyStatus } from '../entities/signing-key.entity.js';
import { updateReturning } from './returning.js';

export interface NewSigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly publicJwk: Record<string, unknown>;
  readonly privateKeyEncrypted: Buffer;
  readonly status: SigningKeyStatus;
  readonly createdAt: Date;
  readonly activatedAt: Date | null;
}

const COLUMNS = `kid, alg, public_jwk AS "publicJwk", private_key_encrypted AS "privateKeyEncrypted",
  status, created_at AS "createdAt", activated_at AS "activatedAt", retired_at AS "retiredAt"`;

export class SigningKeyRepository {
  constructor(private readonly manager: EntityManager) {}

  async insert(key: NewSigningKey): Promise<void> {
    await this.manager.query(
      `INSERT INTO signing_keys (kid, alg, public_jwk, private_key_encrypted, status, created_at,
         activated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        key.kid,
        key.alg,
        key.publicJwk,
        key.privateKeyEncrypted,
        key.status,
        key.createdAt,
        key.activatedAt,
      ],
    );
  }

  async findByStatus(status: 'next' | 'active'): Promise<SigningKey | null> {
    const rows: SigningKey[] = await this.manager.query(
      `SELECT ${COLUMNS} FROM signing_keys WHERE status = $1`,
      [status],
    );
    return rows[0] ?? null;
  }

  /** Every key, newest first (operators' view). */
  list(): Promise<SigningKey[]> {
    return this.manager.query(`SELECT ${COLUMNS} FROM signing_keys ORDER BY created_at DESC`);
  }

  /** The keys a verifier may meet: next, active, and retired after `retiredAfter`. */
  listPublished(retiredAfter: Date): Promise<SigningKey[]> {
    return this.manager.query(
      `SELECT ${COLUMNS} FROM signing_keys
       WHERE status IN ('next', 'active') OR retired_at > $1
       ORDER BY created_at DESC`,
      [retiredAfter],
    );
  }

  async retireActive(at: Date): Promise<string | null> {
    const rows = await updateReturning<{ kid: string }>(
      this.manager,
      `UPDATE signing_keys SET status = 'retired', retired_at = $1 WHERE status = 'active'
       RETURNING kid`,
      [at],
    );
    return rows[0]?.kid ?? null;
  }

  async activateNext(at: Date): Promise<string | null> {
    const rows = await updateReturning<{ kid: string }>(
      this.manager,
      `UPDATE signing_keys SET status = 'active', activated_at = $1 WHERE status = 'next'
       RETURNING kid`,
      [at],
    );
    return rows[0]?.kid ?? null;
  }
}
