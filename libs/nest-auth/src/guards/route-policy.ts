import type { ExecutionContext } from '@nestjs/common';
import { GUARDS_METADATA } from '@nestjs/common/constants.js';
import type { Reflector } from '@nestjs/core';

import { IS_PUBLIC_KEY } from '../decorators/public.decorator.js';
import {
  REQUIRED_CAPABILITIES_KEY,
  REQUIRED_SCOPES_KEY,
} from '../decorators/require-capabilities.decorator.js';
import { REQUIRE_TRUSTED_ORIGIN_KEY } from '../decorators/require-trusted-origin.decorator.js';
import { usesGatehouseStrategy } from '../passport/passport-route.js';

/** What a route's decorators ask of the guard, read once per route (metadata never changes). */
export interface RoutePolicy {
  readonly trustedOriginRequired: boolean;
  readonly isPublic: boolean;
  readonly capabilities: readonly string[];
  readonly scopes: readonly string[];
  /** The route authenticates through `AuthGuard('gatehouse')` (`GatehouseJwtStrategy`). */
  readonly gatehouseStrategy: boolean;
}

/** Each route's policy, read from its decorators once (metadata never changes). */
export class RoutePolicies {
  /** Controller class → handler → policy (an inherited handler may serve several controllers). */
  private readonly policies = new WeakMap<object, WeakMap<object, RoutePolicy>>();

  constructor(private readonly reflector: Reflector) {}

  of(context: ExecutionContext): RoutePolicy {
    const [handler, controller] = [context.getHandler(), context.getClass()];
    let ofController = this.policies.get(controller);
    if (!ofController) {
      ofController = new WeakMap();
      this.policies.set(controller, ofController);
    }
    let policy = ofController.get(handler);
    if (!policy) {
      const targets = [handler, controller];
      policy = {
        trustedOriginRequired:
          this.reflector.getAllAndOverride<boolean>(REQUIRE_TRUSTED_ORIGIN_KEY, targets) ?? false,
        isPublic: this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets) ?? false,
        capabilities: this.reflector.getAllAndMerge<string[]>(REQUIRED_CAPABILITIES_KEY, targets),
        scopes: this.reflector.getAllAndMerge<string[]>(REQUIRED_SCOPES_KEY, targets),
        gatehouseStrategy: usesGatehouseStrategy(
          this.reflector.getAllAndMerge<unknown[]>(GUARDS_METADATA, targets),
        ),
      };
      ofController.set(handler, policy);
    }
    return policy;
  }
}
