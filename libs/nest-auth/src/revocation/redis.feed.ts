import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import pg from 'pg';

import { backfillRevocations, parseRevocation } from './backfill.js';
import { REVOCATION_CHANNEL, type RevocationFeed, type RevocationSink } from './revocation-feed.js';

export interface RedisRevocationFeedOptions {
  readonly redisUrl: string;
  /** The database holding the `revocations` table, for backfill. */
  readonly databaseUrl: string;
  /**
   * Pub/sub does not redeliver: besides every (re)connect, the table is re-read this often, which
   * bounds how long a lost publish can go unnoticed. 10 s by default.
   */
  readonly backfillEveryMs?: number;
}

/** The feed over Redis pub/sub (when `REDIS_URL` is set), with backfill from PostgreSQL. */
export class RedisRevocationFeed implements RevocationFeed {
  private readonly logger = new Logger(RedisRevocationFeed.name);
  private subscriber: Redis | undefined;
  private pool: pg.Pool | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: RedisRevocationFeedOptions) {}

  async start(sink: RevocationSink): Promise<void> {
    const pool = new pg.Pool({ connectionString: this.options.databaseUrl, max: 1 });
    pool.on('error', (error) =>
      this.logger.warn(`Revocation backfill connection: ${error.message}`),
    );
    const backfill = () =>
      backfillRevocations(pool, sink).catch((error: unknown) =>
        this.logger.warn(`Revocation backfill failed: ${(error as Error).message}`),
      );
    const subscriber = new Redis(this.options.redisUrl);
    subscriber.on('message', (_channel: string, message: string) => {
      const event = parseRevocation(message);
      if (event) {
        sink.revoked(event);
      }
    });
    subscriber.on('error', (error: Error) =>
      this.logger.warn(`Revocation feed (Redis): ${error.message}`),
    );
    // ioredis re-subscribes by itself after a reconnect; each `ready` catches up what was missed.
    subscriber.on('ready', () => void backfill());
    await subscriber.subscribe(REVOCATION_CHANNEL);
    await backfillRevocations(pool, sink);
    this.timer = setInterval(() => void backfill(), this.options.backfillEveryMs ?? 10_000).unref();
    this.subscriber = subscriber;
    this.pool = pool;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.subscriber?.disconnect();
    await this.pool?.end();
  }
}
