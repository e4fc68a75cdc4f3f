import { readFile, writeFile } from 'node:fs/promises';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { describe, expect, it } from 'vitest';

import { givenAdminApi, givenAuthApi } from './support/test-app.js';

/**
 * The committed apps/<app>/openapi.json is the reviewed HTTP contract. This spec regenerates it from
 * the running app and fails on any difference; `npm run openapi:generate` rewrites the files instead.
 */
const update = process.env['UPDATE_OPENAPI'] === '1';

describe.each([
  ['auth-api', givenAuthApi],
  ['admin-api', givenAdminApi],
])('apps/%s/openapi.json', (app, givenApp) => {
  it('matches the document the app serves at /docs-json', async () => {
    let instance: NestFastifyApplication | undefined;
    try {
      instance = await givenApp();
      const served = `${JSON.stringify((await instance.inject({ method: 'GET', url: '/docs-json' })).json(), null, 2)}\n`;
      const file = new URL(`../apps/${app}/openapi.json`, import.meta.url);
      if (update) {
        await writeFile(file, served);
      }
      const committed = await readFile(file, 'utf8').catch(() => '');
      expect(committed, 'run `npm run openapi:generate` and commit the result').toBe(served);
    } finally {
      await instance?.close();
    }
  });
});
