import { Injectable, Logger } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import {
  Database,
  type Repositories,
  type WebhookAttemptOutcome,
  type WebhookDeliveryWork,
} from '@gatehouse/persistence';

import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../clock.js';
import { OutboundFailedError, OutboundRefusedError } from '../outbound/outbound.errors.js';
import { OutboundHttp, type OutboundResponse } from '../outbound/outbound-http.js';
import { open } from '../signing-keys/key-encryption.js';
import {
  WEBHOOK_DELIVER_TASK,
  WEBHOOK_JOB_MAX_ATTEMPTS,
  webhookJobKey,
} from './webhook-emitter.js';
import { secretContext, webhookSecretsKey } from './webhook.service.js';
import { signWebhook } from './webhook-signature.js';

function deliveryIdOf(payload: unknown): string | undefined {
  const deliveryId = (payload as { deliveryId?: unknown } | null)?.deliveryId;
  return typeof deliveryId === 'string' ? deliveryId : undefined;
}

type AttemptResult =
  | { readonly kind: 'response'; readonly response: OutboundResponse }
  | { readonly kind: 'failed'; readonly error: string; readonly retry: boolean };

/**
 * The worker's side of a webhook (task `webhook.deliver`): one attempt of one delivery. Signs the
 * event (Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`, one signature per
 * live secret) and POSTs it through the SSRF guard. A 2xx is a success. Anything else is recorded and,
 * while the schedule (`WEBHOOK_RETRY_SCHEDULE`) has attempts left, the next attempt is enqueued with
 * its `run_at` in the same transaction that records this one; a URL the guard refuses is failed at
 * once, not retried. An endpoint that has failed without a success for `WEBHOOK_DISABLE_AFTER_SECONDS`
 * is disabled (audited `webhook.endpoint_disabled`). graphile-worker's own retries only cover a worker
 * that died mid-attempt. Logs name the delivery, never its payload or secret.
 */
@Injectable()
export class WebhookDeliveryTask {
  private readonly logger = new Logger(WebhookDeliveryTask.name);
  private readonly secretsKey: Buffer;

  constructor(
    @InjectConfig() private readonly config: GatehouseConfig,
    private readonly database: Database,
    private readonly http: OutboundHttp,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {
    this.secretsKey = webhookSecretsKey(config);
  }

  async deliver(payload: unknown): Promise<void> {
    const deliveryId = deliveryIdOf(payload);
    const delivery = deliveryId ? await this.database.webhooks.findForDelivery(deliveryId) : null;
    if (!delivery || delivery.status !== 'pending') {
      // Gone with its endpoint, or already settled by an attempt whose job completion was lost.
      return;
    }
    if (!delivery.endpointEnabled) {
      await this.database.webhooks.recordAttempt(delivery.id, {
        status: 'failed',
        responseStatus: null,
        error: 'endpoint disabled',
        bodyExcerpt: null,
        nextAttemptAt: null,
        jobId: null,
      });
      return;
    }
    const result = await this.attempt(delivery);
    await this.database.transaction((repositories) => this.record(repositories, delivery, result));
  }

  private async attempt(delivery: WebhookDeliveryWork): Promise<AttemptResult> {
    const body = JSON.stringify(delivery.payload);
    const timestamp = Math.floor(this.clock.now().getTime() / 1000);
    try {
      const response = await this.http.post(delivery.url, {
        headers: {
          'content-type': 'application/json',
          'webhook-id': delivery.id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signWebhook(delivery.id, timestamp, body, this.secrets(delivery)),
        },
        body,
      });
      return { kind: 'response', response };
    } catch (error) {
      if (error instanceof OutboundRefusedError) {
        return {
          kind: 'failed',
          error: `refused (${error.refusal.reason}): ${error.refusal.message}`,
          retry: false,
        };
      }
      if (error instanceof OutboundFailedError) {
        return { kind: 'failed', error: `${error.reason}: ${error.message}`, retry: true };
      }
      throw error;
    }
  }

  private async record(
    repositories: Repositories,
    delivery: WebhookDeliveryWork,
    result: AttemptResult,
  ): Promise<void> {
    const succeeded =
      result.kind === 'response' && result.response.status >= 200 && result.response.status < 300;
    if (succeeded) {
      await repositories.webhooks.recordAttempt(delivery.id, {
        status: 'succeeded',
        responseStatus: result.response.status,
        error: null,
        bodyExcerpt: result.response.bodyExcerpt,
        nextAttemptAt: null,
        jobId: null,
      });
      await repositories.webhooks.endpointSucceeded(delivery.endpointId);
      return;
    }
    const attempts = delivery.attempts + 1;
    const schedule = this.config.webhooks.retryScheduleSeconds;
    const retry = result.kind === 'response' || result.retry;
    const delay = retry && attempts < schedule.length ? schedule[attempts] : undefined;
    const nextAttemptAt =
      delay === undefined ? null : new Date(this.clock.now().getTime() + delay * 1000);
    const jobId = nextAttemptAt
      ? await repositories.jobs.add({
          task: WEBHOOK_DELIVER_TASK,
          payload: { deliveryId: delivery.id },
          key: webhookJobKey(delivery.id),
          maxAttempts: WEBHOOK_JOB_MAX_ATTEMPTS,
          runAt: nextAttemptAt,
        })
      : null;
    const outcome: WebhookAttemptOutcome = {
      status: nextAttemptAt ? 'pending' : 'failed',
      responseStatus: result.kind === 'response' ? result.response.status : null,
      error: result.kind === 'response' ? `status ${result.response.status}` : result.error,
      bodyExcerpt: result.kind === 'response' ? result.response.bodyExcerpt : null,
      nextAttemptAt,
      jobId,
    };
    await repositories.webhooks.recordAttempt(delivery.id, outcome);
    await this.disableIfFailingTooLong(repositories, delivery.endpointId);
    this.logger.warn(
      `Webhook delivery ${delivery.id} (${delivery.eventType}) attempt ${attempts} failed: ${outcome.error}${nextAttemptAt ? '' : ' (no attempt left)'}`,
    );
  }

  private async disableIfFailingTooLong(
    repositories: Repositories,
    endpointId: string,
  ): Promise<void> {
    const failingSince = await repositories.webhooks.endpointFailed(endpointId);
    const limit = this.config.webhooks.disableAfterSeconds;
    if (!failingSince || this.clock.now().getTime() - failingSince.getTime() < limit * 1000) {
      return;
    }
    const reason = `Every delivery failed since ${failingSince.toISOString()} (over ${limit} s).`;
    if (await repositories.webhooks.disableEndpoint(endpointId, reason)) {
      await this.audit.record(repositories, {
        actor: 'system',
        action: 'webhook.endpoint_disabled',
        subject: `webhook:${endpointId}`,
        details: { failingSince: failingSince.toISOString(), afterSeconds: limit },
      });
      this.logger.warn(`Webhook endpoint ${endpointId} disabled: ${reason}`);
    }
  }

  /** The current secret, and the previous one while its overlap lasts. */
  private secrets(delivery: WebhookDeliveryWork): string[] {
    const context = secretContext(delivery.endpointId);
    const secrets = [open(this.secretsKey, delivery.secretSealed, context).toString('utf8')];
    if (
      delivery.previousSecretSealed &&
      delivery.previousSecretExpiresAt &&
      delivery.previousSecretExpiresAt.getTime() > this.clock.now().getTime()
    ) {
      secrets.push(open(this.secretsKey, delivery.previousSecretSealed, context).toString('utf8'));
    }
    return secrets;
  }
}
