import type { AuditEntry } from '../audit/audit.service.js';

/** Every event type an endpoint may subscribe to. */
export const WEBHOOK_EVENT_TYPES = [
  'user.created',
  'user.disabled',
  'user.password_changed',
  'session.created',
  'session.revoked',
  'refresh_token.reuse_detected',
  'mfa.enrolled',
  'mfa.removed',
  'mfa.reset',
  'federation.signed_in',
  'federation.linked',
  'federation.unlinked',
  'federation.refused',
  'client.created',
  'client.updated',
  'client.deleted',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const isWebhookEventType = (value: string): value is WebhookEventType =>
  (WEBHOOK_EVENT_TYPES as readonly string[]).includes(value);

/** An event before it is addressed to endpoints: `data` is minimal and never secret. */
export interface WebhookEvent {
  readonly type: WebhookEventType;
  readonly data: Record<string, unknown>;
  /** The user the event is about, whose address `data.email` then carries. */
  readonly aboutUser?: string;
}

const idIn = (subject: string | null | undefined, kind: string): string | undefined =>
  subject?.startsWith(`${kind}:`) ? subject.slice(kind.length + 1) : undefined;

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

type Mapping = (
  entry: AuditEntry,
  ids: { userId?: string; clientId?: string },
) => WebhookEvent | null;

const userEvent =
  (
    type: WebhookEventType,
    data: (details: Record<string, unknown>) => object = () => ({}),
  ): Mapping =>
  (entry, { userId }) =>
    userId ? { type, data: { userId, ...data(entry.details ?? {}) }, aboutUser: userId } : null;

const userIdEvent =
  (type: WebhookEventType, data: (details: Record<string, unknown>) => object): Mapping =>
  (entry, { userId }) =>
    userId ? { type, data: { userId, ...data(entry.details ?? {}) } } : null;

const clientEvent =
  (type: WebhookEventType): Mapping =>
  (_entry, { clientId }) =>
    clientId ? { type, data: { clientId } } : null;

/** Audit actions that are webhook events, and what of them the event carries. */
const AUDIT_EVENTS: { readonly [Action in AuditEntry['action']]?: Mapping } = {
  'user.registered': userEvent('user.created'),
  'operator.bootstrapped': userEvent('user.created'),
  'admin.operator_created': (entry, ids) =>
    entry.details?.created === true ? userEvent('user.created')(entry, ids) : null,
  'admin.user_disabled': userEvent('user.disabled'),
  'user.password_changed': userEvent('user.password_changed', () => ({ method: 'change' })),
  'user.password_reset': userEvent('user.password_changed', () => ({ method: 'reset' })),
  'login.succeeded': (entry, { userId }) =>
    userId
      ? {
          type: 'session.created',
          data: {
            sessionId: text(entry.details?.sessionId),
            userId,
            kind: text(entry.details?.kind),
            clientId: text(entry.details?.clientId),
          },
        }
      : null,
  'refresh_token.reuse_detected': userIdEvent('refresh_token.reuse_detected', (details) => ({
    sessionId: text(details.sessionId),
    clientId: text(details.clientId),
  })),
  'mfa.totp_enrolled': userEvent('mfa.enrolled', (details) => ({
    factorId: text(details.factorId),
    kind: 'totp',
  })),
  'mfa.passkey_registered': userEvent('mfa.enrolled', (details) => ({
    factorId: text(details.factorId),
    kind: 'passkey',
  })),
  'mfa.factor_removed': userEvent('mfa.removed', (details) => ({
    factorId: text(details.factorId),
  })),
  'mfa.reset_by_operator': userEvent('mfa.reset'),
  'federation.signed_in': userIdEvent('federation.signed_in', (details) => ({
    provider: text(details.provider),
  })),
  'federation.linked': userIdEvent('federation.linked', (details) => ({
    provider: text(details.provider),
  })),
  'federation.unlinked': userIdEvent('federation.unlinked', (details) => ({
    provider: text(details.provider),
  })),
  'federation.refused': (entry) => ({
    type: 'federation.refused',
    data: { provider: text(entry.details?.provider), reason: text(entry.details?.reason) },
  }),
  'admin.client_created': clientEvent('client.created'),
  'admin.client_updated': clientEvent('client.updated'),
  'admin.client_secret_rotated': clientEvent('client.updated'),
  'admin.client_deleted': clientEvent('client.deleted'),
};

/**
 * The one place events come from: most changes worth an event already write an audit row inside
 * their transaction (`AuditService.record`), so the audit action maps to an event here. The
 * exception is `session.revoked`, which comes from the RevocationService's session-end hook (every
 * way a session ends passes there, with the reason; the audit actions of the many callers do not).
 * Answers null for actions that are no event. `data` keeps to ids, kinds and reasons: never a
 * secret, a hash, an IP address or an upstream claim.
 */
export function eventFromAudit(entry: AuditEntry): WebhookEvent | null {
  const mapping = AUDIT_EVENTS[entry.action];
  return mapping
    ? mapping(entry, {
        userId: idIn(entry.subject, 'user'),
        clientId: idIn(entry.subject, 'client'),
      })
    : null;
}
