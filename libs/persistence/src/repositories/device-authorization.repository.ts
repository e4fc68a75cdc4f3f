import type { EntityManager } from 'typeorm';

import type { DeviceAuthorizationStatus } from '../entities/device-authorization.entity.js';
import { select, updateReturning } from './returning.js';

export interface NewDeviceAuthorization {
  readonly deviceCodeHash: Buffer;
  readonly userCodeHash: Buffer;
  readonly clientId: string;
  readonly scope: string;
  readonly intervalSeconds: number;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

/** A request as the device page shows it. */
export interface PendingDeviceAuthorization {
  readonly id: string;
  readonly clientId: string;
  readonly clientName: string;
  readonly scope: string;
  readonly status: DeviceAuthorizationStatus;
  readonly expiresAt: Date;
}

/** A request as the token endpoint sees it after a poll, with the approving user's status. */
export interface PolledDeviceAuthorization {
  readonly id: string;
  readonly clientId: string;
  readonly scope: string;
  readonly status: DeviceAuthorizationStatus;
  readonly expiresAt: Date;
  readonly intervalSeconds: number;
  /** The poll came sooner than the interval allows: the interval has grown by 5 s. */
  readonly slowDown: boolean;
  readonly userId: string | null;
  readonly userEmail: string | null;
  readonly userRoles: string[] | null;
  readonly userDisabledAt: Date | null;
  readonly userEmailVerifiedAt: Date | null;
  readonly authTime: Date | null;
  readonly amr: string[] | null;
  /** The browser session that approved it (the token session's parent). */
  readonly browserSessionId: string | null;
  /** When that browser session ended (revoked); null while it lives. */
  readonly browserSessionEndedAt: Date | null;
}

/** RFC 8628 §3.5: a client must add 5 s to its interval at every slow_down. */
export const SLOW_DOWN_STEP_SECONDS = 5;

export class DeviceAuthorizationRepository {
  constructor(private readonly manager: EntityManager) {}

  /** The new row's id, or null when the user code is taken (the caller draws another). */
  async insert(request: NewDeviceAuthorization): Promise<string | null> {
    const rows = await select<{ id: string }>(
      this.manager,
      `INSERT INTO device_authorizations (device_code_hash, user_code_hash, client_id, scope,
         interval_seconds, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT DO NOTHING RETURNING id`,
      [
        request.deviceCodeHash,
        request.userCodeHash,
        request.clientId,
        request.scope,
        request.intervalSeconds,
        request.createdAt,
        request.expiresAt,
      ],
    );
    return rows[0]?.id ?? null;
  }

  async findByUserCodeHash(userCodeHash: Buffer): Promise<PendingDeviceAuthorization | null> {
    const rows = await select<PendingDeviceAuthorization>(
      this.manager,
      `SELECT d.id, d.client_id AS "clientId", c.name AS "clientName", d.scope, d.status,
         d.expires_at AS "expiresAt"
       FROM device_authorizations d JOIN clients c ON c.id = d.client_id
       WHERE d.user_code_hash = $1`,
      [userCodeHash],
    );
    return rows[0] ?? null;
  }

  /** Approves or denies a pending, unexpired request, once: false if it was not pending any more. */
  async decide(
    id: string,
    decision: 'approved' | 'denied',
    user: {
      readonly userId: string;
      readonly authTime: Date;
      readonly amr?: readonly string[] | null;
      /** The browser session deciding: an approval's token session becomes its child. */
      readonly sessionId?: string | null;
    },
    at: Date,
  ): Promise<boolean> {
    const rows = await updateReturning(
      this.manager,
      `UPDATE device_authorizations
       SET status = $2, user_id = $3, auth_time = $4, decided_at = $5, amr = $6,
         browser_session_id = $7
       WHERE id = $1 AND status = 'pending' AND expires_at > $5 RETURNING id`,
      [id, decision, user.userId, user.authTime, at, user.amr ?? null, user.sessionId ?? null],
    );
    return rows.length > 0;
  }

  /**
   * One poll of the token endpoint by the client the request was made for, in one statement: records
   * it, and grows the interval when it came sooner than 80 % of the interval after the previous one
   * (network jitter is not a fault). Another client's poll finds nothing and changes nothing.
   */
  async poll(
    deviceCodeHash: Buffer,
    clientId: string,
    at: Date,
  ): Promise<PolledDeviceAuthorization | null> {
    const rows = await select<PolledDeviceAuthorization>(
      this.manager,
      `WITH previous AS (
         SELECT id, last_polled_at, interval_seconds FROM device_authorizations
         WHERE device_code_hash = $1 AND client_id = $4 FOR UPDATE
       ), polled AS (
         UPDATE device_authorizations d SET last_polled_at = $2,
           interval_seconds = CASE
             WHEN p.last_polled_at IS NOT NULL
               AND $2 < p.last_polled_at + make_interval(secs => p.interval_seconds * 0.8)
             THEN p.interval_seconds + $3 ELSE p.interval_seconds END
         FROM previous p WHERE d.id = p.id
         RETURNING d.id, d.client_id, d.scope, d.status, d.expires_at, d.interval_seconds,
           d.interval_seconds > p.interval_seconds AS slow_down, d.user_id, d.auth_time, d.amr,
           d.browser_session_id
       )
       SELECT polled.id, polled.client_id AS "clientId", polled.scope, polled.status,
         polled.expires_at AS "expiresAt", polled.interval_seconds AS "intervalSeconds",
         polled.slow_down AS "slowDown", polled.user_id AS "userId", u.email AS "userEmail",
         u.roles AS "userRoles", u.disabled_at AS "userDisabledAt",
         u.email_verified_at AS "userEmailVerifiedAt", polled.auth_time AS "authTime", polled.amr,
         polled.browser_session_id AS "browserSessionId", b.revoked_at AS "browserSessionEndedAt"
       FROM polled LEFT JOIN users u ON u.id = polled.user_id
         LEFT JOIN sessions b ON b.id = polled.browser_session_id`,
      [deviceCodeHash, at, SLOW_DOWN_STEP_SECONDS, clientId],
    );
    return rows[0] ?? null;
  }

  /** Approved → redeemed, once, in the transaction that creates the token session. */
  async markRedeemed(id: string, tokenSessionId: string): Promise<boolean> {
    const rows = await updateReturning(
      this.manager,
      `UPDATE device_authorizations SET status = 'redeemed', token_session_id = $2
       WHERE id = $1 AND status = 'approved' RETURNING id`,
      [id, tokenSessionId],
    );
    return rows.length > 0;
  }

  /** Housekeeping: requests past their expiry are of no use, whatever their status. */
  async deleteExpired(before: Date, limit: number): Promise<number> {
    const rows = await updateReturning(
      this.manager,
      `DELETE FROM device_authorizations WHERE id IN (
         SELECT id FROM device_authorizations WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED
       ) RETURNING id`,
      [before, limit],
    );
    return rows.length;
  }
}
