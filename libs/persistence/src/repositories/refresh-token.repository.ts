import type { EntityManager } from 'typeorm';

import { named, select, updateReturning } from './returning.js';

export interface NewRefreshToken {
  readonly sessionId: string;
  readonly tokenHash: Buffer;
  readonly parentId: string | null;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

/** A refresh token with what deciding about it needs: its session, client and user state. */
export interface RefreshTokenState {
  readonly id: string;
  readonly sessionId: string;
  readonly parentId: string | null;
  readonly usedAt: Date | null;
  /** The address of the request that rotated it; null while unused (or used before it was kept). */
  readonly usedIp: string | null;
  readonly expiresAt: Date;
  readonly successorCiphertext: Buffer | null;
  readonly clientId: string | null;
  readonly scope: string | null;
  readonly userId: string;
  readonly userRoles: string[];
  readonly userDisabledAt: Date | null;
  readonly sessionRevokedAt: Date | null;
  readonly sessionAbsoluteExpiresAt: Date;
  readonly sessionCreatedAt: Date;
  readonly createdAt: Date;
}

export interface RefreshRotation {
  /** The presented (parent) token. */
  readonly id: string;
  readonly usedAt: Date;
  /** The rotating request's address. */
  readonly usedIp: string | null;
  /** The successor token, sealed for the grace window. */
  readonly successorCiphertext: Buffer;
  readonly successorTokenHash: Buffer;
  /** Also the session's new idle expiry. */
  readonly successorExpiresAt: Date;
}

// Every refresh grant runs these two: prepared once per connection.
const FIND_BY_TOKEN_HASH = named(
  'find_refresh_token',
  `SELECT rt.id, rt.session_id AS "sessionId", rt.parent_id AS "parentId",
         rt.used_at AS "usedAt", host(rt.used_ip) AS "usedIp", rt.expires_at AS "expiresAt",
         rt.successor_ciphertext AS "successorCiphertext", s.client_id AS "clientId", s.scope,
         s.user_id AS "userId", u.roles AS "userRoles", u.disabled_at AS "userDisabledAt",
         s.revoked_at AS "sessionRevokedAt", s.absolute_expires_at AS "sessionAbsoluteExpiresAt",
         s.created_at AS "sessionCreatedAt", rt.created_at AS "createdAt"
       FROM refresh_tokens rt
       JOIN sessions s ON s.id = rt.session_id
       JOIN users u ON u.id = s.user_id
       WHERE rt.token_hash = $1`,
);
const ROTATE = named(
  'rotate_refresh_token',
  `WITH used AS (
         UPDATE refresh_tokens SET used_at = $2, successor_ciphertext = $3, used_ip = $6
         WHERE id = $1 AND used_at IS NULL
         RETURNING id, session_id, parent_id
       ), successor AS (
         INSERT INTO refresh_tokens (session_id, token_hash, parent_id, created_at, expires_at)
         SELECT session_id, $4, id, $2, $5 FROM used
         RETURNING id
       ), erased AS (
         UPDATE refresh_tokens SET successor_ciphertext = NULL
         WHERE id = (SELECT parent_id FROM used)
       ), extended AS (
         UPDATE sessions SET last_seen_at = $2, idle_expires_at = $5
         WHERE id = (SELECT session_id FROM used)
       )
       SELECT id FROM successor`,
);

export class RefreshTokenRepository {
  constructor(private readonly manager: EntityManager) {}

  async insert(token: NewRefreshToken): Promise<string> {
    const rows: { id: string }[] = await this.manager.query(
      `INSERT INTO refresh_tokens (session_id, token_hash, parent_id, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5) RETURNING id`,
      [token.sessionId, token.tokenHash, token.parentId, token.createdAt, token.expiresAt],
    );
    return rows[0]!.id;
  }

  async findByTokenHash(tokenHash: Buffer): Promise<RefreshTokenState | null> {
    const rows = await select<RefreshTokenState>(this.manager, FIND_BY_TOKEN_HASH, [tokenHash]);
    return rows[0] ?? null;
  }

  /**
   * One rotation as one statement (atomic on its own, one round trip): marks the presented token used
   * with its sealed successor and the rotating request's address — only if it was still unused, so
   * of concurrent rotations exactly one wins — inserts the successor, erases the grandparent's now
   * useless sealed copy of the presented token, and slides the session's expiry. False when another
   * rotation won.
   */
  async rotate(rotation: RefreshRotation): Promise<boolean> {
    const rows = await select<{ id: string }>(this.manager, ROTATE, [
      rotation.id,
      rotation.usedAt,
      rotation.successorCiphertext,
      rotation.successorTokenHash,
      rotation.successorExpiresAt,
      rotation.usedIp,
    ]);
    return rows.length > 0;
  }

  async findChild(parentId: string): Promise<{ id: string; usedAt: Date | null } | null> {
    const rows: { id: string; usedAt: Date | null }[] = await this.manager.query(
      `SELECT id, used_at AS "usedAt" FROM refresh_tokens WHERE parent_id = $1`,
      [parentId],
    );
    return rows[0] ?? null;
  }

  /** Erases every sealed successor whose grace window is over. */
  async eraseSuccessorsUsedBefore(before: Date): Promise<number> {
    const rows = await updateReturning(
      this.manager,
      `UPDATE refresh_tokens SET successor_ciphertext = NULL
       WHERE successor_ciphertext IS NOT NULL AND used_at < $1 RETURNING id`,
      [before],
    );
    return rows.length;
  }
}
