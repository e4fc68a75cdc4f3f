// One bundle per entry point (apps and operator scripts). Our own code and the @gatehouse/* libs are
// bundled; every npm package stays an external ESM import so Node resolves it exactly as in dev.
// rspack does not type-check: `npm run typecheck` does.
import { isAbsolute, resolve } from 'node:path';

const root = import.meta.dirname;

const libraries = ['config', 'persistence', 'identity', 'nest-auth', 'http'];

export default {
  mode: 'production',
  target: 'node20',
  context: root,
  entry: {
    'auth-api': './apps/auth-api/src/main.ts',
    'admin-api': './apps/admin-api/src/main.ts',
    'notes-api': './apps/notes-api/src/main.ts',
    start: './scripts/start.ts',
    migrate: './scripts/migrate.ts',
    'rotate-keys': './scripts/rotate-keys.ts',
    seed: './scripts/seed.ts',
    'create-admin': './scripts/create-admin.ts',
    bench: './bench/run.ts',
    'bench-refresh-chains': './bench/refresh-chains.ts',
    'bench-registration-burst-driver': './bench/registration-burst-driver.ts',
    'config-table': './scripts/config-table.ts',
    'mail-catcher': './scripts/mail-catcher.ts',
  },
  output: {
    path: resolve(root, 'dist'),
    filename: '[name].js',
    module: true,
    chunkFormat: 'module',
    library: { type: 'module' },
    clean: true,
  },
  experiments: { outputModule: true },
  optimization: { minimize: false, splitChunks: false, runtimeChunk: false },
  devtool: 'source-map',
  resolve: {
    extensions: ['.ts', '.js'],
    extensionAlias: { '.js': ['.ts', '.js'] },
    alias: {
      ...Object.fromEntries(
        libraries.map((name) => [
          `@gatehouse/${name}$`,
          resolve(root, `libs/${name}/src/index.ts`),
        ]),
      ),
      // nest-auth's second entry point (the Passport strategy, apart for its optional peers).
      '@gatehouse/nest-auth/passport$': resolve(root, 'libs/nest-auth/src/passport.ts'),
    },
  },
  externalsType: 'module-import',
  externals: [
    ({ request }, callback) => {
      const bundled =
        !request ||
        request.startsWith('.') ||
        isAbsolute(request) ||
        request.startsWith('@gatehouse/');
      return bundled ? callback() : callback(undefined, request);
    },
  ],
  module: {
    parser: { javascript: { importMeta: false, url: false } },
    rules: [
      {
        test: /\.ts$/,
        exclude: /node_modules/,
        loader: 'builtin:swc-loader',
        options: {
          jsc: {
            target: 'es2022',
            parser: { syntax: 'typescript', decorators: true },
            transform: {
              legacyDecorator: true,
              decoratorMetadata: true,
              useDefineForClassFields: false,
            },
          },
        },
        type: 'javascript/auto',
      },
    ],
  },
  node: { __dirname: false, __filename: false },
};
