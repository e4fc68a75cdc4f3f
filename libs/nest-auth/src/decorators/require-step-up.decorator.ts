import { applyDecorators, SetMetadata } from '@nestjs/common';
import type * as Swagger from '@nestjs/swagger';

import { optionalPeer } from '../optional-peer.js';
import { ACR } from '../step-up/acr.js';

export const REQUIRED_FRESH_AUTH_KEY = 'gatehouse:required-fresh-auth';
export const REQUIRED_ACR_KEY = 'gatehouse:required-acr';

/** The classes `@RequireMfa()` accepts: a second factor, or a passkey. */
export const MFA_ACR_VALUES: readonly string[] = [ACR.mfa, ACR.phishingResistant];

/**
 * The 401 in the route's OpenAPI document (only when the app has `@nestjs/swagger`), the other 401s
 * included: it replaces a controller-wide description of the 401.
 */
function documented(description: string): MethodDecorator & ClassDecorator {
  const swagger = optionalPeer<typeof Swagger>('@nestjs/swagger');
  return swagger
    ? swagger.ApiUnauthorizedResponse({
        description: `${description} Else \`MISSING_CREDENTIALS\`, \`INVALID_TOKEN\`, \`TOKEN_EXPIRED\`, \`SESSION_REVOKED\` (cookie: \`INVALID_SESSION\`, \`SESSION_EXPIRED\`), always with \`WWW-Authenticate\`. A service (client-credentials) token has no sign-in: 403 \`FORBIDDEN\`.`,
      })
    : () => undefined;
}

/**
 * The user must have signed in within the last `seconds` (the token's `auth_time`, the cookie
 * session's sign-in); otherwise 401 `INSUFFICIENT_USER_AUTHENTICATION` with the RFC 9470 challenge
 * `WWW-Authenticate: Bearer error="insufficient_user_authentication", max_age="<seconds>"`. The client
 * sends the user through `/oauth/authorize?max_age=<seconds>` (or `max_age=0`) and retries with the
 * new token. A service token gets 403 `FORBIDDEN`: it has no sign-in to renew.
 */
export function RequireFreshAuth(seconds: number): MethodDecorator & ClassDecorator {
  if (!Number.isInteger(seconds) || seconds < 0) {
    throw new Error(`@RequireFreshAuth needs a whole number of seconds, not ${seconds}.`);
  }
  return applyDecorators(
    SetMetadata(REQUIRED_FRESH_AUTH_KEY, seconds),
    documented(
      `\`INSUFFICIENT_USER_AUTHENTICATION\` (RFC 9470 challenge with \`max_age="${seconds}"\`): the user last signed in more than ${seconds} seconds ago; sign in again and retry.`,
    ),
  );
}

/**
 * The user's sign-in must have used a second factor or a passkey (`acr` `urn:gatehouse:acr:mfa` or
 * `phr`); otherwise 401 `INSUFFICIENT_USER_AUTHENTICATION` with the RFC 9470 challenge
 * `WWW-Authenticate: Bearer error="insufficient_user_authentication", acr_values="urn:gatehouse:acr:mfa"`.
 * The client sends the user through `/oauth/authorize?acr_values=urn:gatehouse:acr:mfa`. A service
 * token gets 403 `FORBIDDEN`.
 */
export function RequireMfa(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(REQUIRED_ACR_KEY, MFA_ACR_VALUES),
    documented(
      `\`INSUFFICIENT_USER_AUTHENTICATION\` (RFC 9470 challenge with \`acr_values="${ACR.mfa}"\`): the sign-in used no second factor; sign in again with one and retry.`,
    ),
  );
}
