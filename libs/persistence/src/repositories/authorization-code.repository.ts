import type { EntityManager } from 'typeorm';

import { select, updateReturning } from './returning.js';

export interface NewAuthorizationCode {
  readonly codeHash: Buffer;
  readonly clientId: string;
  readonly userId: string;
  readonly redirectUri: string;
  readonly scope: string;
  readonly resources: readonly string[];
  readonly codeChallenge: string;
  readonly nonce: string | null;
  readonly authTime: Date;
  readonly amr: readonly string[] | null;
  /** The browser session whose sign-in approved it (the token session's parent). */
  readonly browserSessionId: string | null;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

/** A code as the token endpoint needs it, with the user's status. */
export interface AuthorizationCodeState {
  readonly id: string;
  readonly clientId: string;
  readonly userId: string;
  readonly userEmail: string;
  readonly userRoles: string[];
  readonly userDisabledAt: Date | null;
  readonly userEmailVerifiedAt: Date | null;
  readonly redirectUri: string;
  readonly scope: string;
  readonly resources: string[];
  readonly codeChallenge: string;
  readonly nonce: string | null;
  readonly authTime: Date;
  readonly amr: string[] | null;
  readonly expiresAt: Date;
  readonly usedAt: Date | null;
  readonly tokenSessionId: string | null;
  readonly browserSessionId: string | null;
  /** When the browser session that approved it ended (revoked); null while it lives. */
  readonly browserSessionEndedAt: Date | null;
}

export class AuthorizationCodeRepository {
  constructor(private readonly manager: EntityManager) {}

  async insert(code: NewAuthorizationCode): Promise<string> {
    const rows = await select<{ id: string }>(
      this.manager,
      `INSERT INTO authorization_codes (code_hash, client_id, user_id, redirect_uri, scope,
         code_challenge, nonce, auth_time, created_at, expires_at, resources, amr, browser_session_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
      [
        code.codeHash,
        code.clientId,
        code.userId,
        code.redirectUri,
        code.scope,
        code.codeChallenge,
        code.nonce,
        code.authTime,
        code.createdAt,
        code.expiresAt,
        code.resources,
        code.amr,
        code.browserSessionId,
      ],
    );
    return rows[0]!.id;
  }

  async findByCodeHash(codeHash: Buffer): Promise<AuthorizationCodeState | null> {
    const rows = await select<AuthorizationCodeState>(
      this.manager,
      `SELECT c.id, c.client_id AS "clientId", c.user_id AS "userId", u.email AS "userEmail",
         u.roles AS "userRoles", u.email_verified_at AS "userEmailVerifiedAt",
         u.disabled_at AS "userDisabledAt", c.redirect_uri AS "redirectUri", c.scope, c.resources,
         c.code_challenge AS "codeChallenge", c.nonce, c.auth_time AS "authTime", c.amr,
         c.expires_at AS "expiresAt", c.used_at AS "usedAt", c.token_session_id AS "tokenSessionId",
         c.browser_session_id AS "browserSessionId", b.revoked_at AS "browserSessionEndedAt"
       FROM authorization_codes c JOIN users u ON u.id = c.user_id
         LEFT JOIN sessions b ON b.id = c.browser_session_id
       WHERE c.code_hash = $1`,
      [codeHash],
    );
    return rows[0] ?? null;
  }

  /** Marks the code used, only if it was not: of concurrent redemptions exactly one wins. */
  async markUsed(id: string, usedAt: Date): Promise<boolean> {
    const rows = await updateReturning(
      this.manager,
      `UPDATE authorization_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL RETURNING id`,
      [id, usedAt],
    );
    return rows.length > 0;
  }

  /** Which token session the redemption created: a second redemption revokes it. */
  async setTokenSession(id: string, sessionId: string): Promise<void> {
    await this.manager.query('UPDATE authorization_codes SET token_session_id = $2 WHERE id = $1', [
      id,
      sessionId,
    ]);
  }

  /** Housekeeping: codes past their expiry are of no use, used or not. */
  async deleteExpired(before: Date, limit: number): Promise<number> {
    const rows = await updateReturning(
      this.manager,
      `DELETE FROM authorization_codes WHERE id IN (
         SELECT id FROM authorization_codes WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED
       ) RETURNING id`,
      [before, limit],
    );
    return rows.length;
  }
}
