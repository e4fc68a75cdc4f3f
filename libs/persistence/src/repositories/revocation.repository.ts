import type { EntityManager } from 'typeorm';

import { updateReturning } from './returning.js';

export class RevocationRepository {
  constructor(private readonly manager: EntityManager) {}

  /** One feed row per revoked session, kept until `until` (no access token can outlive it). */
  async appendSessions(sessionIds: readonly string[], revokedAt: Date, until: Date): Promise<void> {
    if (sessionIds.length === 0) {
      return;
    }
    await this.manager.query(
      `INSERT INTO revocations (session_id, revoked_at, until)
       SELECT unnest($1::uuid[]), $2, $3`,
      [sessionIds, revokedAt, until],
    );
  }

  /** The client's own tokens (client credentials) issued at or before `revokedAt`. */
  async appendClient(clientId: string, revokedAt: Date, until: Date): Promise<void> {
    await this.manager.query(
      'INSERT INTO revocations (client_id, revoked_at, until) VALUES ($1, $2, $3)',
      [clientId, revokedAt, until],
    );
  }

  /** When the client's own tokens were last revoked, if that can still cover a live token. */
  async clientRevokedAt(clientId: string, now: Date): Promise<Date | null> {
    const rows: { revokedAt: Date | null }[] = await this.manager.query(
      `SELECT max(revoked_at) AS "revokedAt" FROM revocations WHERE client_id = $1 AND until > $2`,
      [clientId, now],
    );
    return rows[0]?.revokedAt ?? null;
  }

  /**
   * Broadcasts the revocations on the feed's PostgreSQL channel. NOTIFY is transactional: listeners
   * hear it when (and only if) the surrounding transaction commits.
   */
  async notify(channel: string, payloads: readonly string[]): Promise<void> {
    if (payloads.length === 0) {
      return;
    }
    await this.manager.query('SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload', [
      channel,
      payloads,
    ]);
  }

  /** Drops feed rows that can no longer cover any live access token. */
  async deleteExpired(before: Date): Promise<number> {
    const rows = await updateReturning(
      this.manager,
      'DELETE FROM revocations WHERE until < $1 RETURNING id',
      [before],
    );
    return rows.length;
  }
}
