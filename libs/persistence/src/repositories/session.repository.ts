import type { EntityManager } from 'typeorm';

import type { SessionKind } from '../entities/session.entity.js';
import { User } from '../entities/user.entity.js';
import { named, select, updateReturning } from './returning.js';

/** Why a session ended early; stored in `sessions.revoked_reason`. */
export type RevocationReason =
  | 'logout'
  | 'replaced_by_login'
  | 'revoked_by_user'
  | 'password_changed'
  | 'password_reset'
  | 'refresh_token_reuse'
  | 'token_revoked'
  | 'admin'
  | 'user_disabled'
  | 'mfa_reset'
  | 'client_deleted'
  | 'client_narrowed'
  | 'authorization_code_reuse';

export interface NewCookieSession {
  readonly userId: string;
  readonly tokenHash: Buffer;
  readonly createdAt: Date;
  readonly idleExpiresAt: Date;
  readonly absoluteExpiresAt: Date;
  readonly ip: string | null;
  readonly userAgent: string | null;
  /** RFC 8176 methods of the sign-in; `['pwd']` when not given. */
  readonly amr?: readonly string[];
  /** The upstream provider of a federated sign-in. */
  readonly identityProviderId?: string | null;
}

export interface NewTokenSession {
  readonly userId: string;
  readonly clientId: string;
  readonly scope: string;
  readonly createdAt: Date;
  /** For a token session: when its current refresh token expires. */
  readonly idleExpiresAt: Date;
  readonly absoluteExpiresAt: Date;
  readonly ip: string | null;
  readonly userAgent: string | null;
  /** RFC 8176 methods of the sign-in behind the tokens, and when it happened. */
  readonly amr?: readonly string[] | null;
  readonly authTime?: Date | null;
  /** The browser (cookie) session whose sign-in approved the grant; ends this one when it ends. */
  readonly parentSessionId?: string | null;
}

/** Whether a session can still back an access token (bearer verification, introspection). */
export interface SessionStatus {
  readonly revokedAt: Date | null;
  readonly absoluteExpiresAt: Date;
  readonly userDisabledAt: Date | null;
}

export interface SessionTimes {
  readonly id: string;
  readonly createdAt: Date;
  readonly lastSeenAt: Date;
  readonly idleExpiresAt: Date;
  readonly absoluteExpiresAt: Date;
  readonly revokedAt: Date | null;
  /** RFC 8176 methods of the sign-in (null: a session from before they were recorded). */
  readonly amr: string[] | null;
  readonly authTime: Date | null;
}

export interface SessionSummary extends SessionTimes {
  readonly userId: string;
  readonly kind: SessionKind;
  readonly clientId: string | null;
  readonly clientName: string | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
  /** The slug of the upstream provider of a federated sign-in (null otherwise, or once deleted). */
  readonly identityProvider: string | null;
}

/**
 * A cookie session and its user: everything an authenticated request (and `GET /me`) needs, read in
 * one statement.
 */
export interface CookieSessionWithUser extends SessionSummary {
  readonly userEmail: string;
  readonly userRoles: string[];
  readonly userDisabledAt: Date | null;
  readonly userEmailVerifiedAt: Date | null;
  readonly userCreatedAt: Date;
}

export interface SessionFilter {
  readonly userId?: string;
  readonly email?: string;
  readonly clientId?: string;
  readonly kind?: SessionKind;
  /** Live now (not revoked, before both expiries) when true; ended when false. */
  readonly active?: boolean;
  readonly createdBefore?: Date;
  readonly createdAfter?: Date;
}

/**
 * Keyset position: the last row of the previous page. `createdAt` is PostgreSQL's own text of the
 * timestamp (microseconds; a JS Date would round to milliseconds and skip rows sharing one).
 */
export interface SessionCursor {
  readonly createdAt: string;
  readonly id: string;
}

