import { randomUUID } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import {
  Database,
  type WebhookDeliveryCursor,
  type WebhookDeliveryListRow,
  type WebhookDeliveryView,
  type WebhookEndpointView,
} from '@gatehouse/persistence';

import { AuditService } from '../audit/audit.service.js';
import {
  ValidationFailedError,
  WebhookDeliveryNotFoundError,
  WebhookNotFoundError,
} from '../identity.errors.js';
import { checkOutboundUrl } from '../outbound/outbound-policy.js';
import type { ClientContext } from '../sessions/session.service.js';
import { deriveKey, seal } from '../signing-keys/key-encryption.js';
import {
  WEBHOOK_DELIVER_TASK,
  WEBHOOK_JOB_MAX_ATTEMPTS,
  webhookJobKey,
} from './webhook-emitter.js';
import type { WebhookEventType } from './webhook-events.js';
import { newWebhookSecret } from './webhook-signature.js';

/** How long the secret a rotation replaces keeps signing beside the new one. */
export const WEBHOOK_SECRET_OVERLAP_SECONDS = 24 * 60 * 60;

export function webhookSecretsKey(config: GatehouseConfig): Buffer {
  if (!config.keys.encryptionKey) {
    throw new Error('KEY_ENCRYPTION_KEY is not set: webhook secrets cannot be sealed or opened.');
  }
  return deriveKey(config.keys.encryptionKey, 'webhook-secrets');
}

/** A secret is bound to its endpoint and its slot: it cannot be moved to another row and opened. */
export const secretContext = (endpointId: string) => `webhook:${endpointId}`;

/**
 * The audit log (readable with `audit:read`, by support too) keeps an endpoint's origin only: a
 * webhook URL's path or query often carries a token of the receiver's (Slack-style URLs).
 */
const auditedUrl = (url: string) => new URL(url).origin;

export interface NewWebhookEndpointRequest {
  readonly url: string;
  readonly eventTypes: readonly WebhookEventType[];
  readonly description?: string | null;
}

export interface WebhookEndpointUpdate {
  readonly url?: string;
  readonly eventTypes?: readonly WebhookEventType[];
  readonly description?: string | null;
  readonly enabled?: boolean;
}

/** An endpoint with its secret in clear: answered once, at creation and at each rotation. */
export interface WebhookEndpointWithSecret {
  readonly endpoint: WebhookEndpointView;
  readonly secret: string;
}

interface Operator {
  readonly id: string;
  readonly context: ClientContext;
}

/** Operators' side of the webhooks (admin-api): endpoints, secrets, the delivery log, replay. */
@Injectable()
export class WebhookService {
  private readonly secretsKey: Buffer;

  constructor(
    @InjectConfig() private readonly config: GatehouseConfig,
    private readonly database: Database,
    private readonly audit: AuditService,
  ) {
    this.secretsKey = webhookSecretsKey(config);
  }

  /** The URL must pass the SSRF guard; the secret is sealed and answered this once. */
  create(
    request: NewWebhookEndpointRequest,
    operator: Operator,
  ): Promise<WebhookEndpointWithSecret> {
    this.checkUrl(request.url);
    const id = randomUUID();
    const secret = newWebhookSecret();
    return this.database.transaction(async (repositories) => {
      const endpoint = await repositories.webhooks.createEndpoint({
        id,
        url: request.url,
        description: request.description ?? null,
        eventTypes: [...new Set(request.eventTypes)],
        secretSealed: this.seal(id, secret),
      });
      await this.audit.record(repositories, {
        actor: `user:${operator.id}`,
        action: 'admin.webhook_created',
        subject: `webhook:${id}`,
        ip: operator.context.ip,
        details: { url: auditedUrl(request.url), eventTypes: endpoint.eventTypes },
      });
      return { endpoint, secret };
    });
  }

  list(): Promise<WebhookEndpointView[]> {
    return this.database.webhooks.listEndpoints();
  }

  async get(id: string): Promise<WebhookEndpointView> {
    const endpoint = await this.database.webhooks.findEndpoint(id);
    if (!endpoint) {
      throw new WebhookNotFoundError();
    }
    return endpoint;
  }

