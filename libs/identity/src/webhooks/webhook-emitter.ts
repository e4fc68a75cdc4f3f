import { randomBytes } from 'node:crypto';

import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { NewWebhookDelivery, Repositories } from '@gatehouse/persistence';

import { Clock } from '../clock.js';
import { RevocationService } from '../revocations/revocation.service.js';
import type { WebhookEvent } from './webhook-events.js';

/** The job queue's task that makes one delivery attempt (`WebhookDeliveryTask`). */
export const WEBHOOK_DELIVER_TASK = 'webhook.deliver';

/** graphile-worker's own retries are for a worker that crashed mid-attempt; the schedule is ours. */
export const WEBHOOK_JOB_MAX_ATTEMPTS = 5;

export const webhookJobKey = (deliveryId: string) => `webhook:${deliveryId}`;

/** A `webhook-id`: `msg_` and 16 random bytes, base64url. */
export const newMessageId = () => `msg_${randomBytes(16).toString('base64url')}`;

/**
 * Turns events into deliveries, INSIDE the transaction of the change that causes them: one delivery
 * row and one job per enabled endpoint subscribed to the event's type, so an event is delivered if
 * and only if its change commits. Events come from `AuditService.record` (see `eventFromAudit`) and,
 * for `session.revoked`, from the RevocationService's session-end hook registered here.
 */
@Injectable()
export class WebhookEmitter implements OnModuleInit {
  constructor(
    private readonly revocations: RevocationService,
    private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    this.revocations.onSessionsEnded({
      sessionsEnded: async (repositories, { ids, revocation }) => {
        const endpoints = await repositories.webhooks.subscribedTo('session.revoked');
        if (endpoints.length === 0) {
          return;
        }
        const owners = await repositories.webhooks.sessionOwners(ids);
        const events = owners.map((session): WebhookEvent => ({
          type: 'session.revoked',
          data: {
            sessionId: session.id,
            userId: session.userId,
            clientId: session.clientId,
            reason: revocation.reason,
          },
        }));
        await this.deliver(repositories, endpoints, events, revocation.at);
      },
    });
  }

  /** Queues `event` for every endpoint subscribed to it; answers the delivery ids. */
  async emit(repositories: Repositories, event: WebhookEvent): Promise<string[]> {
    const endpoints = await repositories.webhooks.subscribedTo(event.type);
    if (endpoints.length === 0) {
      return [];
    }
    const email = event.aboutUser ? await repositories.webhooks.emailOf(event.aboutUser) : null;
    const data = email ? { ...event.data, email } : event.data;
    return this.deliver(repositories, endpoints, [{ ...event, data }], this.clock.now());
  }

  private async deliver(
    repositories: Repositories,
    endpoints: readonly string[],
    events: readonly WebhookEvent[],
    at: Date,
  ): Promise<string[]> {
    const deliveries: NewWebhookDelivery[] = [];
    for (const event of events) {
      const payload = { type: event.type, timestamp: at.toISOString(), data: event.data };
      for (const endpointId of endpoints) {
        const id = newMessageId();
        const jobId = await repositories.jobs.add({
          task: WEBHOOK_DELIVER_TASK,
          payload: { deliveryId: id },
          key: webhookJobKey(id),
          maxAttempts: WEBHOOK_JOB_MAX_ATTEMPTS,
        });
        deliveries.push({ id, endpointId, eventType: event.type, payload, jobId });
      }
    }
    await repositories.webhooks.createDeliveries(deliveries);
    return deliveries.map((delivery) => delivery.id);
  }
}
