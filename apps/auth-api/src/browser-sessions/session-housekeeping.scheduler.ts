import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { SessionHousekeeping } from '@gatehouse/identity';

/** Runs the session purge every `SESSION_CLEANUP_INTERVAL_SECONDS` in each auth-api instance. */
@Injectable()
export class SessionHousekeepingScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SessionHousekeepingScheduler.name);
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    @InjectConfig() private readonly config: GatehouseConfig,
    private readonly housekeeping: SessionHousekeeping,
  ) {}

  onApplicationBootstrap(): void {
    const seconds = this.config.session.cleanupIntervalSeconds;
    if (seconds > 0) {
      this.timer = setInterval(() => void this.run(), seconds * 1000).unref();
    }
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One purge at a time per instance; a failure is logged and retried at the next tick. */
  async run(): Promise<void> {
    if (this.running) {
      return;
    }
    this.running = true;
    try {
      const { sessions, revocations } = await this.housekeeping.purge();
      if (sessions + revocations > 0) {
        this.logger.log(`Purged ${sessions} ended sessions and ${revocations} expired revocations`);
      }
    } catch (error) {
      this.logger.warn(`Session housekeeping failed: ${(error as Error).message}`);
    } finally {
      this.running = false;
    }
  }
}
