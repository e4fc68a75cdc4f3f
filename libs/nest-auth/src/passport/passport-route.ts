import type { BearerCallers } from '../guards/bearer-callers.js';
import type { HttpExchange } from '../guards/http-exchange.js';
import type { RouteAuthorization } from '../guards/route-authorization.js';
import type { RoutePolicy } from '../guards/route-policy.js';
import type { AccessTokenVerification } from '../tokens/access-token.verifier.js';

/** The name `GatehouseJwtStrategy` is registered under: `@UseGuards(AuthGuard('gatehouse'))`. */
export const GATEHOUSE_STRATEGY = 'gatehouse';

/**
 * `AuthGuard('gatehouse')`, once `GatehouseJwtStrategy` is constructed (it tells us: the core of
 * this package does not load @nestjs/passport, an optional peer). @nestjs/passport memoizes its
 * guard classes by strategy name, so there is one such class per process.
 */
const strategyGuards = new Set<abstract new (...args: never[]) => unknown>();

export function recogniseStrategyGuard(guard: abstract new (...args: never[]) => unknown): void {
  strategyGuards.add(guard);
}

/**
 * Whether a route's `@UseGuards` (on the handler or its controller) name `AuthGuard('gatehouse')`,
 * as a class, a subclass or an instance: the route has opted into `GatehouseJwtStrategy`.
 */
export function usesGatehouseStrategy(guards: readonly unknown[]): boolean {
  if (strategyGuards.size === 0) {
    return false;
  }
  return guards.some((guard) =>
    [...strategyGuards].some(
      (strategyGuard) =>
        guard === strategyGuard ||
        guard instanceof strategyGuard ||
        (typeof guard === 'function' && guard.prototype instanceof strategyGuard),
    ),
  );
}

/** Where `AuthenticationGuard` leaves a Passport route's handoff on the request. */
export const PASSPORT_HANDOFF_KEY = 'gatehousePassportHandoff';

/**
 * What the global guard hands the strategy on a route that opted into it: the route's policy
 * (scopes, capabilities: the strategy sees no route), the exchange to answer refusals on (a
 * Passport strategy sees only the request; Fastify's has no response), and the app's own verifier
 * and checks. Passport keeps one strategy per name per process, so with two apps in one process
 * (tests) the one registered last serves both: each request brings its own app's parts.
 */
export interface PassportHandoff {
  readonly exchange: HttpExchange;
  readonly policy: RoutePolicy;
  readonly verification: AccessTokenVerification | undefined;
  readonly callers: BearerCallers;
  readonly authorization: RouteAuthorization;
}
