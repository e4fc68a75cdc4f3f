import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';

import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const libraries = ['config', 'persistence', 'identity', 'nest-auth', 'http'];

// SWC keeps decorator metadata, which Nest's DI and class-validator need (esbuild drops it).
const plugins = [
  swc.vite({ jsc: { target: 'es2022', transform: { useDefineForClassFields: false } } }),
];

const resolveOptions = {
  alias: [
    // First: nest-auth's second entry point (the Passport strategy, apart for its optional peers).
    {
      find: '@gatehouse/nest-auth/passport',
      replacement: resolve(import.meta.dirname, 'libs/nest-auth/src/passport.ts'),
    },
    ...libraries.map((name) => ({
      find: `@gatehouse/${name}`,
      replacement: resolve(import.meta.dirname, `libs/${name}/src/index.ts`),
    })),
  ],
};

export default defineConfig({
  test: {
    // Vitest's default leaves a core idle; e2e files mostly wait on PostgreSQL and argon2's thread
    // pool, so one worker per core finishes sooner (2-core CI: ~40 s instead of ~55 s).
    maxWorkers: Math.max(2, availableParallelism()),
    projects: [
      {
        plugins,
        resolve: resolveOptions,
        test: {
          name: 'unit',
          include: ['{apps,libs,scripts}/**/*.spec.ts'],
          exclude: ['libs/persistence/**', '**/node_modules/**'],
        },
      },
      {
        plugins,
        resolve: resolveOptions,
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e-spec.ts', 'libs/persistence/**/*.spec.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
