import { Injectable } from '@nestjs/common';
import {
  type AuditCursor,
  type AuditEventFilter,
  type AuditEventRow,
  Database,
  type NewAuditEvent,
  type Repositories,
} from '@gatehouse/persistence';

import { WebhookEmitter } from '../webhooks/webhook-emitter.js';
import { eventFromAudit } from '../webhooks/webhook-events.js';

/** Known audit actions; the log is append-only and readable by operators with `audit:read`. */
export type AuditAction =
  | 'user.registered'
  | 'user.password_changed'
  | 'user.password_reset_requested'
  | 'user.password_reset'
  | 'user.email_verified'
  | 'user.email_change_requested'
  | 'user.email_changed'
  | 'user.email_change_cancelled'
  | 'operator.bootstrapped'
  | 'login.succeeded'
  | 'login.failed'
  | 'login.mfa_failed'
  | 'mfa.totp_enrolled'
  | 'mfa.factor_removed'
  | 'mfa.recovery_codes_regenerated'
  | 'mfa.recovery_code_used'
  | 'mfa.passkey_registered'
  | 'mfa.passkey_renamed'
  | 'login.passkey_failed'
  | 'session.logout'
  | 'session.revoked'
  | 'refresh_token.reuse_detected'
  | 'refresh_token.grace'
  | 'oauth.authorization_code_reused'
  | 'oauth.consent_granted'
  | 'oauth.device_approved'
  | 'oauth.device_denied'
  | 'mfa.reset_by_operator'
  | 'admin.session_revoked'
  | 'admin.user_sessions_revoked'
  | 'admin.user_roles_set'
  | 'admin.user_disabled'
  | 'admin.user_enabled'
  | 'admin.client_created'
  | 'admin.client_updated'
  | 'admin.client_secret_rotated'
  | 'admin.client_deleted'
  | 'client.backchannel_logout_failed'
  | 'admin.operator_created'
  | 'admin.keys_rotated'
  | 'admin.mail_retried'
  | 'admin.password_reset_sent'
  | 'admin.user_email_verified'
  | 'admin.identity_provider_created'
  | 'admin.identity_provider_updated'
  | 'admin.identity_provider_deleted'
  | 'federation.signed_in'
  | 'federation.linked'
  | 'federation.unlinked'
  | 'federation.refused'
  | 'admin.webhook_created'
  | 'admin.webhook_updated'
  | 'admin.webhook_deleted'
  | 'admin.webhook_secret_rotated'
  | 'admin.webhook_delivery_replayed'
  | 'webhook.endpoint_disabled';

export interface AuditEntry extends NewAuditEvent {
  readonly action: AuditAction;
}

@Injectable()
export class AuditService {
  constructor(
    private readonly database: Database,
    private readonly webhooks: WebhookEmitter,
  ) {}

  /** Newest first; `limit + 1` rows so the caller knows whether another page follows. */
  list(
    filter: AuditEventFilter,
    cursor: AuditCursor | null,
    limit: number,
  ): Promise<AuditEventRow[]> {
    return this.database.auditEvents.listPage(filter, cursor, limit);
  }

  /**
   * Records inside the caller's unit of work, so the event lands if and only if the change does. An
   * action that is also a webhook event (`eventFromAudit`) is queued for its endpoints in the same
   * unit of work: the audit log is the one emission point of webhook events.
   */
  async record(repositories: Repositories, entry: AuditEntry): Promise<void> {
    await repositories.auditEvents.append(entry);
    const event = eventFromAudit(entry);
    if (event) {
      await this.webhooks.emit(repositories, event);
    }
  }
}
