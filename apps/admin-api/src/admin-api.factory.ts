import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { GatehouseConfig } from '@gatehouse/config';
import { type ApiDescription, createHttpApp, type HttpAppOptions } from '@gatehouse/http';

import { AdminApiModule } from './admin-api.module.js';

export const ADMIN_API_DESCRIPTION: ApiDescription = {
  title: 'Gatehouse admin-api',
  description:
    'Operators: sessions, forced revocation, users, clients, signing keys, audit log. Errors use `{statusCode, error, message}` with the stable codes listed in docs/app-developers.md ("Error codes"). With `MFA_REQUIRED_ROLES`, every route answers an operator of such a role 403 `MFA_ENROLMENT_REQUIRED` until they have a second factor, and 401 `INSUFFICIENT_USER_AUTHENTICATION` (RFC 9470 challenge) for a sign-in made without it.',
};

export function createAdminApi(
  config: GatehouseConfig,
  options: HttpAppOptions = {},
): Promise<NestFastifyApplication> {
  return createHttpApp(AdminApiModule.forRoot(config), config, ADMIN_API_DESCRIPTION, {
    ...options,
    name: 'admin-api',
  });
}
