import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ensureBundles, REPOSITORY } from '../support/bundles.js';
import { hiddenInteraction } from '../support/code-flow.js';
import { HttpBrowser } from '../support/http-browser.js';
import { givenUserAt } from '../support/http.js';
import { LaunchedProcess } from '../support/launched-process.js';
import { freePort, isPortFree } from '../support/test-app.js';

/**
 * `npm start` and the operator scripts as a newcomer runs them: real processes on a scratch
 * DATA_DIR (embedded PostgreSQL), in order — one instance runs while a second start, a taken port
 * and a script are tried against it, then signals stop it.
 */
const STARTED = 'Press Ctrl-C to stop.';
const START_MS = 120_000;
const STOP_MS = 30_000;

const INHERITED_CONFIG = [
  'DATABASE_URL',
  'ISSUER',
  'TRUSTED_ORIGINS',
  'KEY_ENCRYPTION_KEY',
  'ADMIN_EMAIL',
  'ADMIN_PASSWORD',
  'REDIS_URL',
  'INSTANCE_ID',
  'HOST',
  'MIGRATIONS_RUN',
  'SMTP_URL',
  'MAIL_CATCHER_PORT',
  'MAIL_CATCHER_SMTP_PORT',
];

/** The test runner's environment without any Gatehouse configuration, plus `env`. */
function environment(env: Record<string, string>): NodeJS.ProcessEnv {
  const clean = { ...process.env };
  for (const name of INHERITED_CONFIG) {
    delete clean[name];
  }
  return { ...clean, NODE_ENV: 'development', LOG_LEVEL: 'warn', ...env };
}

