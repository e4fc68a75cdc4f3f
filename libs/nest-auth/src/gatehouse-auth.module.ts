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
import type { RevocationEvent } from './revocation/revocation-feed.js';
import { ClientRevocations } from './revocation/client-revocations.js';
import { RevocationList } from './revocation/revocation-list.js';

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
          useFactory: (resolved: GatehouseAuthOptions) =>
            new RevocationList(resolved.revocationListCapacity),
        },
        { provide: ClientRevocations, useFactory: () => new ClientRevocations() },
        { provide: APP_GUARD, useClass: AuthenticationGuard },
      ],
      exports: [GATEHOUSE_AUTH_OPTIONS, RevocationList, ClientRevocations],
    };
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.options.revocationFeed?.start({
      revoked: (event) => {
        this.remember(event);
        this.options.sessions?.evict?.(event.sessionId);
      },
      clientRevoked: (event) => this.clientRevocations.add(event),
    });
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
    await this.options.revocationFeed?.stop();
  }
}
