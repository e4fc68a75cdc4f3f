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
  VerificationUnavailableError,
} from '../auth.errors.js';
import { originRejection, SAFE_METHODS } from '../csrf/origin-check.js';
import { Caller } from '../current-user.js';
import { CALLER_KEY } from '../decorators/current-user.decorator.js';
import { GATEHOUSE_AUTH_OPTIONS, type GatehouseAuthOptions } from '../gatehouse-auth.options.js';
import { PASSPORT_HANDOFF_KEY, type PassportHandoff } from '../passport/passport-route.js';
import { RevocationList } from '../revocation/revocation-list.js';
import type { AccessTokenRules } from '../tokens/access-token.verifier.js';
import type {
  SessionIntrospection,
  SessionIntrospector,
} from '../sessions/session-introspector.js';
import { BearerCallers } from './bearer-callers.js';
import { bearerCredentialOf, bearerTokenOf } from './bearer-token.js';
import { HttpExchange } from './http-exchange.js';
import { needsAuthorization, RoutePolicies, type RoutePolicy } from './route-policy.js';
import { RouteAuthorization } from './route-authorization.js';

const SESSION_ERRORS = {
  expired: SessionExpiredError,
  revoked: SessionRevokedError,
  unknown: InvalidSessionError,
} as const;

/**
 * The global guard: every route needs a caller unless it is `@Public()`. It resolves the credential
 * into a `CurrentUser`, applies the CSRF origin check to cookie-authenticated writes, and answers 401
 * with a `WWW-Authenticate` challenge (RFC 9110 §11.6.1) and a stable code otherwise. A route that
 * opted into `GatehouseJwtStrategy` (`@UseGuards(AuthGuard('gatehouse'))`) is left to it: the token
 * is verified once, by the strategy, which applies the route's scopes and capabilities through the
 * same code.
 */
@Injectable()
export class AuthenticationGuard implements CanActivate {
  private readonly trustedOrigins: ReadonlySet<string>;
  private readonly policies: RoutePolicies;
  private readonly cookieCallers = new WeakMap<SessionIntrospection, Caller>();
  private readonly cookieScopes: readonly string[];

  constructor(
    reflector: Reflector,
    @Inject(GATEHOUSE_AUTH_OPTIONS) private readonly options: GatehouseAuthOptions,
    private readonly revocations: RevocationList,
    private readonly bearerCallers: BearerCallers,
    private readonly authorization: RouteAuthorization,
  ) {
    this.policies = new RoutePolicies(reflector);
    this.trustedOrigins = new Set(options.trustedOrigins);
    this.cookieScopes = options.cookieScopes ?? [];
  }

  /**
   * Synchronous where it can be: a bearer token the verifier's cache and the revocation list answer
   * on their own, or a session cookie on a read that the introspector's memory and the list answer
   * (`settledCookieCaller`), on a route that asks nothing more of its caller (no scope, capability or
   * step-up), costs no promise. Anything else goes on in `activate`: a token seen for the first time,
   * a cookie the introspector must look up, a session the list cannot vouch for, or a route that
   * authorizes further (with the settled caller, when there is one).
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') {
      return true;
    }
    const exchange = new HttpExchange(context);
    const policy = this.policies.of(context);
    if (policy.trustedOriginRequired) {
      this.assertTrustedOrigin(exchange);
    }
    if (policy.gatehouseStrategy) {
      const handoff: PassportHandoff = {
        exchange,
        policy,
        verification: this.options.accessTokens,
        callers: this.bearerCallers,
        authorization: this.authorization,
      };
      exchange.request[PASSPORT_HANDOFF_KEY] = handoff;
      return true;
    }
    if (policy.isPublic) {
      return true;
    }
    const settled = this.settledBearerCaller(exchange) ?? this.settledCookieCaller(exchange);
    if (settled && !needsAuthorization(policy)) {
      exchange.request[CALLER_KEY] = settled;
      return true;
    }
    return this.activate(exchange, policy, settled);
  }

  private async activate(
    exchange: HttpExchange,
    policy: RoutePolicy,
    settled: Caller | undefined,
  ): Promise<boolean> {
    const authenticated = settled ?? (await this.authenticate(exchange));
    exchange.request[CALLER_KEY] = authenticated;
    if (needsAuthorization(policy)) {
      exchange.request[CALLER_KEY] = await this.authorization.authorize(
        exchange,
        authenticated,
        policy,
      );
    }
    return true;
  }

  /**
   * The caller of a bearer token verified before, from the verifier's cache and the in-process
   * revocation lists alone (refusals thrown with their challenge, as `bearerCaller` answers them);
   * undefined when that is not enough (no bearer token, not cached, the verifier asks the platform
   * itself, the list cannot vouch for the session, the issuer is not discovered yet).
   */
  private settledBearerCaller(exchange: HttpExchange): Caller | undefined {
    const verifier = this.options.accessTokens;
    // Unchecked: `recall` matches only tokens verified before, none with whitespace (see
    // `bearerTokenOf`); a credential it does not know goes on to `authenticate`, which checks it.
    const token = verifier && bearerCredentialOf(exchange.header('authorization'));
    if (!verifier || token === undefined) {
      return undefined;
    }
    let rules: AccessTokenRules;
    try {
      rules = verifier.rules();
    } catch {
      return undefined; // `bearerCaller` answers it
    }
    if (verifier.checksSessionsAtPlatform) {
      return undefined;
    }
    try {
      const claims = rules.recall(token);
      return claims && this.bearerCallers.settledCallerOf(claims);
    } catch (error) {
      this.bearerCallers.answerRefusal(exchange, error);
      throw error;
    }
  }

