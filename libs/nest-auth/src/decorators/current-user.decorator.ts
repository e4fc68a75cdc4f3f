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
