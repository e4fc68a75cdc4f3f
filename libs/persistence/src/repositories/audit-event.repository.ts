import type { EntityManager } from 'typeorm';

import { AuditEvent } from '../entities/audit-event.entity.js';

export interface NewAuditEvent {
  readonly actor: string;
  readonly action: string;
  readonly subject?: string | null;
  readonly ip?: string | null;
  readonly details?: Record<string, unknown>;
}

export interface AuditEventFilter {
  readonly actor?: string;
  readonly subject?: string;
  readonly action?: string;
  readonly from?: Date;
  readonly to?: Date;
}

/** Keyset position; `at` is PostgreSQL's exact text of the timestamp (microseconds). */
export interface AuditCursor {
  readonly at: string;
  readonly id: string;
}

export interface AuditEventRow extends AuditEvent {
  /** `at` as exact text, for the next page's cursor. */
  readonly position: string;
}

export class AuditEventRepository {
  constructor(private readonly manager: EntityManager) {}

  async append(event: NewAuditEvent): Promise<void> {
    await this.manager.query(
      'INSERT INTO audit_events (actor, action, subject, ip, details) VALUES ($1, $2, $3, $4, $5)',
      [event.actor, event.action, event.subject ?? null, event.ip ?? null, event.details ?? {}],
    );
  }

  listForSubject(subject: string): Promise<AuditEvent[]> {
    return this.manager.find(AuditEvent, { where: { subject }, order: { at: 'DESC', id: 'DESC' } });
  }

  /** Newest first, keyset on (at, id); `limit + 1` rows so the caller sees whether more follow. */
  listPage(
    filter: AuditEventFilter,
    cursor: AuditCursor | null,
    limit: number,
  ): Promise<AuditEventRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    if (filter.actor) {
      where.push(`actor = ${param(filter.actor)}`);
    }
    if (filter.subject) {
      where.push(`subject = ${param(filter.subject)}`);
    }
    if (filter.action) {
      where.push(`action = ${param(filter.action)}`);
    }
    if (filter.from) {
      where.push(`at >= ${param(filter.from)}`);
    }
    if (filter.to) {
      where.push(`at < ${param(filter.to)}`);
    }
    if (cursor) {
      where.push(`(at, id) < (${param(cursor.at)}::timestamptz, ${param(cursor.id)}::bigint)`);
    }
    return this.manager.query(
      `SELECT id::text, at, actor, action, subject, host(ip) AS ip, details, at::text AS position
       FROM audit_events
       ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY at DESC, id DESC LIMIT ${param(limit + 1)}`,
      params,
    );
  }
}
