import { applyDecorators } from '@nestjs/common';
import { ApiCookieAuth, ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';

import { ErrorResponseDto } from './error-response.dto.js';
import { COOKIE_SCHEME } from './swagger.js';

/**
 * Documents routes behind the session cookie: the security scheme and its 401s. The global guard
 * enforces it; the route-protection test proves the two agree.
 */
export function ApiSessionAuth(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiCookieAuth(COOKIE_SCHEME),
    ApiUnauthorizedResponse({
      type: ErrorResponseDto,
      description:
        '`MISSING_CREDENTIALS`, `INVALID_SESSION`, `SESSION_EXPIRED` or `SESSION_REVOKED` (a dead cookie is cleared). Carries `WWW-Authenticate`.',
    }),
  );
}

/** Documents the CSRF answer of a state-changing route that accepts the session cookie. */
export function ApiCsrfChecked(): MethodDecorator & ClassDecorator {
  return ApiForbiddenResponse({
    type: ErrorResponseDto,
    description:
      '`CSRF_REJECTED`: a cookie-authenticated write whose `Origin` (or `Referer`) is not in `TRUSTED_ORIGINS`.',
  });
}
