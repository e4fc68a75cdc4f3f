import type { ClientRevocationEvent, RevocationEvent, RevocationSink } from './revocation-feed.js';

interface Queryable {
  query<Row>(sql: string): Promise<{ rows: Row[] }>;
}

/** Every revocation still in force, from the durable feed table auth-api writes. */
export async function backfillRevocations(
  database: Queryable,
  sink: RevocationSink,
): Promise<void> {
  const { rows } = await database.query<{
    session_id: string | null;
    client_id: string | null;
    revoked_at: Date;
    until: Date;
  }>(
    `SELECT session_id, client_id, revoked_at, until FROM revocations
     WHERE (session_id IS NOT NULL OR client_id IS NOT NULL) AND until > now()`,
  );
  for (const row of rows) {
    if (row.session_id !== null) {
      sink.revoked({ sessionId: row.session_id, untilMs: row.until.getTime() });
    } else if (row.client_id !== null) {
      sink.clientRevoked?.({
        clientId: row.client_id,
        revokedAtMs: row.revoked_at.getTime(),
        untilMs: row.until.getTime(),
      });
    }
  }
}

/** A broadcast payload, handed to the sink: a session (`sid`) or a client's own tokens (`cid`). */
export function deliverRevocation(payload: string | undefined, sink: RevocationSink): void {
  const event = parseRevocation(payload) ?? parseClientRevocation(payload);
  if (event && 'sessionId' in event) {
    sink.revoked(event);
  } else if (event) {
    sink.clientRevoked?.(event);
  }
}

function parseClientRevocation(payload: string | undefined): ClientRevocationEvent | null {
  try {
    const { cid, at, until } = JSON.parse(payload ?? '') as Record<string, unknown>;
    return typeof cid === 'string' && typeof at === 'number' && typeof until === 'number'
      ? { clientId: cid, revokedAtMs: at, untilMs: until }
      : null;
  } catch {
    return null;
  }
}

export function parseRevocation(payload: string | undefined): RevocationEvent | null {
  try {
    const { sid, until } = JSON.parse(payload ?? '') as { sid?: unknown; until?: unknown };
    return typeof sid === 'string' && typeof until === 'number'
      ? { sessionId: sid, untilMs: until }
      : null;
  } catch {
    return null;
  }
}
