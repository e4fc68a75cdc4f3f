import { applyDecorators, SetMetadata } from '@nestjs/common';
import type * as Swagger from '@nestjs/swagger';

import { optionalPeer } from '../optional-peer.js';

export const REQUIRED_CAPABILITIES_KEY = 'gatehouse:required-capabilities';
export const REQUIRED_SCOPES_KEY = 'gatehouse:required-scopes';

/**
 * The 403 in the route's OpenAPI document, so the docs cannot drift from what is enforced. Only
 * when the app has `@nestjs/swagger` (an optional peer): an app without Swagger has nothing to
 * document, and must not need the package to use the guard.
 */
function documentedForbidden(description: string): MethodDecorator & ClassDecorator {
  const swagger = optionalPeer<typeof Swagger>('@nestjs/swagger');
  return swagger ? swagger.ApiForbiddenResponse({ description }) : () => undefined;
}

/**
 * The caller must hold every capability (through its roles and the capability map); otherwise 403
 * FORBIDDEN naming the first missing one. Also documents the 403 in Swagger.
 */
export function RequireCapabilities(...capabilities: string[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(REQUIRED_CAPABILITIES_KEY, capabilities),
    documentedForbidden(`\`FORBIDDEN\` without the capabilities: ${capabilities.join(', ')}.`),
  );
}

/** The caller's token must carry every scope (OAuth `scope` claim); otherwise 403 FORBIDDEN. */
export function RequireScopes(...scopes: string[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(REQUIRED_SCOPES_KEY, scopes),
    documentedForbidden(`\`FORBIDDEN\` without the scopes: ${scopes.join(', ')}.`),
  );
}
