import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';

import {
  CsrfRejectedError,
  type GatehouseAuthError,
  InvalidSessionError,
  InvalidTokenError,
  MissingCredentialsError,
  SessionExpiredError,
  SessionRevokedError,
} from '../auth.errors.js';
import { type CapabilityMap, DEFAULT_CAPABILITIES, mergeCapabilities } from '../capabilities.js';
import { isTrustedOrigin, SAFE_METHODS } from '../csrf/origin-check.js';
import { Caller } from '../current-user.js';
import { CALLER_KEY } from '../decorators/current-user.decorator.js';
import { IS_PUBLIC_KEY } from '../decorators/public.decorator.js';
import { REQUIRE_TRUSTED_ORIGIN_KEY } from '../decorators/require-trusted-origin.decorator.js';
import { GATEHOUSE_AUTH_OPTIONS, type GatehouseAuthOptions } from '../gatehouse-auth.options.js';
import type { SessionIntrospection } from '../sessions/session-introspector.js';
import { HttpExchange } from './http-exchange.js';

const SESSION_ERRORS = {
  expired: SessionExpiredError,
  revoked: SessionRevokedError,
  unknown: InvalidSessionError,
} as const;

/**
 * The global guard: every route needs a caller unless it is `@Public()`. It resolves the credential
 * into a `CurrentUser`, applies the CSRF origin check to cookie-authenticated writes, and answers 401
 * with a `WWW-Authenticate` challenge (RFC 9110 §11.6.1) and a stable code otherwise.
 */
@Injectable()
export class AuthenticationGuard implements CanActivate {
  private readonly trustedOrigins: ReadonlySet<string>;
  private readonly capabilities: CapabilityMap;
  private readonly challenge: string;

  constructor(
    private readonly reflector: Reflector,
    @Inject(GATEHOUSE_AUTH_OPTIONS) private readonly options: GatehouseAuthOptions,
  ) {
    this.trustedOrigins = new Set(options.trustedOrigins);
    this.capabilities = mergeCapabilities(DEFAULT_CAPABILITIES, options.capabilities);
    this.challenge = `Bearer realm="${options.realm ?? 'gatehouse'}"`;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') {
      return true;
    }
    const exchange = new HttpExchange(context);
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(REQUIRE_TRUSTED_ORIGIN_KEY, targets)) {
      this.assertTrustedOrigin(exchange);
    }
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets)) {
      return true;
    }
    exchange.request[CALLER_KEY] = await this.authenticate(exchange);
    return true;
  }

  private async authenticate(exchange: HttpExchange): Promise<Caller> {
    if (/^bearer /i.test(exchange.header('authorization') ?? '')) {
      // Access tokens arrive with the token strategy; until then a bearer credential is refused.
      exchange.setHeader('WWW-Authenticate', `${this.challenge}, error="invalid_token"`);
      throw new InvalidTokenError('Bearer tokens are not accepted here.');
    }
    const token = this.options.sessions ? exchange.cookie(this.options.cookieName) : undefined;
    if (token === undefined || !this.options.sessions) {
      throw this.unauthorized(exchange, new MissingCredentialsError());
    }
    if (!SAFE_METHODS.has(exchange.request.method)) {
      this.assertTrustedOrigin(exchange);
    }
    const session = await this.options.sessions.introspect(token);
    if (!session.active) {
      exchange.clearCookie(this.options.cookieName);
      throw this.unauthorized(exchange, new SESSION_ERRORS[session.reason]());
    }
    return this.cookieCaller(session);
  }

  private cookieCaller(session: Extract<SessionIntrospection, { active: true }>): Caller {
    return new Caller(
      {
        id: session.userId,
        kind: 'user',
        credential: 'cookie',
        sessionId: session.sessionId,
        clientId: null,
        roles: session.roles,
        scopes: [],
      },
      this.capabilities,
    );
  }

  private assertTrustedOrigin(exchange: HttpExchange): void {
    if (!isTrustedOrigin(exchange.request.headers, this.trustedOrigins)) {
      throw new CsrfRejectedError();
    }
  }

  private unauthorized(exchange: HttpExchange, error: GatehouseAuthError): GatehouseAuthError {
    exchange.setHeader('WWW-Authenticate', this.challenge);
    return error;
  }
}