export interface AdminSessionRow extends SessionSummary {
  /** `created_at` as exact text, for the next page's cursor. */
  readonly position: string;
  readonly userEmail: string;
  readonly revokedReason: string | null;
  /** The operator's text given with a forced revocation. */
  readonly revokedNote: string | null;
  readonly revokedBy: string | null;
}

export interface Revocation {
  readonly at: Date;
  readonly reason: RevocationReason;
  /** `user:<id>`, or a system actor. */
  readonly by: string;
  /** Free text from the operator who forced the revocation, kept beside the reason. */
  readonly note?: string | null;
}

const TIMES = `s.id, s.created_at AS "createdAt", s.last_seen_at AS "lastSeenAt",
  s.idle_expires_at AS "idleExpiresAt", s.absolute_expires_at AS "absoluteExpiresAt",
  s.revoked_at AS "revokedAt", s.amr, s.auth_time AS "authTime"`;

/** The provider's slug, for the rare federated session (a primary-key probe only when set). */
const IDENTITY_PROVIDER = `(SELECT p.slug FROM identity_providers p
  WHERE p.id = s.identity_provider_id) AS "identityProvider"`;

const SUMMARY = `${TIMES}, s.user_id AS "userId", s.kind, s.client_id AS "clientId",
  c.name AS "clientName", host(s.ip) AS ip, s.user_agent AS "userAgent", ${IDENTITY_PROVIDER}`;

/** Live = not revoked and before both expiries, judged at `$now` (the service's clock). */
const LIVE_AT = (now: string) =>
  `s.revoked_at IS NULL AND s.idle_expires_at > ${now} AND s.absolute_expires_at > ${now}`;

// The statements of every authenticated request, prepared once per connection.
const FIND_COOKIE_SESSION = named(
  'find_cookie_session',
  `SELECT ${TIMES}, s.user_id AS "userId", s.kind, NULL AS "clientId", NULL AS "clientName",
     host(s.ip) AS ip, s.user_agent AS "userAgent", ${IDENTITY_PROVIDER}, u.email AS "userEmail",
     u.roles AS "userRoles", u.disabled_at AS "userDisabledAt",
     u.email_verified_at AS "userEmailVerifiedAt", u.created_at AS "userCreatedAt"
   FROM sessions s JOIN users u ON u.id = s.user_id
   WHERE s.token_hash = $1`,
);
const TOUCH = named(
  'touch_session',
  `UPDATE sessions SET last_seen_at = $2, idle_expires_at = $3
   WHERE id = $1 AND revoked_at IS NULL AND last_seen_at <= $4
   RETURNING id`,
);
const FIND_STATUS = named(
  'find_session_status',
  `SELECT s.revoked_at AS "revokedAt", s.absolute_expires_at AS "absoluteExpiresAt",
     u.disabled_at AS "userDisabledAt"
   FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1`,
);

export class SessionRepository {
  constructor(private readonly manager: EntityManager) {}

  async createCookieSession(session: NewCookieSession): Promise<SessionSummary> {
    const rows: SessionSummary[] = await this.manager.query(
      `INSERT INTO sessions AS s (user_id, kind, token_hash, created_at, last_seen_at,
         idle_expires_at, absolute_expires_at, ip, user_agent, amr, auth_time, identity_provider_id)
       VALUES ($1, 'cookie', $2, $3, $3, $4, $5, $6, $7, $8, $3, $9)
       RETURNING ${TIMES}, s.user_id AS "userId", s.kind, NULL AS "clientId", NULL AS "clientName",
         host(s.ip) AS ip, s.user_agent AS "userAgent", ${IDENTITY_PROVIDER}`,
      [
        session.userId,
        session.tokenHash,
        session.createdAt,
        session.idleExpiresAt,
        session.absoluteExpiresAt,
        session.ip,
        session.userAgent,
        session.amr ?? ['pwd'],
        session.identityProviderId ?? null,
      ],
    );
    return rows[0]!;
  }

