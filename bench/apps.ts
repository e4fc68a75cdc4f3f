import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import pg from 'pg';

import { serverCommand } from './cpus.js';

/** The processes a benchmark run starts, on a scratch database it drops at the end. */
const root = new URL('../', import.meta.url);
const dist = (name: string) => fileURLToPath(new URL(`dist/${name}.js`, root));
const peer = (name: string) => fileURLToPath(new URL(`bench/peers/${name}.mjs`, root));

export const SERVER_URL =
  process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
export const PASSWORD = 'correct horse battery staple';
export const ORIGIN = 'http://localhost:3000';
export const FIRST_PARTY_CLIENT = 'gatehouse-first-party';

/** How a process is started: a label for the RSS table, extra `node` options (e.g. --cpu-prof). */
export interface StartOptions {
  readonly label?: string;
  readonly nodeOptions?: readonly string[];
  /** false: left out of the RSS table (e.g. profiled instances, stopped before the run ends). */
  readonly inRssTable?: boolean;
}

/** A process the run started, with its resident set size (MB) at the moments the run recorded. */
interface Started {
  readonly label: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly rss: Map<string, number>;
  readonly inRssTable: boolean;
}

/** USER_HZ, 100 on every Linux that Node runs on (`getconf CLK_TCK`). */
const CLOCK_TICK_MICROS = 10_000;

/** The process of this run listening on each port (for the CPU time of a target's server). */
const listening = new Map<number, ChildProcess>();

/**
 * CPU time (user + system, µs) the process listening on `port` has used so far, from Linux /proc
 * (clock ticks of 10 ms); undefined for a port this run did not start, or off Linux.
 */
export function serverCpuMicros(port: number): number | undefined {
  const pid = listening.get(port)?.pid;
  if (pid === undefined) {
    return undefined;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MICROS;
  } catch {
    return undefined;
  }
}

/** When RSS is recorded: at rest for every process, then whichever moments run.ts asks for. */
export const AT_REST = 'at rest';

/** Requests to a new process's public route before its RSS at rest is read. */
export const WARM_UP_REQUESTS = 200;

