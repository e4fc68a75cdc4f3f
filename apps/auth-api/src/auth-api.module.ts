import { type DynamicModule, Module } from '@nestjs/common';
import type { GatehouseConfig } from '@gatehouse/config';
import { HttpPlatformModule, localAuthentication } from '@gatehouse/http';
import { ACCOUNT_SCOPE } from '@gatehouse/identity';

import { AccountModule } from './account/account.module.js';
import { AuthApiErrorFilter } from './auth-api-error.filter.js';
import { BrowserSessionsModule } from './browser-sessions/browser-sessions.module.js';
import { FederationModule } from './federation/federation.module.js';
import { JobsModule } from './jobs/jobs.module.js';
import { OAuthModule } from './oauth/oauth.module.js';
import { PasswordResetModule } from './password-reset/password-reset.module.js';

@Module({})
export class AuthApiModule {
  static forRoot(config: GatehouseConfig): DynamicModule {
    return {
      module: AuthApiModule,
      imports: [
        HttpPlatformModule.forRoot({
          config,
          app: 'auth-api',
          errorFilter: AuthApiErrorFilter,
        }),
        // A browser session is first-party: it holds `account`, which bearer tokens need here.
        localAuthentication({
          audience: (settings) => settings.tokens.audience,
          cookieScopes: [ACCOUNT_SCOPE],
        }),
        AccountModule,
        BrowserSessionsModule,
        OAuthModule,
        PasswordResetModule,
        JobsModule,
        FederationModule,
      ],
    };
  }
}
