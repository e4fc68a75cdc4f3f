import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import {
  Database,
  type JobAttempt,
  type LogoutDeliveryCursor,
  type LogoutDeliveryListRow,
  type Repositories,
} from '@gatehouse/persistence';

import { AuditService } from '../audit/audit.service.js';
import { OutboundFailedError, OutboundRefusedError } from '../outbound/outbound.errors.js';
import { OutboundHttp } from '../outbound/outbound-http.js';
import { type EndedSessions, RevocationService } from '../revocations/revocation.service.js';
import { LogoutTokenIssuer } from './logout-token.js';

/** The graphile-worker task that delivers one logout token. */
export const BACKCHANNEL_LOGOUT_TASK = 'backchannel_logout.deliver';

const SYSTEM_ACTOR = 'system:backchannel-logout';

/** Thrown to the job queue so it schedules the next attempt; carries no stack to be logged. */
class LogoutAttemptFailed extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'LogoutAttemptFailed';
    this.stack = undefined;
  }
}

function deliveryIdOf(payload: unknown): string | undefined {
  const deliveryId = (payload as { deliveryId?: unknown } | null)?.deliveryId;
  return typeof deliveryId === 'string' ? deliveryId : undefined;
}

/**
 * OpenID Connect Back-Channel Logout 1.0, the OP's side. When sessions end (any reason: the
 * RevocationService's in-transaction hook), every client that received tokens in one of them and
 * registered a `backchannelLogoutUri` gets a logout token: one `logout_deliveries` row and one job
 * per (client, session), written in the transaction that ends the session, so they exist if and only
 * if the revocation commits. In Gatehouse's session model the client that received tokens in a
 * session is the client of the token session (every code, device or password grant starts one, and
 * its `sid` is the one in the ID token); a browser's cookie session holds no client's tokens.
 *
 * The worker (task `backchannel_logout.deliver`) signs a fresh token at each attempt and POSTs it
 * through the SSRF guard: 200/204 is delivered; anything else is retried with the queue's backoff,
 * up to BACKCHANNEL_LOGOUT_MAX_ATTEMPTS; a refused URI or address is recorded and never retried.
 */
@Injectable()
export class BackchannelLogoutService implements OnModuleInit {
  private readonly logger = new Logger(BackchannelLogoutService.name);

  constructor(
    @InjectConfig() private readonly config: GatehouseConfig,
    private readonly database: Database,
    private readonly revocations: RevocationService,
    private readonly tokens: LogoutTokenIssuer,
    private readonly outbound: OutboundHttp,
    private readonly audit: AuditService,
  ) {}

  onModuleInit(): void {
    this.revocations.onSessionsEnded({
      sessionsEnded: (repositories, ended) => this.enqueue(repositories, ended),
    });
  }

  /** In the revocation's transaction: one delivery and one job per client to tell. */
  async enqueue(repositories: Repositories, ended: EndedSessions): Promise<void> {
    const planned = await repositories.logoutDeliveries.planForSessions(
      ended.ids,
      ended.revocation.reason,
    );
    for (const delivery of planned) {
      const jobId = await repositories.jobs.add({
        task: BACKCHANNEL_LOGOUT_TASK,
        payload: { deliveryId: delivery.id },
        maxAttempts: this.config.backchannelLogout.maxAttempts,
      });
      await repositories.logoutDeliveries.linkJob(delivery.id, jobId);
    }
  }

  /** A client's logout-token deliveries for operators, newest first; `limit + 1` rows. */
  listDeliveries(
    clientId: string,
    cursor: LogoutDeliveryCursor | null,
    limit: number,
  ): Promise<LogoutDeliveryListRow[]> {
    return this.database.logoutDeliveries.listPage(clientId, cursor, limit);
  }

  /** The worker's side of one delivery. Logs name the delivery and client, never the token. */
  async deliver(payload: unknown, job: JobAttempt): Promise<void> {
    const deliveryId = deliveryIdOf(payload);
    const delivery = deliveryId ? await this.database.logoutDeliveries.find(deliveryId) : null;
    if (!delivery || delivery.status === 'delivered' || delivery.status === 'refused') {
      return;
    }
    let failure: { error: string; responseStatus: number | null };
    try {
      const token = await this.tokens.issue({
        clientId: delivery.clientId,
        userId: delivery.userId,
        sessionId: delivery.sessionId,
      });
      const response = await this.outbound.post(delivery.uri, {
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'cache-control': 'no-store',
        },
        body: new URLSearchParams({ logout_token: token }).toString(),
      });
      if (response.status === 200 || response.status === 204) {
        await this.database.logoutDeliveries.recordAttempt(delivery.id, {
          status: 'delivered',
          error: null,
          responseStatus: response.status,
        });
        return;
      }
      failure = {
        error: `HTTP ${response.status}: ${response.bodyExcerpt}`,
        responseStatus: response.status,
      };
    } catch (error) {
      if (error instanceof OutboundRefusedError) {
        await this.giveUp(delivery.id, delivery.clientId, 'refused', {
          error: `refused (${error.refusal.reason}): ${error.refusal.message}`,
          responseStatus: null,
        });
        return;
      }
      // Anything else (the signing key unreadable, the database away) is a failed attempt too,
      // recorded by its name only: an unexpected error's message is not for the operators' log.
      failure =
        error instanceof OutboundFailedError
          ? { error: `${error.reason}: ${error.message}`, responseStatus: error.status ?? null }
          : {
              error: `error: ${error instanceof Error ? error.name : 'unknown'}`,
              responseStatus: null,
            };
    }
    if (job.attempt >= job.maxAttempts) {
      await this.giveUp(delivery.id, delivery.clientId, 'dead', failure);
      return;
    }
    await this.database.logoutDeliveries.recordAttempt(delivery.id, {
      status: 'failed',
      ...failure,
    });
    throw new LogoutAttemptFailed(failure.error);
  }

  /** No attempt is left (or the guard refused the target): recorded, audited and logged. */
  private async giveUp(
    deliveryId: string,
    clientId: string,
    status: 'dead' | 'refused',
    failure: { error: string; responseStatus: number | null },
  ): Promise<void> {
    await this.database.transaction(async (repositories) => {
      await repositories.logoutDeliveries.recordAttempt(deliveryId, { status, ...failure });
      await this.audit.record(repositories, {
        actor: SYSTEM_ACTOR,
        action: 'client.backchannel_logout_failed',
        subject: `client:${clientId}`,
        details: { deliveryId, status, error: failure.error.slice(0, 200) },
      });
    });
    this.logger.warn(
      `Logout token ${deliveryId} for client ${clientId} ${status}: ${failure.error}`,
    );
  }
}
