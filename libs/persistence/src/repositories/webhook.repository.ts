import type { EntityManager } from 'typeorm';

import type { WebhookDeliveryStatus } from '../entities/webhook-delivery.entity.js';
import type { WebhookEndpoint } from '../entities/webhook-endpoint.entity.js';
import { select, updateReturning } from './returning.js';

export interface NewWebhookEndpoint {
  readonly id: string;
  readonly url: string;
  readonly description: string | null;
  readonly eventTypes: readonly string[];
  readonly secretSealed: Buffer;
}

export interface WebhookEndpointChanges {
  readonly url?: string;
  readonly description?: string | null;
  readonly eventTypes?: readonly string[];
  readonly enabled?: boolean;
}

/** An endpoint as operators see it: never a secret. */
export type WebhookEndpointView = Omit<WebhookEndpoint, 'secretSealed' | 'previousSecretSealed'>;

/** The sealed secrets that sign a delivery: the current one, and the previous one until it expires. */
export interface WebhookSigningSecrets {
  readonly secretSealed: Buffer;
  readonly previousSecretSealed: Buffer | null;
  readonly previousSecretExpiresAt: Date | null;
}

export interface NewWebhookDelivery {
  readonly id: string;
  readonly endpointId: string;
  readonly eventType: string;
  readonly payload: Record<string, unknown>;
  readonly jobId: string;
}

export interface WebhookDeliveryView {
  readonly id: string;
  readonly endpointId: string;
  readonly eventType: string;
  readonly status: WebhookDeliveryStatus;
  readonly attempts: number;
  readonly nextAttemptAt: Date | null;
  readonly lastResponseStatus: number | null;
  readonly lastError: string | null;
  readonly lastBodyExcerpt: string | null;
  readonly createdAt: Date;
  readonly lastAttemptAt: Date | null;
  readonly deliveredAt: Date | null;
}

export interface WebhookDeliveryListRow extends WebhookDeliveryView {
  /** `created_at` as exact text, for the next page's cursor. */
  readonly position: string;
}

/** Everything one attempt needs: the event, where to send it and how to sign it. */
export interface WebhookDeliveryWork extends WebhookDeliveryView, WebhookSigningSecrets {
  readonly payload: Record<string, unknown>;
  readonly url: string;
  readonly endpointEnabled: boolean;
}

export interface WebhookAttemptOutcome {
  readonly status: WebhookDeliveryStatus;
  readonly responseStatus: number | null;
  readonly error: string | null;
  readonly bodyExcerpt: string | null;
  readonly nextAttemptAt: Date | null;
  readonly jobId: string | null;
}

export interface WebhookDeliveryCursor {
  readonly at: string;
  readonly id: string;
}

const ENDPOINT_COLUMNS = `id, url, description, event_types AS "eventTypes", enabled,
  disabled_reason AS "disabledReason", disabled_at AS "disabledAt",
  previous_secret_expires_at AS "previousSecretExpiresAt", failing_since AS "failingSince",
  created_at AS "createdAt", updated_at AS "updatedAt"`;

const DELIVERY_COLUMNS = `d.id, d.endpoint_id AS "endpointId", d.event_type AS "eventType", d.status,
  d.attempts, d.next_attempt_at AS "nextAttemptAt", d.last_response_status AS "lastResponseStatus",
  d.last_error AS "lastError", d.last_body_excerpt AS "lastBodyExcerpt", d.created_at AS "createdAt",
  d.last_attempt_at AS "lastAttemptAt", d.delivered_at AS "deliveredAt"`;

/** Webhook endpoints and their deliveries (the event log operators read). */
export class WebhookRepository {
  constructor(private readonly manager: EntityManager) {}

  async createEndpoint(endpoint: NewWebhookEndpoint): Promise<WebhookEndpointView> {
    const [row] = await select<WebhookEndpointView>(
      this.manager,
      `INSERT INTO webhook_endpoints (id, url, description, event_types, secret_sealed)
       VALUES ($1, $2, $3, $4, $5) RETURNING ${ENDPOINT_COLUMNS}`,
      [
        endpoint.id,
        endpoint.url,
        endpoint.description,
        [...endpoint.eventTypes],
        endpoint.secretSealed,
      ],
    );
    return row!;
  }

  listEndpoints(): Promise<WebhookEndpointView[]> {
    return select<WebhookEndpointView>(
      this.manager,
      `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY created_at DESC, id DESC`,
      [],
    );
  }

  async findEndpoint(id: string): Promise<WebhookEndpointView | null> {
    const [row] = await select<WebhookEndpointView>(
      this.manager,
      `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1`,
      [id],
    );
    return row ?? null;
  }

