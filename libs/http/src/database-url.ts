import { resolve } from 'node:path';

import type { GatehouseConfig } from '@gatehouse/config';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '@gatehouse/persistence';

export interface ResolvedDatabase {
  readonly config: GatehouseConfig;
  /** Set when this process started the embedded server; stop it on shutdown. */
  readonly embedded: EmbeddedDatabase | undefined;
}

/** With no DATABASE_URL, starts the embedded PostgreSQL in DATA_DIR and points the config at it. */
export async function resolveDatabase(config: GatehouseConfig): Promise<ResolvedDatabase> {
  if (config.database.url) {
    return { config, embedded: undefined };
  }
  const embedded = await startEmbeddedPostgres({ directory: resolve(config.dataDir) });
  return { config: { ...config, database: { ...config.database, url: embedded.url } }, embedded };
}
