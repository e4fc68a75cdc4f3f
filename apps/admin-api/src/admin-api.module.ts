import { type DynamicModule, Module } from '@nestjs/common';
import type { GatehouseConfig } from '@gatehouse/config';
import { HttpPlatformModule, localAuthentication } from '@gatehouse/http';
import { ADMIN_SCOPE, IdentityModule } from '@gatehouse/identity';

import { AdminAuditController } from './audit-events/admin-audit.controller.js';
import { AdminClientsController } from './clients/admin-clients.controller.js';
import { FirstOperator } from './first-operator.js';
import { AdminIdentityProvidersController } from './identity-providers/admin-identity-providers.controller.js';
import { AdminMailController } from './mail/admin-mail.controller.js';
import { MfaPolicyModule } from './mfa-policy.guard.js';
import { AdminSessionsController } from './sessions/admin-sessions.controller.js';
import { AdminKeysController } from './signing-keys/admin-keys.controller.js';
import { AdminUserMfaController } from './users/admin-user-mfa.controller.js';
import { AdminUsersController } from './users/admin-users.controller.js';
import { AdminWebhooksController } from './webhooks/admin-webhooks.controller.js';

@Module({})
export class AdminApiModule {
  static forRoot(config: GatehouseConfig): DynamicModule {
    return {
      module: AdminApiModule,
      imports: [
        HttpPlatformModule.forRoot({ config, app: 'admin-api' }),
        // Tokens for admin-api, and default-audience tokens so that a token without the `admin`
        // scope is answered 403 insufficient_scope rather than a bare 401 (the scope and admin-api's
        // audience are only ever granted together).
        localAuthentication({
          audience: (settings) => [settings.tokens.adminAudience, settings.tokens.audience],
          cookieScopes: [ADMIN_SCOPE],
        }),
        IdentityModule,
        // After localAuthentication: its guard resolves the caller this one judges.
        MfaPolicyModule.forRoot(),
      ],
      controllers: [
        AdminSessionsController,
        AdminUsersController,
        AdminUserMfaController,
        AdminClientsController,
        AdminKeysController,
        AdminAuditController,
        AdminMailController,
        AdminIdentityProvidersController,
        AdminWebhooksController,
      ],
      providers: [FirstOperator],
    };
  }
}
