import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { Database } from '@gatehouse/persistence';

import { Clock } from '../clock.js';

export interface HousekeepingResult {
  readonly sessions: number;
  readonly revocations: number;
  /** Sealed refresh-token successors erased once their grace window was over. */
  readonly successors: number;
  /** Authorization codes and device authorization requests past their expiry. */
  readonly grants: number;
  /** Finished back-channel logout deliveries older than the session retention. */
  readonly logoutDeliveries: number;
  /** Finished webhook deliveries (succeeded or failed) older than the session retention. */
  readonly webhookDeliveries: number;
}

/** Small enough that one DELETE holds its row locks for milliseconds. */
const DEFAULT_BATCH_SIZE = 500;

/**
 * Deletes sessions that ended (revoked or expired) longer ago than the retention period (and the
 * finished back-channel logout and webhook deliveries as old), and feed rows that can no longer cover an access
 * token. Batches run as separate statements, so a purge of millions
 * of rows never holds long locks or one huge transaction; `SKIP LOCKED` lets concurrent purges (one per
 * instance) share the work instead of queueing.
 */
@Injectable()
export class SessionHousekeeping {
  private readonly retentionSeconds: number;
  private readonly graceSeconds: number;

  constructor(
    @InjectConfig() config: GatehouseConfig,
    private readonly database: Database,
    private readonly clock: Clock,
  ) {
    this.retentionSeconds = config.session.retentionSeconds;
    this.graceSeconds = config.tokens.refreshReuseGraceSeconds;
  }

  async purge(batchSize = DEFAULT_BATCH_SIZE): Promise<HousekeepingResult> {
    const now = this.clock.now();
    const endedBefore = new Date(now.getTime() - this.retentionSeconds * 1000);
    let sessions = 0;
    for (;;) {
      const deleted = await this.database.sessions.deleteEndedBatch(endedBefore, batchSize);
      sessions += deleted;
      if (deleted < batchSize) {
        break;
      }
    }
    const revocations = await this.database.revocations.deleteExpired(now);
    let grants = 0;
    for (const table of [
      this.database.authorizationCodes,
      this.database.deviceAuthorizations,
    ] as const) {
      for (;;) {
        const deleted = await table.deleteExpired(now, batchSize);
        grants += deleted;
        if (deleted < batchSize) {
          break;
        }
      }
    }
    let logoutDeliveries = 0;
    for (;;) {
      const deleted = await this.database.logoutDeliveries.deleteFinishedBatch(
        endedBefore,
        batchSize,
      );
      logoutDeliveries += deleted;
      if (deleted < batchSize) {
        break;
      }
    }
    let webhookDeliveries = 0;
    for (;;) {
      const deleted = await this.database.webhooks.deleteFinishedBatch(endedBefore, batchSize);
      webhookDeliveries += deleted;
      if (deleted < batchSize) {
        break;
      }
    }
    const successors = await this.database.refreshTokens.eraseSealedTokensIssuedBefore(
      new Date(now.getTime() - this.graceSeconds * 1000),
    );
    return { sessions, revocations, successors, grants, logoutDeliveries, webhookDeliveries };
  }
}
