import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiForbiddenResponse } from '@nestjs/swagger';

export const REQUIRED_CAPABILITIES_KEY = 'gatehouse:required-capabilities';
export const REQUIRED_SCOPES_KEY = 'gatehouse:required-scopes';

/**
 * The caller must hold every capability (through its roles and the capability map); otherwise 403
 * FORBIDDEN naming the first missing one. Also documents the 403 in Swagger.
 */
export function RequireCapabilities(...capabilities: string[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(REQUIRED_CAPABILITIES_KEY, capabilities),
    ApiForbiddenResponse({
      description: `\`FORBIDDEN\` without the capabilities: ${capabilities.join(', ')}.`,
    }),
  );
}

/** The caller's token must carry every scope (OAuth `scope` claim); otherwise 403 FORBIDDEN. */
export function RequireScopes(...scopes: string[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(REQUIRED_SCOPES_KEY, scopes),
    ApiForbiddenResponse({
      description: `\`FORBIDDEN\` without the scopes: ${scopes.join(', ')}.`,
    }),
  );
}
