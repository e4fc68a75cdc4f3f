import {
  type DynamicModule,
  Inject,
  type InjectionToken,
  Module,
  type ModuleMetadata,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';

import { GATEHOUSE_AUTH_OPTIONS, type GatehouseAuthOptions } from './gatehouse-auth.options.js';
import { AuthenticationGuard } from './guards/authentication.guard.js';
import { RevocationList } from './revocation/revocation-list.js';

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
  constructor(
    @Inject(GATEHOUSE_AUTH_OPTIONS) private readonly options: GatehouseAuthOptions,
    private readonly revocations: RevocationList,
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
        { provide: RevocationList, useFactory: () => new RevocationList() },
        { provide: APP_GUARD, useClass: AuthenticationGuard },
      ],
      exports: [GATEHOUSE_AUTH_OPTIONS, RevocationList],
    };
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.options.revocationFeed?.start({
      revoked: (event) => {
        this.revocations.add(event.sessionId, event.untilMs);
        this.options.sessions?.evict?.(event.sessionId);
      },
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.options.revocationFeed?.stop();
  }
}
