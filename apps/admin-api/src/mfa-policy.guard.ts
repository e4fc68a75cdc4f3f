import {
  type CanActivate,
  type DynamicModule,
  type ExecutionContext,
  Injectable,
  Module,
} from '@nestjs/common';
import { APP_GUARD, Reflector } from '@nestjs/core';
import { IdentityModule, MfaPolicy } from '@gatehouse/identity';
import { CALLER_KEY, type Caller, RoutePolicies } from '@gatehouse/nest-auth';

/**
 * `MFA_REQUIRED_ROLES` at admin-api, for every route in one place (see `MfaPolicy`): runs after
 * nest-auth's guard has resolved (and authorized) the caller, with its current roles. A service
 * (client credentials) has no sign-in and is not concerned; `@Public()` routes (health) neither.
 */
@Injectable()
export class MfaPolicyGuard implements CanActivate {
  private readonly routes: RoutePolicies;

  constructor(
    private readonly policy: MfaPolicy,
    reflector: Reflector,
  ) {
    this.routes = new RoutePolicies(reflector);
  }

  /**
   * Synchronous unless the policy applies: a public route, a service or a user without a listed
   * role costs the request no promise.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') {
      return true;
    }
    const caller = context.switchToHttp().getRequest<Record<string, Caller | undefined>>()[
      CALLER_KEY
    ];
    if (!caller) {
      if (this.routes.of(context).isPublic) {
        return true;
      }
      // Fail closed: registered before the authentication guard, this guard would see no caller.
      throw new Error('MfaPolicyGuard ran before the authentication guard.');
    }
    if (caller.kind !== 'user' || !this.policy.applies(caller.roles)) {
      return true;
    }
    return this.policy
      .check({ userId: caller.id, roles: caller.roles, amr: caller.amr })
      .then(() => true);
  }
}

/**
 * Global guards run in the order Nest scans their modules: import this module after
 * `localAuthentication(…)`, so that the caller is resolved first.
 */
@Module({})
export class MfaPolicyModule {
  static forRoot(): DynamicModule {
    return {
      module: MfaPolicyModule,
      imports: [IdentityModule],
      providers: [{ provide: APP_GUARD, useClass: MfaPolicyGuard }],
    };
  }
}