/** VmRSS of a live process in MB (Linux /proc), undefined once it has exited. */
function residentMb(child: ChildProcess): number | undefined {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
    return undefined;
  }
  try {
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

function record(moment: string, processes: readonly Started[]): void {
  for (const started of processes) {
    const mb = residentMb(started.child);
    if (mb !== undefined) {
      started.rss.set(moment, mb);
    }
  }
}

export class Bench {
  readonly databaseUrl: string;
  readonly kek = randomBytes(32).toString('base64');
  private readonly processes: Started[] = [];

  private constructor(
    private readonly admin: pg.Client,
    private readonly database: string,
  ) {
    const url = new URL(SERVER_URL);
    url.pathname = `/${database}`;
    this.databaseUrl = url.href;
  }

  static async create(): Promise<Bench> {
    const database = `gh_bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: SERVER_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${database}"`);
    return new Bench(admin, database);
  }

  get host(): string {
    return new URL(SERVER_URL).host;
  }

  /** One of the product's bundles (dist/<name>.js) with the common settings plus `env`. */
  async startApp(
    name: string,
    port: number,
    env: Record<string, string> = {},
    options: StartOptions = {},
  ): Promise<string> {
    const base = `http://127.0.0.1:${port}`;
    const portVariable = { 'auth-api': 'AUTH_API_PORT', 'admin-api': 'ADMIN_API_PORT' }[name];
    const started = this.spawn(options, name, port, [...(options.nodeOptions ?? []), dist(name)], {
      DATABASE_URL: this.databaseUrl,
      KEY_ENCRYPTION_KEY: this.kek,
      LOGIN_MAX_ATTEMPTS_PER_IP: '1000000',
      LOGIN_MAX_ATTEMPTS_PER_ACCOUNT: '10000',
      REGISTRATION_ATTEMPTS_PER_IP: '1000000',
      [portVariable ?? 'NOTES_API_PORT']: String(port),
      ...env,
    });
    await this.atRest(
      started,
      name === 'notes-api' ? `${base}/health` : `${base}/health/ready`,
      name === 'notes-api' ? `${base}/health` : `${base}/health/live`,
    );
    return base;
  }

  /** A peer from bench/peers, on the same PostgreSQL server. */
  async startPeer(
    name: string,
    port: number,
    env: Record<string, string> = {},
    options: StartOptions = {},
  ): Promise<string> {
    const base = `http://127.0.0.1:${port}`;
    const started = this.spawn(
      options,
      `peer: ${name}`,
      port,
      [...(options.nodeOptions ?? []), peer(name)],
      { PORT: String(port), DATABASE_URL: this.databaseUrl, ...env },
    );
    await this.atRest(started, `${base}/health`, `${base}/health`);
    return base;
  }

  /**
   * Ready, then warmed up (WARM_UP_REQUESTS sequential requests to its public route, a pause for
   * the collector), then its RSS at rest: before any scenario's load.
   */
  private async atRest(started: Started, readyUrl: string, publicUrl: string): Promise<void> {
    await ready(readyUrl, started.child);
    for (let i = 0; i < WARM_UP_REQUESTS; i += 1) {
      await (await fetch(publicUrl)).arrayBuffer();
    }
    await new Promise((wake) => setTimeout(wake, 500));
    record(AT_REST, [started]);
  }

  /** Records every live process's RSS under `moment` ('after scale', 'end of run', …). */
  recordRss(moment: string): void {
    record(moment, this.processes);
  }

  /** The processes of the RSS table, in start order, with the RSS recorded per moment. */
  residentSets(): { label: string; port: number; rss: ReadonlyMap<string, number> }[] {
    return this.processes
      .filter((p) => p.inRssTable)
      .map(({ label, port, rss }) => ({ label, port, rss }));
  }

  /**
   * Stops the process listening on `port` with `signal` and waits for its exit (SIGINT lets the
   * apps close gracefully, so `node --cpu-prof` writes its profile); its exit code or signal.
   */
  async stopProcess(port: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<string> {
    const started = this.processes.find((p) => p.port === port);
    if (!started) {
      throw new Error(`no process of this run listens on ${port}`);
    }
    await exited(started.child, signal);
    return `${started.child.exitCode ?? started.child.signalCode}`;
  }

  /** A product script (dist/<name>.js), run to completion against the bench database. */
  async script(name: string, args: readonly string[]): Promise<void> {
    await promisify(execFile)(process.execPath, [dist(name), ...args], {
      env: { ...process.env, DATABASE_URL: this.databaseUrl, KEY_ENCRYPTION_KEY: this.kek },
    });
  }

  query<T extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<T[]> {
    return withClient(
      this.databaseUrl,
      async (client) => (await client.query<T>(sql, values)).rows,
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map(({ child }) => exited(child, 'SIGTERM')));
    await this.admin.query(`DROP DATABASE IF EXISTS "${this.database}" WITH (FORCE)`);
    await this.admin.end();
  }

  private spawn(
    options: StartOptions,
    label: string,
    port: number,
    args: string[],
    env: Record<string, string>,
  ): Started {
    const [command, commandArgs] = serverCommand(args);
    const child = spawn(command, commandArgs, {
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const started = {
      label: options.label ?? label,
      port,
      child,
      rss: new Map<string, number>(),
      inRssTable: options.inRssTable ?? true,
    };
    this.processes.push(started);
    listening.set(port, child);
    return started;
  }
}

/** Sends `signal` unless the process has already exited, then waits for its exit. */
function exited(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((done) => {
    child.once('exit', () => done());
    child.kill(signal);
  });
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function ready(url: string, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 240; attempt += 1) {
    if (child.exitCode !== null) {
      throw new Error(`${url}: the process exited with code ${child.exitCode}`);
    }
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    ) {
      return;
    }
    await new Promise((wake) => setTimeout(wake, 250));
  }
  throw new Error(`${url} did not become ready`);
}

export async function call<T>(
  url: string,
  init: RequestInit = {},
): Promise<{ body: T; response: Response }> {
  const response = await fetch(url, init);
  if (!response.ok) {
    throw new Error(
      `${init.method ?? 'GET'} ${url} answered ${response.status}: ${await response.text()}`,
    );
  }
  return { body: (await response.json()) as T, response };
}

const JSON_HEADERS = { 'content-type': 'application/json', origin: ORIGIN };

export async function register(auth: string): Promise<string> {
  const email = `bench-${randomBytes(6).toString('hex')}@example.com`;
  await call(`${auth}/auth/register`, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  return email;
}

export async function login(auth: string, email: string): Promise<string> {
  const { response } = await call(`${auth}/auth/login`, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  return (response.headers.get('set-cookie') ?? '').split(';')[0]!;
}

export interface Tokens {
  readonly access_token: string;
  readonly refresh_token: string;
}

export async function passwordGrant(auth: string, email: string): Promise<Tokens> {
  const { body } = await call<Tokens>(`${auth}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: FIRST_PARTY_CLIENT,
      username: email,
      password: PASSWORD,
    }).toString(),
  });
  return body;
}

/** `count` results of `work`, at most `parallel` at a time (logins are argon2-bound). */
export async function inBatches<T>(
  count: number,
  parallel: number,
  work: (index: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = [];
  for (let from = 0; from < count; from += parallel) {
    const size = Math.min(parallel, count - from);
    results.push(...(await Promise.all(Array.from({ length: size }, (_, i) => work(from + i)))));
  }
  return results;
}
