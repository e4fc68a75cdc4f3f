import type { ExecutionContext } from '@nestjs/common';
import { GUARDS_METADATA } from '@nestjs/common/constants.js';
import type { Reflector } from '@nestjs/core';

import { IS_PUBLIC_KEY } from '../decorators/public.decorator.js';
import {
  REQUIRED_CAPABILITIES_KEY,
  REQUIRED_SCOPES_KEY,
} from '../decorators/require-capabilities.decorator.js';
import {
  REQUIRED_ACR_KEY,
  REQUIRED_FRESH_AUTH_KEY,
} from '../decorators/require-step-up.decorator.js';
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
  /** `@RequireFreshAuth(seconds)`: the sign-in must be at most this old (null: any age). */
  readonly freshAuthSeconds: number | null;
  /** `@RequireMfa()`: the sign-in's `acr` must satisfy one of these (empty: any). */
  readonly acrValues: readonly string[];
}

/** Whether the route asks more of an authenticated caller than to be one (`RouteAuthorization`). */
export function needsAuthorization(policy: RoutePolicy): boolean {
  return (
    policy.scopes.length > 0 ||
    policy.capabilities.length > 0 ||
    policy.freshAuthSeconds !== null ||
    policy.acrValues.length > 0
  );
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
        freshAuthSeconds:
          this.reflector.getAllAndOverride<number | undefined>(REQUIRED_FRESH_AUTH_KEY, targets) ??
          null,
        acrValues:
          this.reflector.getAllAndOverride<readonly string[] | undefined>(
            REQUIRED_ACR_KEY,
            targets,
          ) ?? [],
        gatehouseStrategy: usesGatehouseStrategy(
          this.reflector.getAllAndMerge<unknown[]>(GUARDS_METADATA, targets),
        ),
      };
      ofController.set(handler, policy);
    }
    return policy;
  }
}
