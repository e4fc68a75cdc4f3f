import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { REPOSITORY } from '../support/bundles.js';
import { givenTokens, givenUser, SESSION_REVOKED } from '../support/http.js';
import { LaunchedProcess } from '../support/launched-process.js';
import { givenListeningAuthApi } from '../support/test-app.js';
import { workerDatabaseUrl } from '../support/test-database.js';

const PACKAGE = join(REPOSITORY, 'libs/nest-auth');
const CONSUMER_SOURCES = join(REPOSITORY, 'test/deployment/nest-auth-consumer');
const ADAPTERS = ['express', 'fastify'] as const;
type Adapter = (typeof ADAPTERS)[number];

/** What the sibling app installs beside the tarball, at the versions this repository installs. */
const CONSUMER_DEPENDENCIES = [
  '@nestjs/common',
  '@nestjs/core',
  '@nestjs/platform-express',
  '@nestjs/platform-fastify',
  'reflect-metadata',
  'rxjs',
  '@nestjs/passport',
  'passport',
  'passport-jwt',
];
const CONSUMER_DEV_DEPENDENCIES = ['typescript', '@types/node'];
/** The package's optional peers: the native guard must load and work without any of them. */
const OPTIONAL_PEERS = [
  '@nestjs/passport',
  'passport',
  'passport-jwt',
  '@nestjs/swagger',
  'ioredis',
];

const execFileAsync = promisify(execFile);
/** How long each step of the set-up took, reported at the end of it. */
const timings: string[] = [];

async function timed<T>(step: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  timings.push(`${step} ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

/** A command that must succeed; a failure shows what it printed (tsc and npm print to stdout). */
async function execute(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number },
): Promise<{ stdout: string }> {
  try {
    return await execFileAsync(command, args, options);
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout}\n${stderr}`, {
      cause: error,
    });
  }
}

/**
 * The environment for npm outside this repository. Under `npm test` the environment holds the
 * outer npm's settings (npm_config_local_prefix, npm_package_*…), which would point an inner npm at
 * this repository; only those that say where packages come from are kept.
 */
function npmEnvironment(): NodeJS.ProcessEnv {
  const kept = [
    'cache',
    'registry',
    'cafile',
    'userconfig',
    'globalconfig',
    'proxy',
    'https_proxy',
  ];
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => {
      const lower = name.toLowerCase();
      return !lower.startsWith('npm_') || kept.some((setting) => lower === `npm_config_${setting}`);
    }),
  );
}

/** The versions this repository installs: pinned in package.json, else resolved in its lockfile. */
async function repositoryVersions(names: readonly string[]): Promise<Record<string, string>> {
  const read = async <T>(file: string) =>
    JSON.parse(await readFile(join(REPOSITORY, file), 'utf8')) as T;
  const manifest =
    await read<Record<'dependencies' | 'devDependencies', Record<string, string>>>('package.json');
  const lock = await read<{ packages: Record<string, { version: string }> }>('package-lock.json');
  const pinned = { ...manifest.dependencies, ...manifest.devDependencies };
  return Object.fromEntries(
    names.map((name) => [name, pinned[name] ?? lock.packages[`node_modules/${name}`]!.version]),
  );
}

/**
 * The tarball `npm run nest-auth:pack` makes, built the same way (tsconfig.build.json, the
 * package's package.json and README) but in a scratch folder: the script's `libs/nest-auth/dist`
 * and root `dist/` belong to the checkout, which other test files read and rebuild meanwhile.
 */
async function packNestAuth(workspace: string): Promise<string> {
  const staged = join(workspace, 'package');
  await mkdir(staged, { recursive: true });
  const tsc = join(REPOSITORY, 'node_modules/typescript/bin/tsc');
  const build = ['-p', join(PACKAGE, 'tsconfig.build.json'), '--outDir', join(staged, 'dist')];
  await timed('tsc build', () => execute(process.execPath, [tsc, ...build], { cwd: REPOSITORY }));
  await copyFile(join(PACKAGE, 'package.json'), join(staged, 'package.json'));
  await copyFile(join(PACKAGE, 'README.md'), join(staged, 'README.md'));
  const { stdout } = await timed('npm pack', () =>
    execute(
      'npm',
      ['pack', staged, '--ignore-scripts', '--json', '--pack-destination', workspace],
      {
        cwd: workspace,
        env: npmEnvironment(),
      },
    ),
  );
  const [packed] = JSON.parse(stdout) as { filename: string }[];
  return join(workspace, packed!.filename);
}