  /**
   * Whether the browser session a new token session will hang on is still live, holding a share lock
   * on its row until the transaction ends: a concurrent revocation (its UPDATE) then waits for this
   * transaction, and its cascade, a later statement, sees the child; or this one waits for the
   * revocation and reads the revoked row. No token session slips past a logout either way.
   */
  async lockLiveParent(id: string): Promise<boolean> {
    const rows: { live: boolean }[] = await this.manager.query(
      'SELECT revoked_at IS NULL AS live FROM sessions WHERE id = $1 FOR SHARE',
      [id],
    );
    return rows[0]?.live === true;
  }

  async createTokenSession(session: NewTokenSession): Promise<string> {
    const rows: { id: string }[] = await this.manager.query(
      `INSERT INTO sessions (user_id, kind, client_id, scope, created_at, last_seen_at,
         idle_expires_at, absolute_expires_at, ip, user_agent, amr, auth_time, parent_session_id)
       VALUES ($1, 'token', $2, $8, $3, $3, $4, $5, $6, $7, $9, $10, $11)
       RETURNING id`,
      [
        session.userId,
        session.clientId,
        session.createdAt,
        session.idleExpiresAt,
        session.absoluteExpiresAt,
        session.ip,
        session.userAgent,
        session.scope,
        session.amr ?? null,
        session.authTime ?? null,
        session.parentSessionId ?? null,
      ],
    );
    return rows[0]!.id;
  }

  async findStatus(id: string): Promise<SessionStatus | null> {
    const rows = await select<SessionStatus>(this.manager, FIND_STATUS, [id]);
    return rows[0] ?? null;
  }

  /** The hot path of every cookie-authenticated request: one lookup on `sessions_token_hash_key`. */
  async findCookieSessionByTokenHash(tokenHash: Buffer): Promise<CookieSessionWithUser | null> {
    const rows = await select<CookieSessionWithUser>(this.manager, FIND_COOKIE_SESSION, [
      tokenHash,
    ]);
    return rows[0] ?? null;
  }

  /**
   * Slides the idle expiry. The `last_seen_at` condition makes concurrent requests (or instances)
   * write once per interval between them, and a revoked session is never revived.
   */
  async touch(id: string, seenAt: Date, idleExpiresAt: Date, seenBefore: Date): Promise<boolean> {
    const rows = await updateReturning(this.manager, TOUCH, [
      id,
      seenAt,
      idleExpiresAt,
      seenBefore,
    ]);
    return rows.length > 0;
  }

  /** A session and its user in one statement (`GET /me`). */
  async findSummaryWithUser(id: string): Promise<{ session: SessionSummary; user: User } | null> {
    const rows: (SessionSummary & {
      userEmail: string;
      userRoles: string[];
      userDisabledAt: Date | null;
      userEmailVerifiedAt: Date | null;
      userCreatedAt: Date;
    })[] = await this.manager.query(
      `SELECT ${SUMMARY}, u.email AS "userEmail", u.roles AS "userRoles",
         u.disabled_at AS "userDisabledAt", u.email_verified_at AS "userEmailVerifiedAt",
         u.created_at AS "userCreatedAt"
       FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN clients c ON c.id = s.client_id
       WHERE s.id = $1`,
      [id],
    );
    const row = rows[0];
    if (!row) {
      return null;
    }
    const { userEmail, userRoles, userDisabledAt, userEmailVerifiedAt, userCreatedAt, ...session } =
      row;
    const user = this.manager.create(User, {
      id: session.userId,
      email: userEmail,
      roles: userRoles,
      disabledAt: userDisabledAt,
      emailVerifiedAt: userEmailVerifiedAt,
      createdAt: userCreatedAt,
    });
    return { session, user };
  }