  update(id: string, changes: WebhookEndpointUpdate, operator: Operator) {
    if (changes.url !== undefined) {
      this.checkUrl(changes.url);
    }
    return this.database.transaction(async (repositories) => {
      const endpoint = await repositories.webhooks.updateEndpoint(
        id,
        {
          ...changes,
          eventTypes: changes.eventTypes ? [...new Set(changes.eventTypes)] : undefined,
        },
        `Disabled by user:${operator.id}.`,
      );
      if (!endpoint) {
        throw new WebhookNotFoundError();
      }
      await this.audit.record(repositories, {
        actor: `user:${operator.id}`,
        action: 'admin.webhook_updated',
        subject: `webhook:${id}`,
        ip: operator.context.ip,
        details: {
          ...changes,
          ...(changes.url === undefined ? {} : { url: auditedUrl(changes.url) }),
        },
      });
      return endpoint;
    });
  }

  delete(id: string, operator: Operator): Promise<void> {
    return this.database.transaction(async (repositories) => {
      if (!(await repositories.webhooks.deleteEndpoint(id))) {
        throw new WebhookNotFoundError();
      }
      await this.audit.record(repositories, {
        actor: `user:${operator.id}`,
        action: 'admin.webhook_deleted',
        subject: `webhook:${id}`,
        ip: operator.context.ip,
      });
    });
  }

  /**
   * A new secret signs from now on; the one it replaces signs beside it (two signatures in
   * `webhook-signature`) for `WEBHOOK_SECRET_OVERLAP_SECONDS`, while receivers switch over.
   */
  rotateSecret(id: string, operator: Operator): Promise<WebhookEndpointWithSecret> {
    const secret = newWebhookSecret();
    return this.database.transaction(async (repositories) => {
      const current = await repositories.webhooks.findSecrets(id);
      if (!current) {
        throw new WebhookNotFoundError();
      }
      const expires = new Date(Date.now() + WEBHOOK_SECRET_OVERLAP_SECONDS * 1000);
      const endpoint = await repositories.webhooks.rotateSecret(
        id,
        this.seal(id, secret),
        current.secretSealed,
        expires,
      );
      await this.audit.record(repositories, {
        actor: `user:${operator.id}`,
        action: 'admin.webhook_secret_rotated',
        subject: `webhook:${id}`,
        ip: operator.context.ip,
        details: { previousSecretExpiresAt: expires.toISOString() },
      });
      return { endpoint: endpoint!, secret };
    });
  }

  /** Newest first; `limit + 1` rows so the caller knows whether another page follows. */
  async deliveries(
    id: string,
    cursor: WebhookDeliveryCursor | null,
    limit: number,
  ): Promise<WebhookDeliveryListRow[]> {
    await this.get(id);
    return this.database.webhooks.listDeliveries(id, cursor, limit);
  }

  /**
   * Sends one delivery again, now, with the same `webhook-id` and a fresh set of attempts, whatever
   * its status. Its job key replaces a pending attempt instead of adding a second one.
   */
  replay(id: string, deliveryId: string, operator: Operator): Promise<WebhookDeliveryView> {
    return this.database.transaction(async (repositories) => {
      const delivery = await repositories.webhooks.findDelivery(id, deliveryId);
      if (!delivery) {
        throw (await repositories.webhooks.findEndpoint(id))
          ? new WebhookDeliveryNotFoundError()
          : new WebhookNotFoundError();
      }
      const jobId = await repositories.jobs.add({
        task: WEBHOOK_DELIVER_TASK,
        payload: { deliveryId },
        key: webhookJobKey(deliveryId),
        maxAttempts: WEBHOOK_JOB_MAX_ATTEMPTS,
      });
      const replayed = await repositories.webhooks.requeueDelivery(deliveryId, jobId);
      await this.audit.record(repositories, {
        actor: `user:${operator.id}`,
        action: 'admin.webhook_delivery_replayed',
        subject: `webhook:${id}`,
        ip: operator.context.ip,
        details: { deliveryId, eventType: delivery.eventType, previousStatus: delivery.status },
      });
      return replayed!;
    });
  }

  private checkUrl(url: string): void {
    const refusal = checkOutboundUrl(url, this.config.outbound);
    if (refusal) {
      throw new ValidationFailedError(
        [{ field: 'url', messages: [`${refusal.reason}: ${refusal.message}`] }],
        'The URL is not allowed as a webhook endpoint.',
      );
    }
  }

  private seal(endpointId: string, secret: string): Buffer {
    return seal(this.secretsKey, Buffer.from(secret), secretContext(endpointId));
  }
}