/** `npm install` in the app: from the npm cache `npm ci` filled, the registry for what is missing. */
function npmInstall(app: string, packages: readonly string[] = []): Promise<{ stdout: string }> {
  const options = ['--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'];
  return execute('npm', ['install', ...options, '--loglevel=error', ...packages], {
    cwd: app,
    env: npmEnvironment(),
    timeout: 150_000,
  });
}

/** A sibling app of its own: package.json with its Nest packages installed, tsconfig.json, sources. */
async function scaffoldConsumer(app: string): Promise<void> {
  await mkdir(join(app, 'src'), { recursive: true });
  const manifest = {
    name: 'nest-auth-consumer',
    private: true,
    type: 'module',
    dependencies: await repositoryVersions(CONSUMER_DEPENDENCIES),
    devDependencies: await repositoryVersions(CONSUMER_DEV_DEPENDENCIES),
  };
  const compilerOptions = {
    target: 'ES2022',
    module: 'nodenext',
    strict: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    skipLibCheck: true, // as `nest new` writes it
    types: ['node'],
    rootDir: 'src',
    outDir: 'dist',
  };
  await writeFile(join(app, 'package.json'), JSON.stringify(manifest, null, 2));
  await writeFile(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions }, null, 2));
  await writeFile(join(app, 'hide-optional-peers.mjs'), hideOptionalPeers());
  for (const file of ['main.ts', 'passport.ts']) {
    await copyFile(join(CONSUMER_SOURCES, file), join(app, 'src', file));
  }
  await timed('npm install (Nest)', () => npmInstall(app));
}

/**
 * The app with the tarball installed as the docs say (`npm install <file>.tgz`, which also brings
 * its dependencies), compiled with its own tsc. The package is built while the app's Nest packages
 * install.
 */
async function givenConsumerApp(workspace: string): Promise<string> {
  const app = join(workspace, 'app');
  const [tarball] = await Promise.all([packNestAuth(workspace), scaffoldConsumer(app)]);
  await timed('npm install (tarball)', () => npmInstall(app, [tarball]));
  await timed("the app's tsc", () =>
    execute(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], { cwd: app }),
  );
  return app;
}

/**
 * `node --import ./hide-optional-peers.mjs`: the optional peers cannot be imported, as in an app
 * that never installed them (one install serves both kinds of app).
 */
function hideOptionalPeers(): string {
  const hook = `
    const hidden = new Set(${JSON.stringify(OPTIONAL_PEERS)});
    export async function resolve(specifier, context, next) {
      if (hidden.has(specifier)) {
        throw Object.assign(new Error(\`Cannot find package '\${specifier}' (hidden)\`), {
          code: 'ERR_MODULE_NOT_FOUND',
        });
      }
      return next(specifier, context);
    }`;
  return `import { register } from 'node:module';\nregister(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});\n`;
}

/** Every app process this file starts, stopped at the end whatever happened. */
const launched: LaunchedProcess[] = [];

function launchConsumer(
  app: string,
  args: readonly string[],
  env: Record<string, string>,
): LaunchedProcess {
  const consumer = new LaunchedProcess(process.execPath, args, {
    cwd: app,
    env: { PATH: process.env['PATH'] ?? '', ...env },
  });
  launched.push(consumer);
  return consumer;
}

