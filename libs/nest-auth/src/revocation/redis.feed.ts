import { Logger } from '@nestjs/common';
import type * as IoRedis from 'ioredis';
import pg from 'pg';

import { optionalPeer } from '../optional-peer.js';
import { backfillRevocations, deliverRevocation } from './backfill.js';
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

/** How long start() waits for the subscription before going on without it (Redis down). */
const SUBSCRIBE_WAIT_MS = 2_000;
/** Redis errors repeat at every reconnect attempt: one warning a minute is enough. */
const WARNING_EVERY_MS = 60_000;

/**
 * The feed over Redis pub/sub (when `REDIS_URL` is set), with backfill from PostgreSQL. If Redis is
 * down at start, the app starts anyway: revocations arrive by the backfill until Redis is back, when
 * the queued subscription goes through.
 */
export class RedisRevocationFeed implements RevocationFeed {
  private readonly logger = new Logger(RedisRevocationFeed.name);
  private readonly Redis: typeof IoRedis.Redis;
  private subscriber: IoRedis.Redis | undefined;
  private pool: pg.Pool | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastWarning = 0;

  /** Throws when the app has not installed `ioredis` (an optional peer: only this feed needs it). */
  constructor(private readonly options: RedisRevocationFeedOptions) {
    const ioredis = optionalPeer<typeof IoRedis>('ioredis');
    if (!ioredis) {
      throw new Error('RedisRevocationFeed needs the ioredis package: npm install ioredis@^5');
    }
    this.Redis = ioredis.Redis;
  }

  async start(sink: RevocationSink): Promise<void> {
    const pool = new pg.Pool({ connectionString: this.options.databaseUrl, max: 1 });
    pool.on('error', (error) =>
      this.logger.warn(`Revocation backfill connection: ${error.message}`),
    );
    const backfill = () =>
      backfillRevocations(pool, sink).catch((error: unknown) =>
        this.logger.warn(`Revocation backfill failed: ${(error as Error).message}`),
      );
    // No retry limit: a subscription queued while Redis is down waits for it, instead of failing
    // after 20 reconnects and never being sent.
    const subscriber = new this.Redis(this.options.redisUrl, { maxRetriesPerRequest: null });
    subscriber.on('message', (_channel: string, message: string) => {
      deliverRevocation(message, sink);
    });
    subscriber.on('error', (error: Error) => {
      if (Date.now() - this.lastWarning > WARNING_EVERY_MS) {
        this.lastWarning = Date.now();
        this.logger.warn(`Revocation feed (Redis): ${error.message}`);
      }
    });
    // ioredis re-subscribes by itself after a reconnect; each `ready` catches up what was missed.
    subscriber.on('ready', () => void backfill());
    const backfillEveryMs = this.options.backfillEveryMs ?? 10_000;
    // Queued while Redis is unreachable (ioredis' offline queue); sent as soon as it connects.
    const subscribed = subscriber.subscribe(REVOCATION_CHANNEL).then(
      () => true,
      () => false,
    );
    let waiting: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<false>((resolve) => {
      waiting = setTimeout(() => resolve(false), SUBSCRIBE_WAIT_MS);
    });
    const ready = await Promise.race([subscribed, gaveUp]);
    clearTimeout(waiting);
    if (!ready) {
      this.logger.warn(
        `Revocation feed: Redis is unreachable; revocations arrive by the PostgreSQL backfill (every ${backfillEveryMs} ms) until it is back.`,
      );
    }
    try {
      await backfillRevocations(pool, sink);
    } catch (error) {
      // PostgreSQL is down: nothing is left behind, and the module starts the feed again later.
      subscriber.disconnect();
      await pool.end().catch(() => undefined);
      throw error;
    }
    this.timer = setInterval(() => void backfill(), backfillEveryMs).unref();
    this.subscriber = subscriber;
    this.pool = pool;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.subscriber?.disconnect();
    await this.pool?.end();
  }
}
