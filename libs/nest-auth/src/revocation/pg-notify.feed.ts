import { Logger } from '@nestjs/common';
import pg from 'pg';

import { backfillRevocations, deliverRevocation } from './backfill.js';
import { REVOCATION_CHANNEL, type RevocationFeed, type RevocationSink } from './revocation-feed.js';

export interface PgRevocationFeedOptions {
  /** The database auth-api writes `revocations` to (and NOTIFYs on). */
  readonly databaseUrl: string;
  /** First reconnect delay; doubles up to 5 s. */
  readonly reconnectDelayMs?: number;
  /** Shown in pg_stat_activity. */
  readonly applicationName?: string;
}

/**
 * The default feed: PostgreSQL LISTEN on one dedicated connection. NOTIFY is transactional, so an
 * event arrives exactly when the revocation commits. On (re)connect it LISTENs first, then reads every
 * revocation still in force from the table — so nothing revoked while it was away is missed.
 */
export class PgRevocationFeed implements RevocationFeed {
  private readonly logger = new Logger(PgRevocationFeed.name);
  private client: pg.Client | undefined;
  private sink: RevocationSink | undefined;
  private stopped = false;
  private retryDelay: number;
  private connectedOnce = false;
  /** Resolves at every successful (re)connection: lets tests and health checks wait for it. */
  private connectedListeners: (() => void)[] = [];

  constructor(private readonly options: PgRevocationFeedOptions) {
    this.retryDelay = options.reconnectDelayMs ?? 100;
  }

  /**
   * Connects, LISTENs and backfills; rejects when PostgreSQL cannot be reached (the module starts it
   * again later). Once started, lost connections are retried by the feed itself.
   */
  async start(sink: RevocationSink): Promise<void> {
    this.sink = sink;
    this.stopped = false;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  /** Resolves once the feed is listening again (immediately if it is). */
  whenConnected(): Promise<void> {
    return this.client
      ? Promise.resolve()
      : new Promise((resolve) => this.connectedListeners.push(resolve));
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.databaseUrl,
      application_name: this.options.applicationName ?? 'gatehouse-revocation-feed',
    });
    client.on('notification', (message) => {
      if (this.sink) {
        deliverRevocation(message.payload, this.sink);
      }
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${REVOCATION_CHANNEL}`);
      if (this.sink) {
        await backfillRevocations(client, this.sink);
      }
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    this.client = client;
    this.retryDelay = this.options.reconnectDelayMs ?? 100;
    if (this.connectedOnce) {
      this.logger.log('Revocation feed reconnected and backfilled');
      this.sink?.caughtUp?.();
    }
    this.connectedOnce = true;
    this.connectedListeners.splice(0).forEach((resolve) => resolve());
  }

  private lost(client: pg.Client, error?: Error): void {
    if (this.client !== client || this.stopped) {
      return;
    }
    this.client = undefined;
    this.sink?.disconnected?.();
    this.logger.warn(`Revocation feed lost its connection${error ? `: ${error.message}` : ''}`);
    client.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, 5000);
    setTimeout(() => {
      if (this.stopped) {
        return;
      }
      this.connect().catch((error: unknown) => {
        this.logger.warn(`Revocation feed reconnect failed: ${(error as Error).message}`);
        this.scheduleReconnect();
      });
    }, delay).unref();
  }
}
