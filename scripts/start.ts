import 'reflect-metadata';

import { type ChildProcess, spawn } from 'node:child_process';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { childEnvironment, type GatehouseConfig } from '@gatehouse/config';
import { loadConfigOrExit, resolveDatabase, resolveKeyEncryptionKey } from '@gatehouse/http';
import { migrateDatabase } from '@gatehouse/persistence';

import { developmentOperator, type OperatorCredentials } from './dev-operator.js';
import { withDataSource } from './migration-runner.js';

/**
 * `npm start`: the embedded PostgreSQL when DATABASE_URL is unset, migrations once, then auth-api and
 * admin-api as child processes (the same bundles production runs). Ctrl-C stops everything.
 */
interface App {
  readonly name: string;
  readonly port: number;
  process?: ChildProcess;
}

const READY_TIMEOUT_MS = 60_000;

function launch(app: App, env: Record<string, string>): ChildProcess {
  const bundle = fileURLToPath(new URL(`./${app.name}.js`, import.meta.url));
  return spawn(process.execPath, ['--enable-source-maps', bundle], {
    env: childEnvironment(env),
    stdio: 'inherit',
  });
}

async function waitUntilReady(url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const ok = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) {
      return;
    }
    await new Promise((wake) => setTimeout(wake, 250));
  }
  throw new Error(`${url} did not become ready within ${READY_TIMEOUT_MS / 1000} s`);
}

function banner(config: GatehouseConfig, apps: App[], operator: string, embedded: boolean): string {
  const base = (port: number) =>
    `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
  return [
    '',
    'Gatehouse is running.',
    ...apps.map(
      (app) => `  ${app.name.padEnd(10)} ${base(app.port)}   Swagger UI: ${base(app.port)}/docs`,
    ),
    `  database   ${embedded ? `embedded PostgreSQL, data in ${resolve(config.dataDir)}` : 'DATABASE_URL'}`,
    `  operator   ${operator}`,
    'Press Ctrl-C to stop.',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const initial = loadConfigOrExit();
  const resolved = await resolveDatabase(initial);
  const { embedded } = resolved;
  const config = await resolveKeyEncryptionKey(resolved.config, { embedded: !!embedded });
  const url = config.database.url ?? '';
  await withDataSource(url, migrateDatabase);

  let operator: OperatorCredentials | undefined = config.bootstrapOperator;
  let operatorNote = operator
    ? `${operator.email} (password from ADMIN_PASSWORD)`
    : 'none (set ADMIN_EMAIL and ADMIN_PASSWORD)';
  if (!operator && embedded) {
    const generated = await developmentOperator(resolve(config.dataDir));
    operator = generated.credentials;
    operatorNote = `${operator.email}, password in ${relative(process.cwd(), generated.file)}`;
  }

  const platform: App[] = [
    { name: 'auth-api', port: config.authApi.port },
    { name: 'admin-api', port: config.adminApi.port },
  ];
  // The example sibling app discovers auth-api's keys at start, so it starts once auth-api is up.
  const sibling: App = { name: 'notes-api', port: config.notesApi.port };
  const apps = [...platform, sibling];
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) {
      return;
    }
    stopping = true;
    await Promise.all(
      apps.map(
        (app) =>
          new Promise<void>((done) => {
            if (!app.process || app.process.exitCode !== null) {
              return done();
            }
            app.process.once('exit', () => done());
            app.process.kill('SIGTERM');
          }),
      ),
    );
    await embedded?.stop();
    process.exit(code);
  };
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));

  const env = {
    DATABASE_URL: url,
    MIGRATIONS_RUN: 'false',
    KEY_ENCRYPTION_KEY: config.keys.encryptionKey?.toString('base64') ?? '',
  };
  const operatorEnv = operator
    ? { ADMIN_EMAIL: operator.email, ADMIN_PASSWORD: operator.password }
    : {};
  const start = (app: App, appEnv: Record<string, string>) => {
    app.process = launch(app, appEnv);
    app.process.once('exit', (code) => {
      if (!stopping) {
        process.stderr.write(`${app.name} exited (${code ?? 'signal'}); stopping Gatehouse.\n`);
        void stop(1);
      }
    });
  };
  for (const app of platform) {
    start(app, app.name === 'admin-api' ? { ...env, ...operatorEnv } : env);
  }
  await Promise.all(
    platform.map((app) => waitUntilReady(`http://127.0.0.1:${app.port}/health/ready`)),
  );
  start(sibling, { DATABASE_URL: url, ISSUER: config.issuer });
  await waitUntilReady(`http://127.0.0.1:${sibling.port}/health`);
  process.stdout.write(banner(initial, apps, operatorNote, embedded !== undefined));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `Gatehouse failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
