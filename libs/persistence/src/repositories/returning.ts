import type { Pool, QueryResultRow } from 'pg';
import type { EntityManager } from 'typeorm';

import { pipelinedStatementsOf } from '../pipelined-statements.js';

/**
 * A statement of a hot path, sent to PostgreSQL as a named prepared statement: parsed and planned once
 * per connection instead of on every execution (cookie lookups: about 30 % more requests per second
 * with the session cache off, measured by `npm run bench -- cookie`).
 */
export interface NamedStatement {
  readonly name: string;
  readonly text: string;
  /**
   * Sent through the app's pipelined client (postgres.js, pipelined-statements.ts) when it has one
   * and the statement is not part of a transaction: for statements every request of a hot path
   * makes, which no cache answers (the refresh rotation).
   */
  readonly pipelined?: boolean;
}

export const named = (
  name: string,
  text: string,
  { pipelined = false }: { readonly pipelined?: boolean } = {},
): NamedStatement => ({ name: `gatehouse_${name}`, text, pipelined });

type Statement = string | NamedStatement;

/**
 * TypeORM hands its first argument to node-postgres untouched, and node-postgres takes a query config
 * with a `name`. A fresh object each time: node-postgres writes the values onto it.
 */
function asQuery(statement: Statement): string {
  return typeof statement === 'string'
    ? statement
    : ({ name: statement.name, text: statement.text } as unknown as string);
}

/**
 * The pool behind `manager`, when `manager` is the data source's own (not a transaction's): a hot
 * statement outside a transaction goes to node-postgres straight, without TypeORM's query runner
 * around it (one fewer object graph and promise chain per query; errors are node-postgres' own,
 * which `database-errors.ts` reads either way).
 */
function poolOf(manager: EntityManager, statement: Statement): Pool | null {
  return typeof statement === 'string' || manager.queryRunner !== undefined
    ? null
    : (manager.connection.driver as unknown as { master: Pool }).master;
}

/**
 * A named statement outside a transaction: on the app's pipelined client when the statement opts in
 * and the data source has one, else straight on node-postgres's pool (either answers rows alike).
 */
async function outsideTransaction<Row extends QueryResultRow>(
  manager: EntityManager,
  pool: Pool,
  statement: NamedStatement,
  parameters: unknown[],
): Promise<Row[]> {
  const pipelined = statement.pipelined ? pipelinedStatementsOf(manager.connection) : undefined;
  if (pipelined) {
    return pipelined.query<Row>(statement.text, parameters);
  }
  return (await pool.query<Row>({ name: statement.name, text: statement.text, values: parameters }))
    .rows;
}

/** Rows of a SELECT or INSERT … RETURNING. */
export async function select<Row extends QueryResultRow>(
  manager: EntityManager,
  statement: Statement,
  parameters: unknown[],
): Promise<Row[]> {
  const pool = poolOf(manager, statement);
  if (pool && typeof statement !== 'string') {
    return outsideTransaction<Row>(manager, pool, statement, parameters);
  }
  return manager.query<Row[]>(asQuery(statement), parameters);
}

/**
 * Runs an UPDATE or DELETE … RETURNING and gives back its rows. (TypeORM answers those two commands
 * with `[rows, rowCount]` instead of the rows that SELECT and INSERT return.)
 */
export async function updateReturning<Row extends QueryResultRow>(
  manager: EntityManager,
  statement: Statement,
  parameters: unknown[],
): Promise<Row[]> {
  const pool = poolOf(manager, statement);
  if (pool && typeof statement !== 'string') {
    return outsideTransaction<Row>(manager, pool, statement, parameters);
  }
  const [rows] = await manager.query<[Row[], number]>(asQuery(statement), parameters);
  return rows;
}
