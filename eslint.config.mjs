// Typed lint rules plus the module boundaries of the style guide (§2), enforced with core rules only.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const lib = (name) => `@gatehouse/${name}`;
const ALL_LIBS = ['config', 'persistence', 'identity', 'nest-auth', 'http'];

/** Imports a folder may not make: other apps, libs outside its allowance, deep paths into libs. */
function boundaries(allowedLibs, { apps = true, otherApps = [] } = {}) {
  const forbiddenLibs = ALL_LIBS.filter((name) => !allowedLibs.includes(name)).map(lib);
  return {
    'no-restricted-imports': [
      'error',
      {
        paths: forbiddenLibs.map((name) => ({
          name,
          message: 'Not allowed by the module boundaries (style.md §2).',
        })),
        patterns: [
          {
            // nest-auth/passport: the package's second entry point, not a deep import.
            group: ['@gatehouse/*/*', '!@gatehouse/nest-auth/passport'],
            message: 'Import a lib through its index only: @gatehouse/<lib>.',
          },
          { group: ['**/libs/**'], message: 'Import a lib through its alias: @gatehouse/<lib>.' },
          ...(apps ? [{ group: ['**/apps/**'], message: 'Apps and libs never import apps.' }] : []),
          ...otherApps.map((app) => ({
            group: [`**/${app}/**`],
            message: 'Apps never import apps.',
          })),
        ],
      },
    ],
  };
}

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'libs/*/dist/**',
      'node_modules/**',
      '.gatehouse/**',
      'coverage/**',
      '*.config.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/require-await': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      eqeqeq: 'error',
      curly: 'error',
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read configuration through @gatehouse/config.',
        },
      ],
    },
  },
  {
    files: ['apps/auth-api/**'],
    rules: boundaries(['config', 'persistence', 'identity', 'nest-auth', 'http'], {
      otherApps: ['admin-api', 'notes-api'],
    }),
  },
  {
    files: ['apps/admin-api/**'],
    rules: boundaries(['config', 'persistence', 'identity', 'nest-auth', 'http'], {
      otherApps: ['auth-api', 'notes-api'],
    }),
  },
  // notes-api proves nest-auth stands alone: no Gatehouse code but @gatehouse/nest-auth.
  {
    files: ['apps/notes-api/**'],
    rules: boundaries(['nest-auth'], { otherApps: ['auth-api', 'admin-api'] }),
  },
  {
    files: ['libs/http/**'],
    rules: boundaries(['config', 'persistence', 'identity', 'nest-auth']),
  },
  { files: ['libs/identity/**'], rules: boundaries(['config', 'persistence']) },
  { files: ['libs/persistence/**', 'libs/nest-auth/**', 'libs/config/**'], rules: boundaries([]) },
  { files: ['scripts/**'], rules: boundaries(ALL_LIBS) },
  {
    files: [
      'libs/config/**',
      'test/**',
      '*.config.ts',
      'bench/**',
      'examples/**',
      'apps/notes-api/src/main.ts',
    ],
    rules: { 'no-restricted-properties': 'off' },
  },
  // The benchmark's peers and the examples are plain JavaScript (run by node, no build): lint them
  // untyped, as Node modules.
  {
    files: ['bench/peers/**/*.mjs', 'examples/**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
      },
    },
  },
  // Vitest's asymmetric matchers (expect.any, expect.stringMatching) are typed `any`.
  {
    files: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
);
