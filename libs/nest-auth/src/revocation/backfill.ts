import type { RevocationSink } from './revocation-feed.js';

interface Queryable {
  query<Row>(sql: string): Promise<{ rows: Row[] }>;
}

/** Every revocation still in force, from the durable feed table auth-api writes. */
export async function backfillRevocations(
  database: Queryable,
  sink: RevocationSink,
): Promise<void> {
  const { rows } = await database.query<{ session_id: string; until: Date }>(
    'SELECT session_id, until FROM revocations WHERE session_id IS NOT NULL AND until > now()',
  );
  for (const row of rows) {
    sink.revoked({ sessionId: row.session_id, untilMs: row.until.getTime() });
  }
}

export function parseRevocation(
  payload: string | undefined,
): { sessionId: string; untilMs: number } | null {
  try {
    const { sid, until } = JSON.parse(payload ?? '') as { sid?: unknown; until?: unknown };
    return typeof sid === 'string' && typeof until === 'number'
      ? { sessionId: sid, untilMs: until }
      : null;
  } catch {
    return null;
  }
}
