import { type DynamicModule, Module } from '@nestjs/common';
import type { GatehouseConfig } from '@gatehouse/config';
import { HttpPlatformModule, type HttpPlatformOptions } from '@gatehouse/http';
import { IdentityModule } from '@gatehouse/identity';

import { FirstOperator } from './first-operator.js';

/** Embedding options (tests pass a log destination). */
export type AppOptions = Pick<HttpPlatformOptions, 'logDestination'>;

@Module({})
export class AdminApiModule {
  static forRoot(config: GatehouseConfig, options: AppOptions = {}): DynamicModule {
    return {
      module: AdminApiModule,
      imports: [
        HttpPlatformModule.forRoot({ ...options, config, app: 'admin-api' }),
        IdentityModule,
      ],
      providers: [FirstOperator],
    };
  }
}
