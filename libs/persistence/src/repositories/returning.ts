import type { EntityManager } from 'typeorm';

/**
 * Runs an UPDATE or DELETE … RETURNING and gives back its rows. (TypeORM answers those two commands
 * with `[rows, rowCount]` instead of the rows that SELECT and INSERT return.)
 */
export async function updateReturning<Row>(
  manager: EntityManager,
  sql: string,
  parameters: unknown[],
): Promise<Row[]> {
  const [rows] = await manager.query<[Row[], number]>(sql, parameters);
  return rows;
}