function node(bundle: string, args: string[], env: Record<string, string>, input?: string) {
  return new LaunchedProcess(process.execPath, [join(REPOSITORY, 'dist', bundle), ...args], {
    env: environment(env),
    cwd: REPOSITORY,
    input,
  });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function childrenOf(pid: number): number[] {
  const out = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map(Number);
}

interface Holder {
  readonly pid: number;
  readonly url: string;
}

describe('npm start on the embedded database', () => {
  let root: string;
  let dataDir: string;
  let ports: { auth: number; admin: number; notes: number; mail: number; smtp: number };
  let portEnv: Record<string, string>;
  let first: LaunchedProcess;
  let holder: Holder;
  let instanceId: string | null;
  const launched: LaunchedProcess[] = [];

  /** Every process of a running instance: the launcher and its children (three apps, the postmaster). */
  async function treeOf(launcherPid: number): Promise<number[]> {
    const postmaster = Number(
      (await readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0],
    );
    const children = childrenOf(launcherPid);
    expect(children).toHaveLength(4);
    expect(children).toContain(postmaster);
    return [launcherPid, ...children];
  }

  async function expectAllGone(pids: number[]): Promise<void> {
    expect(pids.filter(isRunning)).toEqual([]);
    for (const port of Object.values(ports)) {
      expect(await isPortFree(port), `port ${port}`).toBe(true);
    }
    expect(existsSync(join(dataDir, 'running.json'))).toBe(false);
  }

  beforeAll(async () => {
    await ensureBundles();
    root = await mkdtemp(join(tmpdir(), 'gatehouse-launcher-'));
    // As root the embedded PostgreSQL runs as 'postgres', which must be able to enter the directory.
    await chmod(root, 0o711);
    dataDir = join(root, 'data');
    ports = {
      auth: await freePort(),
      admin: await freePort(),
      notes: await freePort(),
      mail: await freePort(),
      smtp: await freePort(),
    };
    portEnv = {
      AUTH_API_PORT: String(ports.auth),
      ADMIN_API_PORT: String(ports.admin),
      NOTES_API_PORT: String(ports.notes),
      MAIL_CATCHER_PORT: String(ports.mail),
      MAIL_CATCHER_SMTP_PORT: String(ports.smtp),
    };
  }, START_MS);

  afterAll(async () => {
    for (const proc of launched) {
      if (proc.child.exitCode === null && proc.child.signalCode === null) {
        proc.child.kill('SIGTERM');
        await proc.finished(STOP_MS).catch(() => undefined);
      }
    }
    // A launcher that outlived its npm process (the failure the SIGTERM test looks for).
    const orphan = await readFile(join(dataDir, 'running.json'), 'utf8').then(
      (text) => (JSON.parse(text) as Holder).pid,
      () => undefined,
    );
    if (orphan !== undefined && isRunning(orphan)) {
      process.kill(orphan, 'SIGTERM');
      for (let waited = 0; isRunning(orphan) && waited < STOP_MS; waited += 200) {
        await sleep(200);
      }
    }
    await rm(root, { recursive: true, force: true });
  }, STOP_MS * 3);

  it(
    'starts with AUTH_API_PORT alone: the issuer follows it, notes-api is ready, the printed URLs agree',
    async () => {
      first = new LaunchedProcess('npm', ['start'], {
        env: environment({ DATA_DIR: dataDir, ...portEnv }),
        cwd: REPOSITORY,
      });
      launched.push(first);
      await first.waitFor(STARTED, START_MS);

      const authUrl = `http://localhost:${ports.auth}`;
      expect(first.output).toContain(`auth-api   ${authUrl}   Swagger UI: ${authUrl}/docs`);
      expect(first.output).toContain(`notes-api  http://localhost:${ports.notes}`);
      const discovery = await fetch(`${authUrl}/.well-known/openid-configuration`);
      expect(((await discovery.json()) as { issuer: string }).issuer).toBe(authUrl);

      const ready = await fetch(`http://127.0.0.1:${ports.auth}/health/ready`);
      expect(ready.status).toBe(200);
      instanceId = ready.headers.get('gatehouse-instance');
      expect(instanceId).toMatch(/^[0-9a-f-]{36}$/);
      const notes = await fetch(`http://127.0.0.1:${ports.notes}/health/ready`);
      expect(notes.status).toBe(200);
      expect(notes.headers.get('gatehouse-instance')).toBe(instanceId);

      holder = JSON.parse(await readFile(join(dataDir, 'running.json'), 'utf8')) as Holder;
      expect(holder.pid).toBeGreaterThan(0);
      expect(holder.url).toMatch(/^postgres:\/\//);
    },
    START_MS,
  );

  it('runs a local mail catcher whose page the banner prints, and the apps send their mail to it', async () => {
    const catcherUrl = `http://localhost:${ports.mail}`;
    expect(first.output).toContain(
      `mail       ${catcherUrl}   local mail catcher: every mail the apps send`,
    );
    const inbox = await fetch(`http://127.0.0.1:${ports.mail}/`);
    expect(inbox.status).toBe(200);
    expect(inbox.headers.get('content-security-policy')).toMatch(/^default-src 'none'; /);
    expect(await inbox.text()).toContain('Gatehouse mail catcher');

    const authUrl = `http://127.0.0.1:${ports.auth}`;
    const origin = `http://localhost:${ports.auth}`;
    const user = await givenUserAt(authUrl);
    const login = await fetch(`${authUrl}/auth/login`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body: JSON.stringify({ email: user.email, password: user.password }),
    });
    expect(login.status).toBe(200);
    const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
    const change = await fetch(`${authUrl}/me/password`, {
      method: 'POST',
      headers: { cookie, origin, 'content-type': 'application/json' },
      body: JSON.stringify({
        currentPassword: user.password,
        newPassword: 'a new and longer passphrase',
      }),
    });
    expect(change.status).toBe(204);
    let caught: { id: number; to: string; subject: string }[] = [];
    for (let waited = 0; caught.length === 0 && waited < 20_000; waited += 200) {
      await sleep(200);
      const all = (await (await fetch(`http://127.0.0.1:${ports.mail}/messages.json`)).json()) as {
        id: number;
        to: string;
        subject: string;
      }[];
      // Registration mails a verification link too: this follows the password-changed notice.
      caught = all.filter(
        (mail) =>
          mail.to === user.email && mail.subject !== 'Confirm your email address for Gatehouse',
      );
    }
    expect(caught.map((mail) => mail.subject)).toEqual(['Your Gatehouse password was changed']);
    const page = await fetch(`http://127.0.0.1:${ports.mail}/messages/${caught[0]!.id}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`${user.email}`);
  });

  it('mails a password reset link that a newcomer reads on the catcher page and opens at auth-api', async () => {
    const catcher = `http://127.0.0.1:${ports.mail}`;
    const issuer = `http://localhost:${ports.auth}`;
    const user = await givenUserAt(`http://127.0.0.1:${ports.auth}`);
    const forgot = await fetch(`http://127.0.0.1:${ports.auth}/auth/password/forgot`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: user.email }),
    });
    expect(forgot.status).toBe(202);

    // As the newcomer does: reload the inbox page until the mail is listed, open it, follow its link.
    const row = new RegExp(
      `<td>${user.email.replace(/[.+]/g, '\\$&')}</td>\\s*<td><a href="(/messages/\\d+)">Reset your Gatehouse password</a>`,
    );
    let message: string | undefined;
    await expect
      .poll(async () => (message = row.exec(await (await fetch(`${catcher}/`)).text())?.[1]), {
        timeout: 20_000,
        interval: 200,
      })
      .toBeDefined();
    const page = await fetch(`${catcher}${message!}`);
    expect(page.status).toBe(200);
    const link = new RegExp(`<a href="(${issuer}/reset-password\\?token=[A-Za-z0-9_-]+)">`).exec(
      await page.text(),
    )?.[1];
    expect(link, 'a reset link on the ISSUER origin').toBeDefined();

    const resetPage = await fetch(link!);
    expect(resetPage.status).toBe(200);
    expect(resetPage.headers.get('content-type')).toMatch(/^text\/html/);
    const form = await resetPage.text();
    expect(form).toContain('Choose a new password');
    expect(form).toContain(`For <strong>${user.email}</strong>.`);
  });

  it('trusts both loopback spellings of the printed URLs for cookie writes (Swagger "Try it out")', async () => {
    const operator = JSON.parse(
      await readFile(join(dataDir, 'bootstrap-operator.json'), 'utf8'),
    ) as { email: string; password: string };
    for (const origin of [`http://localhost:${ports.auth}`, `http://127.0.0.1:${ports.auth}`]) {
      const login = await fetch(`http://127.0.0.1:${ports.auth}/auth/login`, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/json' },
        body: JSON.stringify(operator),
      });
      expect(login.status, origin).toBe(200);
    }
  });

  it('prints a demo client whose authorization URL completes the code flow', async () => {
    const authorize = /open (http:\/\/\S+\/oauth\/authorize\?\S+)/.exec(first.output)?.[1];
    const verifier = /-d code_verifier=(\S+)/.exec(first.output)?.[1];
    expect(authorize).toBeDefined();
    const issuer = `http://localhost:${ports.auth}`;
    const url = new URL(authorize!);
    const operator = JSON.parse(
      await readFile(join(dataDir, 'bootstrap-operator.json'), 'utf8'),
    ) as { email: string; password: string };

    const browser = new HttpBrowser(issuer);
    const toSignIn = await browser.get(url);
    expect(toSignIn.status).toBe(303);
    const signInPage = await browser.get(new URL(toSignIn.headers.get('location')!, issuer));
    const signedIn = await browser.post('/signin', {
      email: operator.email,
      password: operator.password,
      interaction: hiddenInteraction(await signInPage.text()),
    });
    const consentPage = await browser.get(new URL(signedIn.headers.get('location')!, issuer));
    expect(consentPage.status).toBe(200);
    const approved = await browser.post('/oauth/authorize/consent', {
      interaction: hiddenInteraction(await consentPage.text()),
      decision: 'approve',
    });
    const callback = new URL(approved.headers.get('location')!);
    expect(callback.origin + callback.pathname).toBe('http://127.0.0.1:8765/callback');

    const token = await fetch(`${issuer}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: url.searchParams.get('client_id')!,
        redirect_uri: url.searchParams.get('redirect_uri')!,
        code_verifier: verifier!,
        code: callback.searchParams.get('code')!,
      }),
    });
    expect(token.status).toBe(200);
    expect(await token.json()).toMatchObject({ scope: 'openid email notes:read' });
  });

  it('refuses a second start on the same DATA_DIR, naming it and the running pid, and leaves the first alone', async () => {
    const second = node('start.js', [], {
      DATA_DIR: dataDir,
      AUTH_API_PORT: String(await freePort()),
      ADMIN_API_PORT: String(await freePort()),
      NOTES_API_PORT: String(await freePort()),
    });
    launched.push(second);
    expect((await second.finished(STOP_MS)).code).toBe(1);
    expect(second.output).toContain(
      `Gatehouse failed to start: another Gatehouse is already running on DATA_DIR ${dataDir} (pid ${holder.pid}, npm start)`,
    );
    expect(second.output).not.toContain('undefined');
    const ready = await fetch(`http://127.0.0.1:${ports.auth}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.headers.get('gatehouse-instance')).toBe(instanceId);
  });

  it('refuses a taken port before starting anything, naming the port and its variable', async () => {
    const otherDataDir = join(root, 'other');
    const blocked = node('start.js', [], {
      DATA_DIR: otherDataDir,
      AUTH_API_PORT: String(ports.auth),
      ADMIN_API_PORT: String(await freePort()),
      NOTES_API_PORT: String(await freePort()),
    });
    launched.push(blocked);
    expect((await blocked.finished(STOP_MS)).code).toBe(1);
    expect(blocked.output).toContain(
      `Gatehouse failed to start: port ${ports.auth} (AUTH_API_PORT) is already in use on 127.0.0.1`,
    );
    expect(blocked.output).not.toContain('Gatehouse is running');
    expect(existsSync(otherDataDir)).toBe(false);
  });

  it('runs admin:create and migration:run against the running instance', async () => {
    const email = `ops-${Date.now()}@launcher.example`;
    const password = 'a password for the launcher test';
    const create = node(
      'create-admin.js',
      ['--email', email],
      { DATA_DIR: dataDir },
      `${password}\n`,
    );
    launched.push(create);
    expect((await create.finished(STOP_MS)).code).toBe(0);
    expect(create.output).toContain(`Created operator ${email}`);
    expect(create.output).toContain(`running on DATA_DIR ${dataDir} (pid ${holder.pid}`);
    const login = await fetch(`http://127.0.0.1:${ports.auth}/auth/login`, {
      method: 'POST',
      headers: { origin: `http://localhost:${ports.auth}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    expect(login.status).toBe(200);

    const migrate = node('migrate.js', [], { DATA_DIR: dataDir });
    launched.push(migrate);
    expect((await migrate.finished(STOP_MS)).code).toBe(0);
    expect(migrate.output).toContain('No pending migrations.');
  });

  it('stops the launcher, the three apps and PostgreSQL on SIGTERM to the npm process', async () => {
    const tree = await treeOf(holder.pid);
    first.child.kill('SIGTERM');
    expect((await first.finished(STOP_MS)).code).toBe(0);
    expect(first.output).toContain(
      'Stopped auth-api, admin-api, notes-api and the embedded PostgreSQL.',
    );
    await expectAllGone([first.pid, ...tree]);
  });

  it(
    'keeps the demo client of the first start, and stops everything when an app is stopped',
    async () => {
      const again = node('start.js', [], { DATA_DIR: dataDir, ...portEnv });
      launched.push(again);
      await again.waitFor(STARTED, START_MS);
      const clientId = /client_id=([0-9a-f-]{36})/.exec(first.output)?.[1];
      expect(again.output).toContain(`client_id=${clientId}`);
      const { url } = JSON.parse(await readFile(join(dataDir, 'running.json'), 'utf8')) as Holder;
      const database = new pg.Client({ connectionString: url });
      await database.connect();
      try {
        const { rows } = await database.query<{ count: number }>(
          `SELECT count(*)::int AS count FROM clients WHERE name LIKE 'Demo app%'`,
        );
        expect(rows[0]?.count).toBe(1);
      } finally {
        await database.end();
      }

      const tree = await treeOf(again.pid);
      const authApi = childrenOf(again.pid).find((pid) =>
        execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).includes(
          'auth-api.js',
        ),
      );
      process.kill(authApi!, 'SIGTERM');
      expect((await again.finished(STOP_MS)).code).toBe(0);
      expect(again.output).toContain('auth-api was stopped by SIGTERM');
      expect(again.output).toContain('Stopped admin-api, notes-api and the embedded PostgreSQL.');
      await expectAllGone(tree);
    },
    START_MS,
  );
});
