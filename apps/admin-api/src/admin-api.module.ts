import { type DynamicModule, Module } from '@nestjs/common';
import type { GatehouseConfig } from '@gatehouse/config';
import { HttpPlatformModule, type HttpPlatformOptions, localAuthentication } from '@gatehouse/http';
import { IdentityModule } from '@gatehouse/identity';

import { AdminAuditController } from './audit-events/admin-audit.controller.js';
import { AdminClientsController } from './clients/admin-clients.controller.js';
import { FirstOperator } from './first-operator.js';
import { AdminSessionsController } from './sessions/admin-sessions.controller.js';
import { AdminKeysController } from './signing-keys/admin-keys.controller.js';
import { AdminUsersController } from './users/admin-users.controller.js';

/** Embedding options (tests pass a log destination). */
export type AppOptions = Pick<HttpPlatformOptions, 'logDestination'>;

@Module({})
export class AdminApiModule {
  static forRoot(config: GatehouseConfig, options: AppOptions = {}): DynamicModule {
    return {
      module: AdminApiModule,
      imports: [
        HttpPlatformModule.forRoot({ ...options, config, app: 'admin-api' }),
        localAuthentication(),
        IdentityModule,
      ],
      controllers: [
        AdminSessionsController,
        AdminUsersController,
        AdminClientsController,
        AdminKeysController,
        AdminAuditController,
      ],
      providers: [FirstOperator],
    };
  }
}
