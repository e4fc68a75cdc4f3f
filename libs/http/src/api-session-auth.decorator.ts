import { applyDecorators } from '@nestjs/common';
import { ApiCookieAuth, ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';

import { ErrorResponseDto } from './error-response.dto.js';
import { COOKIE_SCHEME } from './swagger.js';

/**
 * Documents a route behind the session cookie: the security scheme and its 401s; for writes also the
 * CSRF 403. The global guard enforces it; the route-protection test proves the two agree.
 */
export function ApiSessionAuth({ write = false }: { write?: boolean } = {}): MethodDecorator &
  ClassDecorator {
  return applyDecorators(
    ApiCookieAuth(COOKIE_SCHEME),
    ApiUnauthorizedResponse({
      type: ErrorResponseDto,
      description:
        '`MISSING_CREDENTIALS`, `INVALID_SESSION`, `SESSION_EXPIRED` or `SESSION_REVOKED` (a dead cookie is cleared). Carries `WWW-Authenticate`.',
    }),
    ...(write
      ? [
          ApiForbiddenResponse({
            type: ErrorResponseDto,
            description:
              '`CSRF_REJECTED`: a cookie-authenticated write whose `Origin` (or `Referer`) is not in `TRUSTED_ORIGINS`.',
          }),
        ]
      : []),
  );
}
