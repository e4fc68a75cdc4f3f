import type { EntityManager } from 'typeorm';

import { AuditEvent } from '../entities/audit-event.entity.js';

export interface NewAuditEvent {
  readonly actor: string;
  readonly action: string;
  readonly subject?: string | null;
  readonly ip?: string | null;
  readonly details?: Record<string, unknown>;
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
}
