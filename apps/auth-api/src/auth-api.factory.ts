import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { GatehouseConfig } from '@gatehouse/config';
import { type ApiDescription, createHttpApp, type HttpAppOptions } from '@gatehouse/http';

import { AuthApiModule } from './auth-api.module.js';

export const AUTH_API_DESCRIPTION: ApiDescription = {
  title: 'Gatehouse auth-api',
  description:
    'Users and clients: registration, cookie sessions, OAuth 2.0 tokens. Errors outside /oauth use `{statusCode, error, message}` with the stable codes listed in docs/app-developers.md ("Error codes").',
};

export function createAuthApi(
  config: GatehouseConfig,
  options: HttpAppOptions = {},
): Promise<NestFastifyApplication> {
  return createHttpApp(AuthApiModule.forRoot(config), config, AUTH_API_DESCRIPTION, {
    ...options,
    name: 'auth-api',
  });
}
