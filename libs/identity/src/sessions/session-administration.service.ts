import { Injectable } from '@nestjs/common';
import {
  type AdminSessionRow,
  Database,
  type SessionCursor,
  type SessionFilter,
} from '@gatehouse/persistence';

import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../clock.js';
import { SessionNotFoundError } from '../identity.errors.js';
import { RevocationService } from '../revocations/revocation.service.js';
import type { ClientContext } from './session.service.js';

export interface SessionPage {
  readonly items: AdminSessionRow[];
  /** The last item's position when more follow, else null. */
  readonly next: SessionCursor | null;
}

/** Operators' view of every session, and forced revocation (admin-api). */
@Injectable()
export class SessionAdministrationService {
  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly revocations: RevocationService,
    private readonly audit: AuditService,
  ) {}

  async list(
    filter: SessionFilter,
    cursor: SessionCursor | null,
    limit: number,
  ): Promise<SessionPage> {
    const rows = await this.database.sessions.listPage(filter, this.clock.now(), cursor, limit);
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return {
      items,
      next: rows.length > limit && last ? { createdAt: last.position, id: last.id } : null,
    };
  }

  async get(id: string): Promise<AdminSessionRow> {
    const session = await this.database.sessions.findForAdmin(id);
    if (!session) {
      throw new SessionNotFoundError();
    }
    return session;
  }

  /**
   * Cookie dead, refresh family dead, access tokens refused everywhere through the feed. The
   * operator's `note` is stored on the session (reason `admin`) and in the audit event.
   */
  async revoke(
    id: string,
    operatorId: string,
    note: string | null,
    context: ClientContext,
  ): Promise<void> {
    const session = await this.get(id);
    await this.database.transaction(async (repositories) => {
      const revoked = await this.revocations.revokeSessions(repositories, [id], {
        at: this.clock.now(),
        reason: 'admin',
        by: `user:${operatorId}`,
        note,
      });
      await this.audit.record(repositories, {
        actor: `user:${operatorId}`,
        action: 'admin.session_revoked',
        subject: `user:${session.userId}`,
        ip: context.ip,
        details: { sessionIds: revoked, note },
      });
    });
  }

  async revokeAllForUser(
    userId: string,
    operatorId: string,
    context: ClientContext,
  ): Promise<number> {
    return this.database.transaction(async (repositories) => {
      const revoked = await this.revocations.revokeAllForUser(repositories, userId, {
        at: this.clock.now(),
        reason: 'admin',
        by: `user:${operatorId}`,
      });
      await this.audit.record(repositories, {
        actor: `user:${operatorId}`,
        action: 'admin.user_sessions_revoked',
        subject: `user:${userId}`,
        ip: context.ip,
        details: { sessionIds: revoked },
      });
      return revoked.length;
    });
  }
}
