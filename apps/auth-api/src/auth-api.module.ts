import { type DynamicModule, Module } from '@nestjs/common';
import { GATEHOUSE_CONFIG, type GatehouseConfig } from '@gatehouse/config';
import { HttpPlatformModule, type HttpPlatformOptions } from '@gatehouse/http';
import { IdentityModule, SessionService, SigningKeyService } from '@gatehouse/identity';
import {
  AccessTokenVerifier,
  GatehouseAuthModule,
  type GatehouseAuthOptions,
  localKeySource,
} from '@gatehouse/nest-auth';

import { AccountModule } from './account/account.module.js';
import { AuthApiErrorFilter } from './auth-api-error.filter.js';
import { BrowserSessionsModule } from './browser-sessions/browser-sessions.module.js';
import { LocalSessionIntrospector } from './browser-sessions/local-session-introspector.js';
import { OAuthModule } from './oauth/oauth.module.js';

/** Embedding options (tests pass a log destination). */
export type AppOptions = Pick<HttpPlatformOptions, 'logDestination'>;

/**
 * nest-auth's guard, with auth-api's own tables answering in-process: session cookies, the signing
 * keys for bearer tokens, and whether a token's session was revoked.
 */
function authentication(): DynamicModule {
  return GatehouseAuthModule.forRootAsync({
    imports: [IdentityModule],
    inject: [GATEHOUSE_CONFIG, SessionService, SigningKeyService],
    useFactory: (
      config: GatehouseConfig,
      sessions: SessionService,
      keys: SigningKeyService,
    ): GatehouseAuthOptions => ({
      cookieName: config.session.cookieName,
      trustedOrigins: config.trustedOrigins,
      sessions: new LocalSessionIntrospector(sessions),
      accessTokens: new AccessTokenVerifier({
        issuer: config.issuer,
        audience: config.tokens.audience,
        keys: localKeySource(() => keys.jwks()),
        isSessionRevoked: (sessionId) => sessions.isEnded(sessionId),
      }),
    }),
  });
}

@Module({})
export class AuthApiModule {
  static forRoot(config: GatehouseConfig, options: AppOptions = {}): DynamicModule {
    return {
      module: AuthApiModule,
      imports: [
        HttpPlatformModule.forRoot({
          ...options,
          config,
          app: 'auth-api',
          errorFilter: AuthApiErrorFilter,
        }),
        authentication(),
        AccountModule,
        BrowserSessionsModule,
        OAuthModule,
      ],
    };
  }
}
