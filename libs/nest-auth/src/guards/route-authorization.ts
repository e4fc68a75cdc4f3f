import { Inject, Injectable } from '@nestjs/common';

import { ForbiddenError, SessionRevokedError } from '../auth.errors.js';
import { Caller } from '../current-user.js';
import { GATEHOUSE_AUTH_OPTIONS, type GatehouseAuthOptions } from '../gatehouse-auth.options.js';
import { BearerCallers } from './bearer-callers.js';
import type { HttpExchange } from './http-exchange.js';
import type { RoutePolicy } from './route-policy.js';

/**
 * `@RequireScopes` and `@RequireCapabilities`, for an authenticated caller: whichever guard
 * authenticated it (`AuthenticationGuard`, or `GatehouseJwtStrategy` behind `AuthGuard('gatehouse')`).
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
    if (policy.capabilities.length === 0) {
      return caller;
    }
    const current = await this.withCurrentRoles(exchange, caller);
    const missing = policy.capabilities.find((capability) => !current.can(capability));
    if (missing) {
      throw new ForbiddenError(`Missing capability: ${missing}.`);
    }
    return current;
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