async function startConsumer(
  app: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<string> {
  const consumer = launchConsumer(app, args, env);
  await consumer.waitFor('listening on ', 30_000);
  return /listening on (\S+)/.exec(consumer.output)![1]!;
}

/** Stops it as an orchestrator would; Nest's shutdown hooks end it by re-raising the signal. */
async function stopConsumer(consumer: LaunchedProcess): Promise<void> {
  if (consumer.child.exitCode !== null || consumer.child.signalCode !== null) {
    return;
  }
  consumer.child.kill('SIGTERM');
  const { code, signal } = await consumer.finished(10_000);
  expect(code === 0 || signal === 'SIGTERM', consumer.output).toBe(true);
}

describe('@gatehouse/nest-auth installed from its tarball by an app outside the repository', () => {
  let workspace: string;
  let app: string;
  let auth: NestFastifyApplication;
  let env: Record<string, string>;
  /** Where each app listens: the two with Passport by adapter, and the one without its peers. */
  const urls = new Map<Adapter | 'without peers', string>();

  beforeAll(async () => {
    workspace = await mkdtemp(join(tmpdir(), 'gatehouse-nest-auth-package-'));
    const [scaffolded, listening] = await Promise.all([
      givenConsumerApp(workspace),
      givenListeningAuthApi(),
    ]);
    app = scaffolded;
    auth = listening.app;
    env = { ISSUER: listening.issuer, DATABASE_URL: await workerDatabaseUrl() };
    const [express, fastify, hidden] = await timed('three apps started', () =>
      Promise.all([
        startConsumer(app, ['dist/main.js', 'express', '--passport'], env),
        startConsumer(app, ['dist/main.js', 'fastify', '--passport'], env),
        startConsumer(
          app,
          ['--import', './hide-optional-peers.mjs', 'dist/main.js', 'fastify'],
          env,
        ),
      ]),
    );
    urls.set('express', express).set('fastify', fastify).set('without peers', hidden);
    // Reported, not asserted: the whole file should stay well under a minute.
    console.log(`nest-auth package set-up: ${timings.join(', ')}`);
  }, 240_000);

  afterAll(async () => {
    try {
      await Promise.all(launched.map(stopConsumer));
      await auth?.close();
    } finally {
      if (workspace) {
        await rm(workspace, { recursive: true, force: true });
      }
    }
  });

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  describe.each(
    ADAPTERS.flatMap((adapter) =>
      ['/whoami', '/passport/whoami'].map((route) => ({ adapter, route })),
    ),
  )('GET $route on $adapter', ({ adapter, route }) => {
    const call = (headers: Record<string, string> = {}) =>
      fetch(`${urls.get(adapter)!}${route}`, { headers });

    it('accepts an access token of the auth-api and hands the route its caller', async () => {
      const user = await givenUser(auth);
      const tokens = await givenTokens(auth, user);

      const response = await call(bearer(tokens.access_token));

      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ id: user.id, sessionId: expect.any(String) });
    });

    it('answers a request without a token 401 with a WWW-Authenticate challenge', async () => {
      const response = await call();

      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="gatehouse"');
      expect(await response.json()).toEqual({
        statusCode: 401,
        error: 'MISSING_CREDENTIALS',
        message: 'Authentication is required.',
      });
    });

    it('refuses the token once its session is revoked at auth-api (PostgreSQL feed)', async () => {
      const tokens = await givenTokens(auth, await givenUser(auth));
      expect((await call(bearer(tokens.access_token))).status).toBe(200);
      const { session } = (
        await auth.inject({ method: 'GET', url: '/me', headers: bearer(tokens.access_token) })
      ).json<{ session: { id: string } }>();
      const revoked = await auth.inject({
        method: 'DELETE',
        url: `/me/sessions/${session.id}`,
        headers: bearer(tokens.access_token),
      });
      expect(revoked.statusCode).toBe(204);

      // The feed delivers within milliseconds; a few seconds before calling it lost.
      const deadline = Date.now() + 5_000;
      let response = await call(bearer(tokens.access_token));
      while (response.status === 200 && Date.now() < deadline) {
        await new Promise((wake) => setTimeout(wake, 20));
        response = await call(bearer(tokens.access_token));
      }
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual(SESSION_REVOKED);
      expect(response.headers.get('www-authenticate')).toBe(
        'Bearer realm="gatehouse", error="invalid_token"',
      );
    });
  });

  describe('without its optional peers (Passport, Swagger, ioredis)', () => {
    it('guards routes with the native guard', async () => {
      const user = await givenUser(auth);
      const tokens = await givenTokens(auth, user);
      const whoami = (headers: Record<string, string> = {}) =>
        fetch(`${urls.get('without peers')!}/whoami`, { headers });

      const accepted = await whoami(bearer(tokens.access_token));
      const refused = await whoami();

      expect(accepted.status).toBe(200);
      expect(await accepted.json()).toEqual({ id: user.id, sessionId: expect.any(String) });
      expect(refused.status).toBe(401);
    });

    it('names the missing package when the app imports the Passport entry point', async () => {
      const withPassport = launchConsumer(
        app,
        ['--import', './hide-optional-peers.mjs', 'dist/main.js', 'fastify', '--passport'],
        env,
      );

      const ending = await withPassport.finished(30_000);

      expect(ending.code).not.toBe(0);
      expect(withPassport.output).toContain("Cannot find package '@nestjs/passport' (hidden)");
    });
  });
});
