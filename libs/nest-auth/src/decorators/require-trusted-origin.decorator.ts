import { SetMetadata } from '@nestjs/common';

export const REQUIRE_TRUSTED_ORIGIN_KEY = 'gatehouse:require-trusted-origin';

/**
 * Applies the CSRF origin check to a route whatever its credential, typically a public login form
 * (login CSRF: a hostile page must not sign the browser in to the attacker's account).
 */
export const RequireTrustedOrigin = (): MethodDecorator & ClassDecorator =>
  SetMetadata(REQUIRE_TRUSTED_ORIGIN_KEY, true);
