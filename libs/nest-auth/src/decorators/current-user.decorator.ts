import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

import type { Caller } from '../current-user.js';

/** Where the authentication guard leaves the resolved caller on the request. */
export const CALLER_KEY = 'gatehouseCaller';

/** The type of a `@CurrentUser()` parameter: the caller, whatever its credential. */
export type CurrentUser = Caller;

/**
 * Injects the authenticated caller: `handler(@CurrentUser() user: CurrentUser)`. On a `@Public()` route
 * it is `undefined`.
 */
export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Caller | undefined =>
    context.switchToHttp().getRequest<Record<string, Caller | undefined>>()[CALLER_KEY],
);

/**
 * The same caller, read off the request (`handler(@Req() request)`): for a route called so often that
 * the global pipes count. Nest runs every app-wide pipe on a custom parameter such as `@CurrentUser()`,
 * as a chain of promises, although a `ValidationPipe` leaves it untouched (it validates bodies,
 * queries and route parameters); `@Req()` skips them. On auth-api's `GET /me` that chain was 8 % of
 * the route's instructions. Throws on a route no guard authenticated (`@Public()`), a programming
 * error rather than a refusal.
 */
export function currentUserOf(request: object): CurrentUser {
  const caller = (request as Record<string, Caller | undefined>)[CALLER_KEY];
  if (caller === undefined) {
    throw new Error('currentUserOf: no authenticated caller on this request (a @Public() route?)');
  }
  return caller;
}
