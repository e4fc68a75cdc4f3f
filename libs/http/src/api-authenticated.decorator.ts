import { applyDecorators } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCookieAuth,
  ApiForbiddenResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';

import { ErrorResponseDto } from './error-response.dto.js';
import { BEARER_SCHEME, COOKIE_SCHEME } from './swagger.js';

/**
 * Documents routes for authenticated users: the session cookie or a bearer access token, their 401s,
 * and the 403 a service token gets. The global guard enforces it; the route-protection test proves
 * the two agree.
 */
export function ApiAuthenticated(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiCookieAuth(COOKIE_SCHEME),
    ApiBearerAuth(BEARER_SCHEME),
    ApiUnauthorizedResponse({
      type: ErrorResponseDto,
      description:
        'Cookie: `MISSING_CREDENTIALS`, `INVALID_SESSION`, `SESSION_EXPIRED` or `SESSION_REVOKED` (a dead cookie is cleared). Bearer: `INVALID_TOKEN`, `TOKEN_EXPIRED` or `SESSION_REVOKED` with `error="invalid_token"`. Always with `WWW-Authenticate`.',
    }),
    ApiForbiddenResponse({
      type: ErrorResponseDto,
      description: '`FORBIDDEN`: a service (client credentials) token has no user account.',
    }),
  );
}

/** Documents the CSRF answer of a state-changing route that accepts the session cookie. */
export function ApiCsrfChecked(): MethodDecorator & ClassDecorator {
  return ApiForbiddenResponse({
    type: ErrorResponseDto,
    description:
      '`CSRF_REJECTED`: a cookie-authenticated write whose `Origin` (or `Referer`) is not in `TRUSTED_ORIGINS` (bearer requests are exempt). `FORBIDDEN`: a service token.',
  });
}
