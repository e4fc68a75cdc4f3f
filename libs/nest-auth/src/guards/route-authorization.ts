import { Inject, Injectable } from '@nestjs/common';

import {
  ForbiddenError,
  InsufficientUserAuthenticationError,
  SessionRevokedError,
} from '../auth.errors.js';
import { Caller } from '../current-user.js';
import { GATEHOUSE_AUTH_OPTIONS, type GatehouseAuthOptions } from '../gatehouse-auth.options.js';
import { BearerCallers } from './bearer-callers.js';
import type { HttpExchange } from './http-exchange.js';
import type { RoutePolicy } from './route-policy.js';
import { acrSatisfies } from '../step-up/acr.js';

/**
 * `@RequireScopes`, `@RequireCapabilities`, `@RequireFreshAuth` and `@RequireMfa`, for an
 * authenticated caller: whichever guard authenticated it (`AuthenticationGuard`, or
 * `GatehouseJwtStrategy` behind `AuthGuard('gatehouse')`).
 */
@Injectable()
export class RouteAuthorization {
  constructor(
    @Inject(GATEHOUSE_AUTH_OPTIONS) private readonly options: GatehouseAuthOptions,
    private readonly bearerCallers: BearerCallers,
  ) {}

  /** The caller the route serves (with its current roles where they count), or 403 FORBIDDEN. */
  async authorize(exchange: HttpExchange, caller: Caller, policy: RoutePolicy): Promise<Caller> {
    this.authorizeScopes(exchange, caller, policy);
    let current = caller;
    if (policy.capabilities.length > 0) {
      current = await this.withCurrentRoles(exchange, caller);
      const missing = policy.capabilities.find((capability) => !current.can(capability));
      if (missing) {
        throw new ForbiddenError(`Missing capability: ${missing}.`);
      }
    }
    // Last: a caller who may not use the route at all is not sent to sign in again for nothing.
    this.authorizeUserAuthentication(exchange, current, policy);
    return current;
  }

  /**
   * `@RequireFreshAuth(seconds)` and `@RequireMfa()` (RFC 9470): a sign-in too old or too weak is
   * answered 401 `INSUFFICIENT_USER_AUTHENTICATION` with `error="insufficient_user_authentication"`
   * and the `max_age` or `acr_values` that would do. A service has no sign-in to renew: 403.
   */
  private authorizeUserAuthentication(
    exchange: HttpExchange,
    caller: Caller,
    policy: RoutePolicy,
  ): void {
    const maxAge = policy.freshAuthSeconds;
    if (maxAge === null && policy.acrValues.length === 0) {
      return;
    }
    if (caller.kind !== 'user') {
      throw new ForbiddenError(
        "This route needs a user's own sign-in; a service token has none to renew.",
      );
    }
    const authenticatedAt = caller.authenticatedAt?.getTime();
    const tooOld =
      maxAge !== null &&
      (authenticatedAt === undefined || Date.now() - authenticatedAt > maxAge * 1000);
    const tooWeak = policy.acrValues.length > 0 && !acrSatisfies(caller.acr, policy.acrValues);
    if (!tooOld && !tooWeak) {
      return;
    }
    const message = [
      tooWeak ? 'This needs a sign-in with a second factor.' : null,
      tooOld ? `This needs a sign-in within the last ${maxAge} seconds.` : null,
      'Sign in again, then retry.',
    ]
      .filter(Boolean)
      .join(' ');
    const error = new InsufficientUserAuthenticationError(
      message,
      tooOld ? maxAge : null,
      tooWeak ? policy.acrValues : [],
    );
    exchange.setHeader('WWW-Authenticate', this.stepUpChallenge(error));
    throw error;
  }

  /** RFC 9470 §3: the challenge names what would do (`max_age`, `acr_values`). */
  private stepUpChallenge(error: InsufficientUserAuthenticationError): string {
    return [
      this.bearerCallers.challenge,
      'error="insufficient_user_authentication"',
      `error_description="${error.message}"`,
      ...(error.maxAgeSeconds !== null ? [`max_age="${error.maxAgeSeconds}"`] : []),
      ...(error.acrValues.length > 0 ? [`acr_values="${error.acrValues.join(' ')}"`] : []),
    ].join(', ');
  }

  /**
   * Checked before capabilities (what the client was delegated bounds what the user may do through
   * it): 403 FORBIDDEN naming the missing scope; a bearer token short of scope also gets RFC 6750
   * §3.1's `error="insufficient_scope"` challenge with the scopes.
   */
  private authorizeScopes(exchange: HttpExchange, caller: Caller, policy: RoutePolicy): void {
    const missingScope = policy.scopes.find((scope) => !caller.scopes.includes(scope));
    if (missingScope) {
      if (caller.credential === 'bearer') {
        exchange.setHeader(
          'WWW-Authenticate',
          `${this.bearerCallers.challenge}, error="insufficient_scope", scope="${policy.scopes.join(' ')}"`,
        );
      }
      throw new ForbiddenError(`Missing scope: ${missingScope}.`);
    }
  }

  /**
   * A bearer caller's roles as they are now, where the app can tell (`currentRoles`): a role removed
   * after the token was issued no longer counts. Only first-party tokens carry roles at all.
   */
  private async withCurrentRoles(exchange: HttpExchange, caller: Caller): Promise<Caller> {
    const { currentRoles } = this.options;
    if (
      !currentRoles ||
      caller.credential !== 'bearer' ||
      !this.bearerCallers.hasDelegatedRoles(caller)
    ) {
      return caller;
    }
    const roles = await currentRoles(caller.id);
    if (roles === null) {
      exchange.setHeader('WWW-Authenticate', this.bearerCallers.challenge);
      throw new SessionRevokedError();
    }
    return new Caller({ ...caller, roles }, this.bearerCallers.capabilities);
  }
}
