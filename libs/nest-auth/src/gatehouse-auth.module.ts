import {
  type DynamicModule,
  Inject,
  type InjectionToken,
  Logger,
  Module,
  type ModuleMetadata,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';

import { GATEHOUSE_AUTH_OPTIONS, type GatehouseAuthOptions } from './gatehouse-auth.options.js';
import { AuthenticationGuard } from './guards/authentication.guard.js';
import { BearerCallers } from './guards/bearer-callers.js';
import { RouteAuthorization } from './guards/route-authorization.js';
import type { RevocationEvent, RevocationFeed } from './revocation/revocation-feed.js';
import { ClientRevocations } from './revocation/client-revocations.js';
import { RevocationList } from './revocation/revocation-list.js';

/** How long the app's start waits for the revocation feed's first attempt before going on. */
const FIRST_FEED_ATTEMPT_WAIT_MS = 5_000;
const FEED_RETRY_INITIAL_MS = 250;
const FEED_RETRY_MAX_MS = 10_000;
/** A feed that keeps failing to start is reported once a minute. */
const FEED_WARNING_EVERY_MS = 60_000;

/** `forRootAsync`: options built by a factory, with the providers it injects from `imports`. */
export interface GatehouseAuthAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  readonly inject?: InjectionToken[];
  readonly useFactory: (
    ...dependencies: never[]
  ) => GatehouseAuthOptions | Promise<GatehouseAuthOptions>;
}

/**
 * Import once in the root module: registers the global authentication guard, so every route of the
 * app needs a caller unless it is `@Public()`, and runs the revocation feed if one is configured.
 */
@Module({})
export class GatehouseAuthModule implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(GatehouseAuthModule.name);
  private feedRetry: NodeJS.Timeout | undefined;
  private feedRetryDelayMs = FEED_RETRY_INITIAL_MS;
  private lastFeedWarning = 0;
  private stopping = false;

  constructor(
    @Inject(GATEHOUSE_AUTH_OPTIONS) private readonly options: GatehouseAuthOptions,
    private readonly revocations: RevocationList,
    private readonly clientRevocations: ClientRevocations,
  ) {}

  static forRoot(options: GatehouseAuthOptions): DynamicModule {
    return GatehouseAuthModule.forRootAsync({ useFactory: () => options });
  }

  static forRootAsync(options: GatehouseAuthAsyncOptions): DynamicModule {
    return {
      module: GatehouseAuthModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        {
          provide: GATEHOUSE_AUTH_OPTIONS,
          inject: options.inject ?? [],
          useFactory: options.useFactory,
        },
        {
          provide: RevocationList,
          inject: [GATEHOUSE_AUTH_OPTIONS],
          useFactory: (resolved: GatehouseAuthOptions) => {
            const list = new RevocationList(resolved.revocationListCapacity);
            if (resolved.revocationFeed) {
              list.awaitFeed();
            }
            return list;
          },
        },
        { provide: ClientRevocations, useFactory: () => new ClientRevocations() },
        BearerCallers,
        RouteAuthorization,
        { provide: APP_GUARD, useClass: AuthenticationGuard },
      ],
      exports: [GATEHOUSE_AUTH_OPTIONS, RevocationList, ClientRevocations],
    };
  }

  /**
   * Starts the revocation feed. The app waits for the first attempt only (at most
   * `FIRST_FEED_ATTEMPT_WAIT_MS`): a feed whose source is down does not stop the app, it is started
   * again with backoff, and until it has caught up the revocation list answers `unknown` — bearer
   * tokens are checked at the platform (`revocationFallback`) or refused with 503.
   */
  async onApplicationBootstrap(): Promise<void> {
    const feed = this.options.revocationFeed;
    if (!feed) {
      return;
    }
    let waiting: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<void>((resolve) => {
      waiting = setTimeout(resolve, FIRST_FEED_ATTEMPT_WAIT_MS);
    });
    await Promise.race([this.startFeed(feed), gaveUp]);
    clearTimeout(waiting);
  }

  private async startFeed(feed: RevocationFeed): Promise<void> {
    try {
      await feed.start({
        revoked: (event) => {
          this.remember(event);
          this.options.sessions?.evict?.(event.sessionId);
        },
        clientRevoked: (event) => this.clientRevocations.add(event),
        // Until the feed is back, a session the list does not hold is `unknown`, not `clear`.
        disconnected: () => this.revocations.awaitFeed(),
        caughtUp: () => this.revocations.feedCaughtUp(),
      });
    } catch (error) {
      this.feedStartFailed(feed, error);
      return;
    }
    this.revocations.feedCaughtUp();
    this.feedRetryDelayMs = FEED_RETRY_INITIAL_MS;
    if (this.lastFeedWarning !== 0) {
      this.logger.log('Revocation feed started: bearer tokens are accepted again');
    }
  }

  private feedStartFailed(feed: RevocationFeed, error: unknown): void {
    if (this.stopping) {
      return;
    }
    const delay = this.feedRetryDelayMs;
    this.feedRetryDelayMs = Math.min(delay * 2, FEED_RETRY_MAX_MS);
    if (Date.now() - this.lastFeedWarning > FEED_WARNING_EVERY_MS) {
      this.lastFeedWarning = Date.now();
      this.logger.warn(
        `Revocation feed could not start (${(error as Error).message}); retrying in the background. ` +
          'Bearer tokens are answered 503 (or checked at the platform) until it does.',
      );
    }
    this.feedRetry = setTimeout(() => void this.startFeed(feed), delay);
    this.feedRetry.unref();
  }

  /** Into the revocation list; the first revocation it cannot hold is logged, once per overflow. */
  private remember(event: RevocationEvent): void {
    const wasComplete = this.revocations.overflowUntil === null;
    if (this.revocations.add(event.sessionId, event.untilMs) || !wasComplete) {
      return;
    }
    const until = new Date(this.revocations.overflowUntil ?? event.untilMs).toISOString();
    this.logger.warn(
      `Revocation list full (${this.revocations.size} live revocations): until ${until}, a session ` +
        'it does not hold is checked at the platform, or refused. Raise revocationListCapacity.',
    );
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.feedRetry);
    await this.options.revocationFeed?.stop();
  }
}
