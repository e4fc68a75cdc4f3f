import {
  type DynamicModule,
  type InjectionToken,
  type ModuleMetadata,
  Module,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';

import { GATEHOUSE_AUTH_OPTIONS, type GatehouseAuthOptions } from './gatehouse-auth.options.js';
import { AuthenticationGuard } from './guards/authentication.guard.js';

export interface GatehouseAuthAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  readonly inject?: InjectionToken[];
  readonly useFactory: (
    ...dependencies: never[]
  ) => GatehouseAuthOptions | Promise<GatehouseAuthOptions>;
}

/**
 * Import once in the root module: registers the global authentication guard, so every route of the
 * app needs a caller unless it is `@Public()`.
 */
@Module({})
export class GatehouseAuthModule {
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
        { provide: APP_GUARD, useClass: AuthenticationGuard },
      ],
      exports: [GATEHOUSE_AUTH_OPTIONS],
    };
  }
}