  /**
   * Applies the changes that are given. Enabling clears the reason, the date and the failure streak;
   * disabling records `disabledReason`.
   */
  async updateEndpoint(
    id: string,
    changes: WebhookEndpointChanges,
    disabledReason: string,
  ): Promise<WebhookEndpointView | null> {
    const sets: string[] = ['updated_at = now()'];
    const params: unknown[] = [id];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    if (changes.url !== undefined) {
      sets.push(`url = ${param(changes.url)}`);
    }
    if (changes.description !== undefined) {
      sets.push(`description = ${param(changes.description)}`);
    }
    if (changes.eventTypes !== undefined) {
      sets.push(`event_types = ${param([...changes.eventTypes])}`);
    }
    if (changes.enabled === true) {
      sets.push('enabled = true, disabled_reason = NULL, disabled_at = NULL, failing_since = NULL');
    } else if (changes.enabled === false) {
      sets.push(
        `enabled = false, disabled_reason = COALESCE(CASE WHEN enabled THEN ${param(disabledReason)} END, disabled_reason), disabled_at = COALESCE(disabled_at, now())`,
      );
    }
    const [row] = await updateReturning<WebhookEndpointView>(
      this.manager,
      `UPDATE webhook_endpoints SET ${sets.join(', ')} WHERE id = $1 RETURNING ${ENDPOINT_COLUMNS}`,
      params,
    );
    return row ?? null;
  }

  /** The new secret signs from now on; the one it replaces keeps signing until `previousExpiresAt`. */
  async rotateSecret(
    id: string,
    secretSealed: Buffer,
    previousSecretSealed: Buffer,
    previousExpiresAt: Date,
  ): Promise<WebhookEndpointView | null> {
    const [row] = await updateReturning<WebhookEndpointView>(
      this.manager,
      `UPDATE webhook_endpoints SET secret_sealed = $2, previous_secret_sealed = $3,
         previous_secret_expires_at = $4, updated_at = now()
       WHERE id = $1 RETURNING ${ENDPOINT_COLUMNS}`,
      [id, secretSealed, previousSecretSealed, previousExpiresAt],
    );
    return row ?? null;
  }

  async findSecrets(id: string): Promise<WebhookSigningSecrets | null> {
    const [row] = await select<WebhookSigningSecrets>(
      this.manager,
      `SELECT secret_sealed AS "secretSealed", previous_secret_sealed AS "previousSecretSealed",
         previous_secret_expires_at AS "previousSecretExpiresAt"
       FROM webhook_endpoints WHERE id = $1 FOR UPDATE`,
      [id],
    );
    return row ?? null;
  }

  /** Its deliveries go with it. */
  async deleteEndpoint(id: string): Promise<boolean> {
    const rows = await updateReturning<{ id: string }>(
      this.manager,
      'DELETE FROM webhook_endpoints WHERE id = $1 RETURNING id',
      [id],
    );
    return rows.length > 0;
  }

  /** The enabled endpoints that subscribed to `eventType`. */
  async subscribedTo(eventType: string): Promise<string[]> {
    const rows = await select<{ id: string }>(
      this.manager,
      'SELECT id FROM webhook_endpoints WHERE enabled AND $1 = ANY (event_types)',
      [eventType],
    );
    return rows.map((row) => row.id);
  }

  /** What a user event says of its user: the address (the only personal data events carry). */
  async emailOf(userId: string): Promise<string | null> {
    const [row] = await select<{ email: string }>(
      this.manager,
      'SELECT email FROM users WHERE id = $1',
      [userId],
    );
    return row?.email ?? null;
  }

  /** Whose sessions these are, for `session.revoked` events. */
  sessionOwners(
    ids: readonly string[],
  ): Promise<{ id: string; userId: string; clientId: string | null }[]> {
    return select(
      this.manager,
      `SELECT id, user_id AS "userId", client_id AS "clientId" FROM sessions WHERE id = ANY ($1::uuid[])`,
      [[...ids]],
    );
  }

  async createDeliveries(deliveries: readonly NewWebhookDelivery[]): Promise<void> {
    if (deliveries.length === 0) {
      return;
    }
    await this.manager.query(
      `INSERT INTO webhook_deliveries (id, endpoint_id, event_type, payload, job_id, next_attempt_at)
       SELECT d.id, d.endpoint_id, d.event_type, d.payload, d.job_id, now()
       FROM jsonb_to_recordset($1::jsonb)
         AS d(id text, endpoint_id uuid, event_type text, payload jsonb, job_id bigint)`,
      [
        JSON.stringify(
          deliveries.map((delivery) => ({
            id: delivery.id,
            endpoint_id: delivery.endpointId,
            event_type: delivery.eventType,
            payload: delivery.payload,
            job_id: delivery.jobId,
          })),
        ),
      ],
    );
  }

