import type { ConnectionOptions } from 'node:tls';

import pg from 'pg';
import postgres from 'postgres';
import type { DataSource } from 'typeorm';

/** Where the pipelined client connects, and how many connections it may hold. */
export interface PipelinedStatementOptions {
  readonly url: string;
  readonly poolSize: number;
  /** A statement that cannot get a connection within this time fails (503), as on the main pool. */
  readonly connectTimeoutMs: number;
  /** Shown in pg_stat_activity. */
  readonly applicationName: string;
}

/** The same limit as the main pool's connections (data-source-options.ts). */
const STATEMENT_TIMEOUT_MS = 15_000;

/** node-postgres's TLS parameters of a connection URL; postgres.js would send them as settings. */
const TLS_PARAMETERS = ['ssl', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'uselibpqcompat'];

/**
 * The TLS options node-postgres (the main pool) derives from `url`, for postgres.js to connect the
 * same way: false without TLS; otherwise tls.connect options, verifying the server's certificate
 * unless the URL says `sslmode=no-verify`. (postgres.js alone would read `sslmode=require` as libpq
 * does, encrypting without verifying, where node-postgres verifies; and would not read the
 * certificate files.)
 */
export function tlsOptionsOf(url: string): false | ConnectionOptions {
  const { ssl } = (
    new pg.Client({ connectionString: url }) as unknown as {
      connectionParameters: { ssl?: boolean | ConnectionOptions };
    }
  ).connectionParameters;
  if (!ssl) {
    return false;
  }
  return ssl === true ? {} : { ...ssl };
}

/** `url` without node-postgres's TLS parameters (tlsOptionsOf reads them). */
function withoutTlsParameters(url: string): string {
  const parsed = new URL(url);
  for (const parameter of TLS_PARAMETERS) {
    parsed.searchParams.delete(parameter);
  }
  return parsed.href;
}

/**
 * A second, small pool on postgres.js for the statements a request makes every time and that no
 * cache can answer: the refresh grant's rotation (RefreshTokenRepository.rotate). postgres.js
 * pipelines statements that are ready at the same moment onto one connection and parses rows with
 * less per-query machinery than node-postgres. Measured with 50 refresh chains, alternating with the
 * node-postgres path on one machine: 15–38 % more refreshes per second, and about a sixth less CPU
 * per refresh in auth-api and in PostgreSQL each (docs/contributors.md, "What makes refresh fast").
 *
 * Only single statements outside a transaction go here; TypeORM and its node-postgres pool keep
 * everything else. Each statement is prepared once per connection, like the main pool's named ones.
 */
export class PipelinedStatements {
  private readonly sql: postgres.Sql;

  constructor(options: PipelinedStatementOptions) {
    this.sql = postgres(withoutTlsParameters(options.url), {
      max: options.poolSize,
      ssl: tlsOptionsOf(options.url),
      connect_timeout: options.connectTimeoutMs / 1000, // seconds
      // Connections opened for a burst are closed after a minute of rest.
      idle_timeout: 60,
      prepare: true,
      connection: {
        application_name: options.applicationName,
        statement_timeout: STATEMENT_TIMEOUT_MS,
      },
      // PostgreSQL's NOTICE messages are not logged (node-postgres drops them as well).
      onnotice: () => undefined,
    });
  }

  /** The rows of one statement (SELECT, or a write with RETURNING). */
  async query<Row>(text: string, parameters: readonly unknown[]): Promise<Row[]> {
    return (await this.sql.unsafe(text, parameters as postgres.ParameterOrJSON<never>[], {
      prepare: true,
    })) as unknown as Row[];
  }

  /** Closes every connection, letting statements under way finish (for at most 5 s). */
  end(): Promise<void> {
    return this.sql.end({ timeout: 5 });
  }
}

/** The pipelined client of each data source that has one (apps have; scripts and unit tests do not). */
const attached = new WeakMap<DataSource, PipelinedStatements>();

export function attachPipelinedStatements(
  dataSource: DataSource,
  statements: PipelinedStatements,
): void {
  attached.set(dataSource, statements);
}

export function pipelinedStatementsOf(dataSource: DataSource): PipelinedStatements | undefined {
  return attached.get(dataSource);
}
