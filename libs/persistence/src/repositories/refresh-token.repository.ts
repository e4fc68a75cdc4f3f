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
  readonly clientId: string | null;
  readonly scope: string | null;
  readonly userId: string;
  readonly userRoles: string[];
  readonly userDisabledAt: Date | null;
  readonly sessionRevokedAt: Date | null;
  readonly sessionAbsoluteExpiresAt: Date;
  readonly sessionCreatedAt: Date;
  /** How and when the user signed in (null for sessions from before they were recorded). */
  readonly sessionAmr: string[] | null;
  readonly sessionAuthTime: Date | null;
  readonly createdAt: Date;
}

/** A refresh grant's attempt to spend the presented token and issue its successor. */
export interface RefreshAttempt {
  /** The presented token's hash. */
  readonly tokenHash: Buffer;
  /** The authenticated client: a token of another client is never spent. */
  readonly clientId: string;
  /** Now: when the token is spent; anything expired by then is not. */
  readonly usedAt: Date;
  /** The rotating request's address. */
  readonly usedIp: string | null;
  /** The successor token, sealed for a replay of the presented one within the grace window. */
  readonly sealedSuccessor: Buffer;
  readonly successorTokenHash: Buffer;
  /**
   * The successor's expiry, and the session's new idle expiry, unless the family maximum (the
   * session's absolute expiry) comes first.
   */
  readonly successorExpiresAt: Date;
}

/** The token a used one was rotated to: whether it is spent, and its sealed copy if it has one. */
export interface RotatedTo {
  readonly id: string;
  readonly usedAt: Date | null;
  readonly sealedToken: Buffer | null;
}

/** The presented token as the attempt found it, and whether the attempt spent it. */
export interface RefreshOutcome {
  readonly state: RefreshTokenState;
  readonly rotated: boolean;
}

/** The token with its session and user, as `RefreshTokenState`; `$1` is the token hash. */
const STATE_BY_TOKEN_HASH = `SELECT rt.id, rt.session_id AS "sessionId", rt.parent_id AS "parentId",
         rt.used_at AS "usedAt", host(rt.used_ip) AS "usedIp", rt.expires_at AS "expiresAt",
         s.client_id AS "clientId", s.scope,
         s.user_id AS "userId", u.roles AS "userRoles", u.disabled_at AS "userDisabledAt",
         s.revoked_at AS "sessionRevokedAt", s.absolute_expires_at AS "sessionAbsoluteExpiresAt",
         s.created_at AS "sessionCreatedAt", s.amr AS "sessionAmr",
         s.auth_time AS "sessionAuthTime", rt.created_at AS "createdAt"
       FROM refresh_tokens rt
       JOIN sessions s ON s.id = rt.session_id
       JOIN users u ON u.id = s.user_id
       WHERE rt.token_hash = $1`;

// Every refresh grant runs the second, narrowing ones the first too: prepared once per connection.
const FIND_BY_TOKEN_HASH = named('find_refresh_token', STATE_BY_TOKEN_HASH);
const ROTATE = named(
  'rotate_refresh_token_by_hash',
  `WITH presented AS (
         ${STATE_BY_TOKEN_HASH}
       ), used AS (
         UPDATE refresh_tokens rt SET used_at = $3, used_ip = $4, sealed_token = NULL
         FROM presented p
         WHERE rt.id = p.id AND rt.used_at IS NULL AND p."clientId" = $2
           AND p."sessionRevokedAt" IS NULL AND p."userDisabledAt" IS NULL
           AND p."expiresAt" > $3 AND p."sessionAbsoluteExpiresAt" > $3
         RETURNING rt.id, rt.session_id, rt.parent_id,
           LEAST($7::timestamptz, p."sessionAbsoluteExpiresAt") AS expires_at
       ), successor AS (
         INSERT INTO refresh_tokens
           (session_id, token_hash, parent_id, created_at, expires_at, sealed_token)
         SELECT session_id, $6, id, $3, expires_at, $5 FROM used
         RETURNING id
       ), extended AS (
         UPDATE sessions SET last_seen_at = $3, idle_expires_at = used.expires_at
         FROM used WHERE sessions.id = used.session_id
       )
       SELECT p.*, EXISTS (SELECT 1 FROM successor) AS rotated FROM presented p`,
  { pipelined: true },
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
   * A refresh grant's write as one statement (atomic on its own, one round trip): reads the presented
   * token and, only if it is unused and usable — the client's, session and user live, not expired at
   * `usedAt` — marks it used with the rotating request's address, erases its own sealed copy (a
   * replay of its parent can no longer be answered with it), inserts the successor with the
   * successor's sealed copy and slides the session's expiry. Of concurrent attempts on one token
   * exactly one rotates: the others wait for its row lock, find `used_at` set and write nothing.
   * Null for an unknown token.
   */
  async rotate(attempt: RefreshAttempt): Promise<RefreshOutcome | null> {
    const rows = await select<RefreshTokenState & { rotated: boolean }>(this.manager, ROTATE, [
      attempt.tokenHash,
      attempt.clientId,
      attempt.usedAt,
      attempt.usedIp,
      attempt.sealedSuccessor,
      attempt.successorTokenHash,
      attempt.successorExpiresAt,
    ]);
    const row = rows[0];
    if (!row) {
      return null;
    }
    const { rotated, ...state } = row;
    return { state, rotated };
  }

  /** The token its parent was rotated to, with its sealed copy while it still has one. */
  async findChild(parentId: string): Promise<RotatedTo | null> {
    const rows: RotatedTo[] = await this.manager.query(
      `SELECT id, used_at AS "usedAt", sealed_token AS "sealedToken"
       FROM refresh_tokens WHERE parent_id = $1`,
      [parentId],
    );
    return rows[0] ?? null;
  }

  /**
   * Erases the sealed copy of every token issued before `before`: issued when its parent was
   * rotated, it could only answer a replay of the parent within the grace window.
   */
  async eraseSealedTokensIssuedBefore(before: Date): Promise<number> {
    const rows = await updateReturning(
      this.manager,
      `UPDATE refresh_tokens SET sealed_token = NULL
       WHERE sealed_token IS NOT NULL AND created_at < $1 RETURNING id`,
      [before],
    );
    return rows.length;
  }
}
