import { Injectable } from '@nestjs/common';
import type { NewAuditEvent, Repositories } from '@gatehouse/persistence';

/** Known audit actions; the log is append-only and readable by operators with `audit:read`. */
export type AuditAction =
  | 'user.registered'
  | 'user.password_changed'
  | 'operator.bootstrapped'
  | 'login.succeeded'
  | 'login.failed'
  | 'session.logout'
  | 'session.revoked'
  | 'refresh_token.reuse_detected';

export interface AuditEntry extends NewAuditEvent {
  readonly action: AuditAction;
}

@Injectable()
export class AuditService {
  /** Records inside the caller's unit of work, so the event lands if and only if the change does. */
  record(repositories: Repositories, entry: AuditEntry): Promise<void> {
    return repositories.auditEvents.append(entry);
  }
}
