import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { GatehouseConfig } from '@gatehouse/config';
import { type ApiDescription, createHttpApp, type HttpAppOptions } from '@gatehouse/http';

import { AdminApiModule } from './admin-api.module.js';

export const ADMIN_API_DESCRIPTION: ApiDescription = {
  title: 'Gatehouse admin-api',
  description:
    'Operators: sessions, forced revocation, users, clients, signing keys, audit log. Errors use `{statusCode, error, message}` with the stable codes listed in docs/app-developers.md ("Error codes").',
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
