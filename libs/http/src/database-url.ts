import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { GatehouseConfig } from '@gatehouse/config';
import {
  type DataDirHolder,
  type EmbeddedDatabase,
  findDataDirHolder,
  startEmbeddedPostgres,
} from '@gatehouse/persistence';

export interface ResolvedDatabase {
  readonly config: GatehouseConfig;
  /** Set when this process started the embedded server; stop it on shutdown. */
  readonly embedded: EmbeddedDatabase | undefined;
  /** The embedded database of DATA_DIR, started here or by another process (its secrets are there). */
  readonly inDataDir: boolean;
}

export interface DatabaseUse {
  /** Who asks (`npm start`, `admin:create`…), as other processes are told while it runs. */
  readonly owner: string;
  /**
   * Use the embedded database another process already runs on DATA_DIR (operator scripts, an app
   * started on its own) instead of failing on it. The launcher starts its own or none.
   */
  readonly joinRunning: boolean;
}

const STARTING_WAIT_MS = 60_000;

/** The holder of DATA_DIR once its database takes connections (it may still be starting). */
async function runningDatabase(directory: string): Promise<DataDirHolder | undefined> {
  const deadline = Date.now() + STARTING_WAIT_MS;
  for (;;) {
    const holder = await findDataDirHolder(directory);
    if (!holder || holder.url !== undefined || Date.now() > deadline) {
      return holder;
    }
    await sleep(250);
  }
}

function withUrl(config: GatehouseConfig, url: string): GatehouseConfig {
  return { ...config, database: { ...config.database, url } };
}

/**
 * With no DATABASE_URL: the embedded PostgreSQL in DATA_DIR — the one a running Gatehouse serves,
 * when `joinRunning` and there is one, else one this process starts (and must stop).
 */
export async function resolveDatabase(
  config: GatehouseConfig,
  { owner, joinRunning }: DatabaseUse,
): Promise<ResolvedDatabase> {
  if (config.database.url) {
    return { config, embedded: undefined, inDataDir: false };
  }
  const directory = resolve(config.dataDir);
  const running = joinRunning ? await runningDatabase(directory) : undefined;
  if (running?.url !== undefined) {
    process.stderr.write(
      `${owner}: using the embedded PostgreSQL of the Gatehouse running on DATA_DIR ${directory} (pid ${running.pid}, ${running.owner}).\n`,
    );
    return { config: withUrl(config, running.url), embedded: undefined, inDataDir: true };
  }
  const embedded = await startEmbeddedPostgres({ directory, owner });
  return { config: withUrl(config, embedded.url), embedded, inDataDir: true };
}