  /**
   * The caller of a session cookie on a read (no origin check due), when the introspector recalls an
   * active session without a promise and the revocation list vouches for it; undefined otherwise,
   * and `authenticate` decides, with every refusal. A request with an Authorization header goes
   * there too: a bearer token, even one that fails, takes precedence over a cookie.
   */
  private settledCookieCaller(exchange: HttpExchange): Caller | undefined {
    const sessions = this.options.sessions;
    if (
      !sessions?.recall ||
      !SAFE_METHODS.has(exchange.request.method) ||
      exchange.header('authorization') !== undefined
    ) {
      return undefined;
    }
    const token = exchange.cookie(this.options.cookieName);
    const session = token === undefined ? undefined : sessions.recall(token);
    return session?.active && this.revocations.lookup(session.sessionId) === 'clear'
      ? this.cookieCaller(session)
      : undefined;
  }

  private async authenticate(exchange: HttpExchange): Promise<Caller> {
    const bearer = bearerTokenOf(exchange.header('authorization'));
    if (bearer !== undefined) {
      return this.bearerCaller(exchange, bearer);
    }
    const token = this.options.sessions ? exchange.cookie(this.options.cookieName) : undefined;
    if (token === undefined || !this.options.sessions) {
      throw this.unauthorized(exchange, new MissingCredentialsError());
    }
    if (!SAFE_METHODS.has(exchange.request.method)) {
      this.assertTrustedOrigin(exchange);
    }
    const session = await this.introspectCookie(this.options.sessions, token).catch(
      (error: unknown) => {
        if (error instanceof VerificationUnavailableError) {
          exchange.setHeader('Retry-After', String(error.retryAfterSeconds));
        }
        throw error;
      },
    );
    if (!session.active) {
      exchange.clearCookie(this.options.cookieName);
      throw this.unauthorized(exchange, new SESSION_ERRORS[session.reason]());
    }
    return this.cookieCaller(session);
  }

  /**
   * The introspector's answer, unless the revocation list knows the session revoked. While the list
   * overflows it cannot vouch for an active answer, which may come from the introspector's cache:
   * that answer is dropped (`evict`) and the introspector asked again. An introspector without
   * `evict` keeps no cache, so its answer is already the platform's.
   */
  private async introspectCookie(
    sessions: SessionIntrospector,
    token: string,
  ): Promise<SessionIntrospection> {
    const introspected = await sessions.introspect(token);
    if (!introspected.active) {
      return introspected;
    }
    const status = this.revocations.lookup(introspected.sessionId);
    if (status === 'revoked') {
      return { active: false, reason: 'revoked' };
    }
    if (status === 'unknown' && sessions.evict) {
      sessions.evict(introspected.sessionId);
      return sessions.introspect(token);
    }
    return introspected;
  }

  /** RFC 6750 §3.1: a refused token is answered with `error="invalid_token"` in the challenge. */
  private async bearerCaller(exchange: HttpExchange, token: string): Promise<Caller> {
    try {
      const verifier = this.options.accessTokens;
      if (!verifier) {
        throw new InvalidTokenError('Bearer tokens are not accepted here.');
      }
      const claims = await verifier.verify(token);
      return await this.bearerCallers.callerOf(token, claims, verifier.checksSessionsAtPlatform);
    } catch (error) {
      this.bearerCallers.answerRefusal(exchange, error);
      throw error;
    }
  }

  /** Like bearer callers: one Caller per answer object, when the introspector reuses its answers. */
  private cookieCaller(session: Extract<SessionIntrospection, { active: true }>): Caller {
    let caller = this.cookieCallers.get(session);
    if (!caller) {
      caller = new Caller(
        {
          id: session.userId,
          kind: 'user',
          credential: 'cookie',
          sessionId: session.sessionId,
          clientId: null,
          roles: session.roles,
          scopes: this.cookieScopes,
          details: session.details,
          authenticatedAt: session.authenticatedAt ?? null,
          amr: session.amr ?? [],
          acr: session.acr ?? null,
        },
        this.bearerCallers.capabilities,
      );
      this.cookieCallers.set(session, caller);
    }
    return caller;
  }

  private assertTrustedOrigin(exchange: HttpExchange): void {
    const rejection = originRejection(exchange.request.headers, this.trustedOrigins);
    if (rejection !== undefined) {
      throw new CsrfRejectedError(rejection);
    }
  }

  private unauthorized(exchange: HttpExchange, error: GatehouseAuthError): GatehouseAuthError {
    exchange.setHeader('WWW-Authenticate', this.bearerCallers.challenge);
    return error;
  }
}
