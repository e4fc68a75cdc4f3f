import 'reflect-metadata';

import { serve } from '@gatehouse/http';

import { createAuthApi } from './auth-api.factory.js';

await serve({ name: 'auth-api', port: (config) => config.authApi.port, create: createAuthApi });
