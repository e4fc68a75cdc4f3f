import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';

import {
  CsrfRejectedError,
  ForbiddenError,
  GatehouseAuthError,
  InvalidSessionError,
  InvalidTokenError,
  MissingCredentialsError,
  RevocationCheckUnavailableError,
  SessionExpiredError,
  SessionRevokedError,
  VerificationUnavailableError,
} from '../auth.errors.js';
import { type CapabilityMap, DEFAULT_CAPABILITIES, mergeCapabilities } from '../capabilities.js';
import { originRejection, SAFE_METHODS } from '../csrf/origin-check.js';
import { Caller } from '../current-user.js';
import { CALLER_KEY } from '../decorators/current-user.decorator.js';
import { GATEHOUSE_AUTH_OPTIONS, type GatehouseAuthOptions } from '../gatehouse-auth.options.js';
import { ClientRevocations } from '../revocation/client-revocations.js';
import { RevocationList } from '../revocation/revocation-list.js';
import type {
  SessionIntrospection,
  SessionIntrospector,
} from '../sessions/session-introspector.js';
import type { AccessTokenClaims } from '../tokens/access-token.verifier.js';
import { bearerTokenOf } from './bearer-token.js';
import { HttpExchange } from './http-exchange.js';
import { RoutePolicies, type RoutePolicy } from './route-policy.js';

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
  private readonly policies: RoutePolicies;
  private readonly bearerCallers = new WeakMap<AccessTokenClaims, Caller>();
  private readonly cookieCallers = new WeakMap<SessionIntrospection, Caller>();
  /** Callers whose token carries a `roles` claim (first-party tokens). */
  private readonly rolesDelegated = new WeakSet<Caller>();
  private readonly cookieScopes: readonly string[];

  constructor(
    reflector: Reflector,
    @Inject(GATEHOUSE_AUTH_OPTIONS) private readonly options: GatehouseAuthOptions,
    private readonly revocations: RevocationList,
    private readonly clientRevocations: ClientRevocations,
  ) {
    this.policies = new RoutePolicies(reflector);
    this.trustedOrigins = new Set(options.trustedOrigins);
    this.capabilities = mergeCapabilities(DEFAULT_CAPABILITIES, options.capabilities);
    this.challenge = `Bearer realm="${options.realm ?? 'gatehouse'}"`;
    this.cookieScopes = options.cookieScopes ?? [];
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') {
      return true;
    }
    const exchange = new HttpExchange(context);
    const policy = this.policies.of(context);
    if (policy.trustedOriginRequired) {
      this.assertTrustedOrigin(exchange);
    }
    if (policy.isPublic) {
      return true;
    }
    const authenticated = await this.authenticate(exchange);
    exchange.request[CALLER_KEY] = authenticated;
    this.authorizeScopes(exchange, authenticated, policy);
    if (policy.capabilities.length > 0) {
      const caller = await this.withCurrentRoles(exchange, authenticated);
      exchange.request[CALLER_KEY] = caller;
      const missing = policy.capabilities.find((capability) => !caller.can(capability));
      if (missing) {
        throw new ForbiddenError(`Missing capability: ${missing}.`);
      }
    }
    return true;
  }

  /**
   * A bearer caller's roles as they are now, where the app can tell (`currentRoles`): a role removed
   * after the token was issued no longer counts. Only first-party tokens carry roles at all.
   */
  private async withCurrentRoles(exchange: HttpExchange, caller: Caller): Promise<Caller> {
    const { currentRoles } = this.options;
    if (!currentRoles || caller.credential !== 'bearer' || !this.rolesDelegated.has(caller)) {
      return caller;
    }
    const roles = await currentRoles(caller.id);
    if (roles === null) {
      throw this.unauthorized(exchange, new SessionRevokedError());
    }
    return new Caller({ ...caller, roles }, this.capabilities);
  }

  /**
   * `@RequireScopes`, checked before capabilities (what the client was delegated bounds what the user
   * may do through it): 403 FORBIDDEN naming the missing scope; a bearer token short of scope also
   * gets RFC 6750 §3.1's `error="insufficient_scope"` challenge with the scopes.
   */
  private authorizeScopes(exchange: HttpExchange, caller: Caller, policy: RoutePolicy): void {
    const missingScope = policy.scopes.find((scope) => !caller.scopes.includes(scope));
    if (missingScope) {
      if (caller.credential === 'bearer') {
        exchange.setHeader(
          'WWW-Authenticate',
          `${this.challenge}, error="insufficient_scope", scope="${policy.scopes.join(' ')}"`,
        );
      }
      throw new ForbiddenError(`Missing scope: ${missingScope}.`);
    }
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
      if (claims.sid) {
        const status = this.revocations.lookup(claims.sid);
        if (status === 'revoked') {
          throw new SessionRevokedError();
        }
        // Only while the list overflows or the feed has not caught up yet; the verifier's own
        // platform check already ran.
        if (status === 'unknown' && !verifier.checksSessionsAtPlatform) {
          await this.askPlatform(token, claims.sid);
        }
      } else if (this.clientRevocations.isRevoked(claims.client_id, claims.iat ?? 0)) {
        throw new InvalidTokenError("The client's tokens were revoked.");
      }
      return this.bearerCallerOf(claims);
    } catch (error) {
      if (error instanceof RevocationCheckUnavailableError) {
        const overflowUntil = this.revocations.overflowUntil ?? Date.now();
        const seconds = Math.max(1, Math.ceil((overflowUntil - Date.now()) / 1000));
        exchange.setHeader('Retry-After', String(seconds));
      } else if (error instanceof VerificationUnavailableError) {
        exchange.setHeader('Retry-After', String(error.retryAfterSeconds));
      } else if (error instanceof GatehouseAuthError) {
        exchange.setHeader('WWW-Authenticate', `${this.challenge}, error="invalid_token"`);
      }
      throw error;
    }
  }

  /**
   * A bearer token's session the overflowing revocation list cannot vouch for: `revocationFallback`
   * decides, and without one the guard fails closed (see `RevocationCheckUnavailableError`).
   */
  private async askPlatform(token: string, sessionId: string): Promise<void> {
    const fallback = this.options.revocationFallback;
    if (!fallback) {
      throw new RevocationCheckUnavailableError();
    }
    if (await fallback.isRevoked(token, sessionId)) {
      throw new SessionRevokedError();
    }
  }

  /**
   * A verified token's claims object is reused by the verifier's cache, so its (immutable) Caller is
   * built once per token instead of once per request.
   */
  private bearerCallerOf(claims: AccessTokenClaims): Caller {
    let caller = this.bearerCallers.get(claims);
    if (!caller) {
      const service = !claims.sid && claims.sub === claims.client_id;
      caller = new Caller(
        {
          id: claims.sub,
          kind: service ? 'service' : 'user',
          credential: 'bearer',
          sessionId: claims.sid ?? null,
          clientId: claims.client_id,
          roles: claims.roles ?? [],
          scopes: (claims.scope ?? '').split(' ').filter(Boolean),
        },
        this.capabilities,
      );
      this.bearerCallers.set(claims, caller);
      if (claims.roles !== undefined) {
        this.rolesDelegated.add(caller);
      }
    }
    return caller;
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
        },
        this.capabilities,
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
    exchange.setHeader('WWW-Authenticate', this.challenge);
    return error;
  }
}
