import { type DynamicModule, Module } from '@nestjs/common';
import { GATEHOUSE_CONFIG, type GatehouseConfig } from '@gatehouse/config';
import { HttpPlatformModule, type HttpPlatformOptions } from '@gatehouse/http';
import { IdentityModule, SessionService } from '@gatehouse/identity';
import { GatehouseAuthModule, type GatehouseAuthOptions } from '@gatehouse/nest-auth';

import { AccountModule } from './account/account.module.js';
import { BrowserSessionsModule } from './browser-sessions/browser-sessions.module.js';
import { LocalSessionIntrospector } from './browser-sessions/local-session-introspector.js';

/** Embedding options (tests pass a log destination). */
export type AppOptions = Pick<HttpPlatformOptions, 'logDestination'>;

/** nest-auth's guard, with auth-api's own tables answering for session cookies in-process. */
function authentication(): DynamicModule {
  return GatehouseAuthModule.forRootAsync({
    imports: [IdentityModule],
    inject: [GATEHOUSE_CONFIG, SessionService],
    useFactory: (config: GatehouseConfig, sessions: SessionService): GatehouseAuthOptions => ({
      cookieName: config.session.cookieName,
      trustedOrigins: config.trustedOrigins,
      sessions: new LocalSessionIntrospector(sessions),
    }),
  });
}

@Module({})
export class AuthApiModule {
  static forRoot(config: GatehouseConfig, options: AppOptions = {}): DynamicModule {
    return {
      module: AuthApiModule,
      imports: [
        HttpPlatformModule.forRoot({ ...options, config, app: 'auth-api' }),
        authentication(),
        AccountModule,
        BrowserSessionsModule,
      ],
    };
  }
}