  async findForDelivery(id: string): Promise<WebhookDeliveryWork | null> {
    const [row] = await select<WebhookDeliveryWork>(
      this.manager,
      `SELECT ${DELIVERY_COLUMNS}, d.payload, e.url, e.enabled AS "endpointEnabled",
         e.secret_sealed AS "secretSealed", e.previous_secret_sealed AS "previousSecretSealed",
         e.previous_secret_expires_at AS "previousSecretExpiresAt"
       FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
       WHERE d.id = $1`,
      [id],
    );
    return row ?? null;
  }

  /** One attempt's outcome; `attempts` grows by one. */
  async recordAttempt(id: string, outcome: WebhookAttemptOutcome): Promise<void> {
    await this.manager.query(
      `UPDATE webhook_deliveries SET status = $2::text, attempts = attempts + 1,
         last_attempt_at = now(), last_response_status = $3, last_error = $4,
         last_body_excerpt = $5, next_attempt_at = $6, job_id = COALESCE($7::bigint, job_id),
         delivered_at = CASE WHEN $2::text = 'succeeded' THEN now() ELSE delivered_at END
       WHERE id = $1`,
      [
        id,
        outcome.status,
        outcome.responseStatus,
        outcome.error?.slice(0, 500) ?? null,
        outcome.bodyExcerpt,
        outcome.nextAttemptAt,
        outcome.jobId,
      ],
    );
  }

  /** A success ends the endpoint's failure streak. */
  async endpointSucceeded(endpointId: string): Promise<void> {
    await this.manager.query(
      'UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL',
      [endpointId],
    );
  }

  /**
   * Starts the failure streak if none is running; answers when it started. Reads first: while a
   * streak runs (an outage, many deliveries failing at once) no attempt queues on the row's lock.
   */
  async endpointFailed(endpointId: string): Promise<Date | null> {
    const [current] = await select<{ failingSince: Date | null }>(
      this.manager,
      'SELECT failing_since AS "failingSince" FROM webhook_endpoints WHERE id = $1',
      [endpointId],
    );
    if (!current || current.failingSince) {
      return current?.failingSince ?? null;
    }
    const [row] = await updateReturning<{ failingSince: Date }>(
      this.manager,
      `UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, now()) WHERE id = $1
       RETURNING failing_since AS "failingSince"`,
      [endpointId],
    );
    return row?.failingSince ?? null;
  }

  /** Disabled with `reason` if it was enabled; answers whether this call disabled it. */
  async disableEndpoint(endpointId: string, reason: string): Promise<boolean> {
    const rows = await updateReturning<{ id: string }>(
      this.manager,
      `UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2, disabled_at = now(),
         updated_at = now()
       WHERE id = $1 AND enabled RETURNING id`,
      [endpointId, reason.slice(0, 500)],
    );
    return rows.length > 0;
  }

  /** Housekeeping: settled deliveries created before `createdBefore`, one batch. */
  async deleteFinishedBatch(createdBefore: Date, limit: number): Promise<number> {
    const rows = await updateReturning(
      this.manager,
      `DELETE FROM webhook_deliveries WHERE id IN (
         SELECT id FROM webhook_deliveries
         WHERE status IN ('succeeded', 'failed') AND created_at < $1
         LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING id`,
      [createdBefore, limit],
    );
    return rows.length;
  }

  async findDelivery(endpointId: string, id: string): Promise<WebhookDeliveryView | null> {
    const [row] = await select<WebhookDeliveryView>(
      this.manager,
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.endpoint_id = $1 AND d.id = $2`,
      [endpointId, id],
    );
    return row ?? null;
  }

  /** Pending again with a fresh set of attempts, under a new job; same id (same `webhook-id`). */
  async requeueDelivery(id: string, jobId: string): Promise<WebhookDeliveryView | null> {
    const [row] = await updateReturning<WebhookDeliveryView>(
      this.manager,
      `UPDATE webhook_deliveries d SET status = 'pending', attempts = 0, next_attempt_at = now(),
         job_id = $2
       WHERE d.id = $1 RETURNING ${DELIVERY_COLUMNS}`,
      [id, jobId],
    );
    return row ?? null;
  }

  /** Newest first, keyset on (created_at, id); `limit + 1` rows so the caller sees whether more follow. */
  listDeliveries(
    endpointId: string,
    cursor: WebhookDeliveryCursor | null,
    limit: number,
  ): Promise<WebhookDeliveryListRow[]> {
    const params: unknown[] = [endpointId];
    let where = 'd.endpoint_id = $1';
    if (cursor) {
      params.push(cursor.at, cursor.id);
      where += ' AND (d.created_at, d.id) < ($2::timestamptz, $3::text)';
    }
    params.push(limit + 1);
    return select<WebhookDeliveryListRow>(
      this.manager,
      `SELECT ${DELIVERY_COLUMNS}, d.created_at::text AS position FROM webhook_deliveries d
       WHERE ${where} ORDER BY d.created_at DESC, d.id DESC LIMIT $${params.length}`,
      params,
    );
  }
}
