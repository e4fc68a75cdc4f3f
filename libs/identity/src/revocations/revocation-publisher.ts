import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { Redis } from 'ioredis';

/**
 * With `REDIS_URL`, revocations are also published on Redis pub/sub (after commit), for services that
 * follow the feed through Redis rather than a PostgreSQL connection. A lost publish is caught up by
 * the subscribers' periodic backfill from the `revocations` table.
 */
@Injectable()
export class RevocationPublisher implements OnModuleDestroy {
  private readonly logger = new Logger(RevocationPublisher.name);
  private readonly redis: Redis | undefined;

  constructor(@InjectConfig() config: GatehouseConfig) {
    if (config.redisUrl) {
      this.redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });
      this.redis.on('error', () => undefined); // reported by publish() when it matters
    }
  }

  async publish(channel: string, payloads: readonly string[]): Promise<void> {
    if (!this.redis) {
      return;
    }
    try {
      await Promise.all(payloads.map((payload) => this.redis!.publish(channel, payload)));
    } catch (error) {
      this.logger.warn(`Revocation not published to Redis: ${(error as Error).message}`);
    }
  }

  onModuleDestroy(): void {
    this.redis?.disconnect();
  }
}