  async findSummary(id: string): Promise<SessionSummary | null> {
    const rows: SessionSummary[] = await this.manager.query(
      `SELECT ${SUMMARY} FROM sessions s LEFT JOIN clients c ON c.id = s.client_id
       WHERE s.id = $1`,
      [id],
    );
    return rows[0] ?? null;
  }

  /** A user's live sessions of every kind, newest first (`sessions_user_id_created_at_idx`). */
  listLiveForUser(userId: string, now: Date, limit: number): Promise<SessionSummary[]> {
    return this.manager.query(
      `SELECT ${SUMMARY} FROM sessions s LEFT JOIN clients c ON c.id = s.client_id
       WHERE s.user_id = $1 AND ${LIVE_AT('$2')}
       ORDER BY s.created_at DESC, s.id DESC
       LIMIT $3`,
      [userId, now, limit],
    );
  }

  /**
   * One page for operators, newest first, by keyset on (created_at, id): stable while sessions are
   * inserted (no OFFSET drift) and served from `sessions_user_id_created_at_idx` or
   * `sessions_created_at_id_idx`. Fetches `limit + 1` rows so the caller knows if a next page exists.
   */
  listPage(
    filter: SessionFilter,
    now: Date,
    cursor: SessionCursor | null,
    limit: number,
  ): Promise<AdminSessionRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    if (filter.userId) {
      where.push(`s.user_id = ${param(filter.userId)}`);
    }
    if (filter.email) {
      where.push(`u.email = ${param(filter.email)}`);
    }
    if (filter.clientId) {
      where.push(`s.client_id = ${param(filter.clientId)}`);
    }
    if (filter.kind) {
      where.push(`s.kind = ${param(filter.kind)}`);
    }
    if (filter.active !== undefined) {
      const live = LIVE_AT(param(now));
      where.push(filter.active ? `(${live})` : `NOT (${live})`);
    }
    if (filter.createdBefore) {
      where.push(`s.created_at < ${param(filter.createdBefore)}`);
    }
    if (filter.createdAfter) {
      where.push(`s.created_at > ${param(filter.createdAfter)}`);
    }
    if (cursor) {
      where.push(
        `(s.created_at, s.id) < (${param(cursor.createdAt)}::timestamptz, ${param(cursor.id)}::uuid)`,
      );
    }
    return this.manager.query(
      `SELECT ${SUMMARY}, u.email AS "userEmail", s.revoked_reason AS "revokedReason",
         s.revoked_note AS "revokedNote", s.revoked_by AS "revokedBy", s.created_at::text AS position
       FROM sessions s
       JOIN users u ON u.id = s.user_id
       LEFT JOIN clients c ON c.id = s.client_id
       ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY s.created_at DESC, s.id DESC
       LIMIT ${param(limit + 1)}`,
      params,
    );
  }

  async findForAdmin(id: string): Promise<AdminSessionRow | null> {
    const rows: AdminSessionRow[] = await this.manager.query(
      `SELECT ${SUMMARY}, u.email AS "userEmail", s.revoked_reason AS "revokedReason",
         s.revoked_note AS "revokedNote", s.revoked_by AS "revokedBy", s.created_at::text AS position
       FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN clients c ON c.id = s.client_id
       WHERE s.id = $1`,
      [id],
    );
    return rows[0] ?? null;
  }

  /** Revokes the given sessions that are still unrevoked; returns the ids it revoked. */
  async revoke(ids: readonly string[], revocation: Revocation): Promise<string[]> {
    if (ids.length === 0) {
      return [];
    }
    const rows = await updateReturning<{ id: string }>(
      this.manager,
      `UPDATE sessions SET revoked_at = $2, revoked_reason = $3, revoked_by = $4, revoked_note = $5
       WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL
       RETURNING id`,
      [ids, revocation.at, revocation.reason, revocation.by, revocation.note ?? null],
    );
    return rows.map(({ id }) => id);
  }

  /**
   * Revokes the live token sessions obtained through these browser sessions (`parent_session_id`,
   * served by its partial index), except those holding `offline_access`: offline access outlives
   * the sign-in (OIDC Core §11). Returns the ids it revoked.
   */
  async revokeChildren(parentIds: readonly string[], revocation: Revocation): Promise<string[]> {
    if (parentIds.length === 0) {
      return [];
    }
    const rows = await updateReturning<{ id: string }>(
      this.manager,
      `UPDATE sessions s SET revoked_at = $2, revoked_reason = $3, revoked_by = $4, revoked_note = $5
       WHERE s.parent_session_id = ANY($1::uuid[]) AND ${LIVE_AT('$2')}
         AND NOT ('offline_access' = ANY(string_to_array(coalesce(s.scope, ''), ' ')))
       RETURNING s.id`,
      [parentIds, revocation.at, revocation.reason, revocation.by, revocation.note ?? null],
    );
    return rows.map(({ id }) => id);
  }

  /**
   * A new sign-in in the same browser replaced `previousId` by `nextId` (same user): its live token
   * sessions, unredeemed codes and approved devices move to the new browser session, so a later
   * sign-out still reaches them. One statement.
   */
  async adoptChildren(previousId: string, nextId: string, at: Date): Promise<void> {
    await this.manager.query(
      `WITH codes AS (
         UPDATE authorization_codes SET browser_session_id = $2
         WHERE browser_session_id = $1 AND used_at IS NULL
       ), devices AS (
         UPDATE device_authorizations SET browser_session_id = $2
         WHERE browser_session_id = $1 AND status = 'approved'
       )
       UPDATE sessions s SET parent_session_id = $2
       WHERE s.parent_session_id = $1 AND ${LIVE_AT('$3')}`,
      [previousId, nextId, at],
    );
  }

  /** Revokes every live session of a user except `keep`; returns the ids it revoked. */
  async revokeAllForUser(
    userId: string,
    revocation: Revocation,
    keep: string | null = null,
  ): Promise<string[]> {
    const rows = await updateReturning<{ id: string }>(
      this.manager,
      `UPDATE sessions s SET revoked_at = $2, revoked_reason = $3, revoked_by = $4
       WHERE s.user_id = $1 AND s.id IS DISTINCT FROM $5::uuid AND ${LIVE_AT('$2')}
       RETURNING s.id`,
      [userId, revocation.at, revocation.reason, revocation.by, keep],
    );
    return rows.map(({ id }) => id);
  }

  /** Every live session of a client (its deletion ends them); returns the ids it revoked. */
  async revokeAllForClient(clientId: string, revocation: Revocation): Promise<string[]> {
    const rows = await updateReturning<{ id: string }>(
      this.manager,
      `UPDATE sessions s SET revoked_at = $2, revoked_reason = $3, revoked_by = $4
       WHERE s.client_id = $1 AND s.revoked_at IS NULL RETURNING s.id`,
      [clientId, revocation.at, revocation.reason, revocation.by],
    );
    return rows.map(({ id }) => id);
  }

  /** The sessions of a deleted client go with it (their revocation is in the feed and the audit log). */
  async deleteForClient(clientId: string): Promise<number> {
    const rows = await updateReturning(
      this.manager,
      'DELETE FROM sessions WHERE client_id = $1 RETURNING id',
      [clientId],
    );
    return rows.length;
  }

  /**
   * Deletes up to `limit` sessions that ended (revoked or expired) before `endedBefore`. Small batches
   * with SKIP LOCKED keep each statement short and never wait on a request touching a live row.
   */
  async deleteEndedBatch(endedBefore: Date, limit: number): Promise<number> {
    const rows = await updateReturning(
      this.manager,
      `DELETE FROM sessions WHERE id IN (
         SELECT id FROM sessions
         WHERE LEAST(revoked_at, idle_expires_at, absolute_expires_at) < $1
         LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING id`,
      [endedBefore, limit],
    );
    return rows.length;
  }
}
