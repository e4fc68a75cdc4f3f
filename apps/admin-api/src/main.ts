import 'reflect-metadata';

import { serve } from '@gatehouse/http';

import { createAdminApi } from './admin-api.factory.js';

await serve({ name: 'admin-api', port: (config) => config.adminApi.port, create: createAdminApi });
