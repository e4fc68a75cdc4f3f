import type { EntityManager } from 'typeorm';

import type { LogoutDelivery } from '../entities/logout-delivery.entity.js';
import { select, updateReturning } from './returning.js';

/** A logout token to send: one client that received tokens in one ended session. */
export interface PlannedLogoutDelivery {
  readonly id: string;
  readonly clientId: string;
  readonly sessionId: string;
  readonly userId: string;
  readonly uri: string;
}

/** Keyset position in the operators' listing; `at` is PostgreSQL's exact text of `created_at`. */
export interface LogoutDeliveryCursor {
  readonly at: string;
  readonly id: string;
}

export interface LogoutDeliveryListRow extends LogoutDelivery {
  /** `created_at` as exact text, for the next page's cursor. */
  readonly position: string;
}

/** The outcome of one attempt, recorded on the delivery. */
export interface LogoutAttemptOutcome {
  readonly status: 'delivered' | 'failed' | 'dead' | 'refused';
  readonly error: string | null;
  readonly responseStatus: number | null;
}

const COLUMNS = `id, client_id AS "clientId", session_id AS "sessionId", user_id AS "userId", uri,
  reason, status, attempts, last_error AS "lastError", last_response_status AS "lastResponseStatus",
  job_id::text AS "jobId", created_at AS "createdAt", last_attempt_at AS "lastAttemptAt",
  delivered_at AS "deliveredAt"`;

export class LogoutDeliveryRepository {
  constructor(private readonly manager: EntityManager) {}

  /**
   * One delivery per ended token session whose client registered a back-channel logout URI (the
   * client that received tokens in it), written in the revocation's transaction. Cookie sessions
   * have no client. Returns what was planned, for the jobs.
   */
  planForSessions(sessionIds: readonly string[], reason: string): Promise<PlannedLogoutDelivery[]> {
    return select<PlannedLogoutDelivery>(
      this.manager,
      `INSERT INTO logout_deliveries (id, client_id, session_id, user_id, uri, reason)
       SELECT gen_random_uuid(), s.client_id, s.id, s.user_id, c.backchannel_logout_uri, $2
       FROM sessions s JOIN clients c ON c.id = s.client_id
       WHERE s.id = ANY($1::uuid[]) AND s.kind = 'token' AND c.backchannel_logout_uri IS NOT NULL
       RETURNING id, client_id AS "clientId", session_id AS "sessionId", user_id AS "userId", uri`,
      [sessionIds, reason],
    );
  }

  async linkJob(id: string, jobId: string): Promise<void> {
    await this.manager.query('UPDATE logout_deliveries SET job_id = $2 WHERE id = $1', [id, jobId]);
  }

  async find(id: string): Promise<LogoutDelivery | null> {
    const [row] = await select<LogoutDelivery>(
      this.manager,
      `SELECT ${COLUMNS} FROM logout_deliveries WHERE id = $1`,
      [id],
    );
    return row ?? null;
  }

  async recordAttempt(id: string, outcome: LogoutAttemptOutcome): Promise<void> {
    await this.manager.query(
      `UPDATE logout_deliveries SET status = $2::varchar, attempts = attempts + 1,
         last_attempt_at = now(), last_error = $3, last_response_status = $4,
         delivered_at = CASE WHEN $2::varchar = 'delivered' THEN now() ELSE delivered_at END
       WHERE id = $1`,
      [id, outcome.status, outcome.error?.slice(0, 500) ?? null, outcome.responseStatus],
    );
  }

  /**
   * Deletes up to `limit` finished deliveries (delivered, dead or refused) created before
   * `createdBefore`; those still queued or failing stay until their last attempt.
   */
  async deleteFinishedBatch(createdBefore: Date, limit: number): Promise<number> {
    const rows = await updateReturning(
      this.manager,
      `DELETE FROM logout_deliveries WHERE id IN (
         SELECT id FROM logout_deliveries
         WHERE status IN ('delivered', 'dead', 'refused') AND created_at < $1
         LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING id`,
      [createdBefore, limit],
    );
    return rows.length;
  }

  /** A client's deliveries, newest first, keyset on (created_at, id); `limit + 1` rows. */
  listPage(
    clientId: string,
    cursor: LogoutDeliveryCursor | null,
    limit: number,
  ): Promise<LogoutDeliveryListRow[]> {
    const params: unknown[] = [clientId];
    let where = 'client_id = $1';
    if (cursor) {
      params.push(cursor.at, cursor.id);
      where += ' AND (created_at, id) < ($2::timestamptz, $3::uuid)';
    }
    params.push(limit + 1);
    return select<LogoutDeliveryListRow>(
      this.manager,
      `SELECT ${COLUMNS}, created_at::text AS position FROM logout_deliveries WHERE ${where}
       ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
  }
}
