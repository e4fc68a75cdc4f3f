import {
  Body,
  Controller,
  type DynamicModule,
  Inject,
  Logger,
  Module,
  Post,
  Res,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';

import { Public } from '../decorators/public.decorator.js';
import { type KeySource, remoteKeySource } from '../keys/key-sources.js';
import type { LogoutReplayCache } from './logout-replay-cache.js';
import {
  InvalidLogoutTokenError,
  LogoutTokenVerifier,
  type VerifiedLogout,
} from './logout-token.verifier.js';

export interface BackchannelLogoutOptions {
  /** The Gatehouse issuer (auth-api's public URL). */
  readonly issuer: string;
  /** This app's client id: logout tokens are addressed (`aud`) to it. */
  readonly clientId: string;
  /** Where the receiver listens (POST); register `<app URL>/<path>` as `backchannelLogoutUri`. */
  readonly path?: string;
  /** The issuer's keys; `remoteKeySource(<issuer>/.well-known/jwks.json)` by default. */
  readonly keys?: KeySource;
  /** Seen `jti`s; in memory by default (plug a shared store in when the app runs several instances). */
  readonly replays?: LogoutReplayCache;
  readonly maxAgeSeconds?: number;
  readonly clockToleranceSeconds?: number;
  readonly allowUntyped?: boolean;
  /**
   * End the app's own sessions of `sid` (or of every session of `sub` when `sid` is null). Throwing
   * answers 400 (Back-Channel Logout 1.0 §2.8: the logout failed) and Gatehouse retries later.
   */
  readonly onLogout: (logout: VerifiedLogout) => void | Promise<void>;
}

/** The token `BackchannelLogoutModule` injects its verifier and options under. */
export const BACKCHANNEL_LOGOUT_OPTIONS = Symbol('BACKCHANNEL_LOGOUT_OPTIONS');

interface HttpAdapter {
  setHeader(response: unknown, name: string, value: string): unknown;
  reply(response: unknown, body: unknown, statusCode?: number): unknown;
}

function receiverAt(path: string) {
  /**
   * Back-Channel Logout 1.0 §2.5–2.8: a form-encoded POST with `logout_token`; 200 (empty) once the
   * app has ended the session, 400 `{error: 'invalid_request'}` otherwise; never cached. Public:
   * the token is the credential. Works on Express and on Fastify (register a form-body parser there).
   */
  @Controller(path)
  class BackchannelLogoutController {
    readonly logger = new Logger('BackchannelLogout');

    constructor(
      @Inject(BACKCHANNEL_LOGOUT_OPTIONS) readonly options: BackchannelLogoutOptions,
      @Inject(LogoutTokenVerifier) readonly verifier: LogoutTokenVerifier,
      readonly adapterHost: HttpAdapterHost,
    ) {}

    @Public()
    @Post()
    async receive(@Body() body: unknown, @Res() response: unknown): Promise<void> {
      const http = this.adapterHost.httpAdapter as unknown as HttpAdapter;
      http.setHeader(response, 'cache-control', 'no-store');
      const token =
        typeof body === 'object' && body !== null
          ? (body as Record<string, unknown>)['logout_token']
          : undefined;
      try {
        const logout = await this.verifier.verify(token);
        await this.options.onLogout(logout);
      } catch (error) {
        const description =
          error instanceof InvalidLogoutTokenError ? error.message : 'The logout failed.';
        if (!(error instanceof InvalidLogoutTokenError)) {
          this.logger.warn(`onLogout failed: ${String(error)}`);
        }
        http.reply(response, { error: 'invalid_request', error_description: description }, 400);
        return;
      }
      http.reply(response, undefined, 200);
    }
  }
  return BackchannelLogoutController;
}

/**
 * A ready OpenID Connect Back-Channel Logout receiver for a sibling app that keeps its own sessions:
 * `BackchannelLogoutModule.forRoot({ issuer, clientId, onLogout })` adds `POST /<path>`
 * (`backchannel-logout` by default) and a `LogoutTokenVerifier` provider.
 */
@Module({})
export class BackchannelLogoutModule {
  static forRoot(options: BackchannelLogoutOptions): DynamicModule {
    const issuer = options.issuer.replace(/\/$/, '');
    const verifier = new LogoutTokenVerifier({
      issuer: options.issuer,
      clientId: options.clientId,
      keys: options.keys ?? remoteKeySource(`${issuer}/.well-known/jwks.json`),
      ...(options.replays ? { replays: options.replays } : {}),
      ...(options.maxAgeSeconds !== undefined ? { maxAgeSeconds: options.maxAgeSeconds } : {}),
      ...(options.clockToleranceSeconds !== undefined
        ? { clockToleranceSeconds: options.clockToleranceSeconds }
        : {}),
      ...(options.allowUntyped !== undefined ? { allowUntyped: options.allowUntyped } : {}),
    });
    return {
      module: BackchannelLogoutModule,
      controllers: [receiverAt(options.path ?? 'backchannel-logout')],
      providers: [
        { provide: BACKCHANNEL_LOGOUT_OPTIONS, useValue: options },
        { provide: LogoutTokenVerifier, useValue: verifier },
      ],
      exports: [LogoutTokenVerifier],
    };
  }
}
