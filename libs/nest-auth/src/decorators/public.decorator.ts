import { SetMetadata } from '@nestjs/common';

/** Metadata key read by the authentication guard. */
export const IS_PUBLIC_KEY = 'gatehouse:public';

/**
 * Marks a route (or controller) as reachable without credentials. Everything else is closed by default
 * once the authentication guard is registered.
 */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC_KEY, true);
