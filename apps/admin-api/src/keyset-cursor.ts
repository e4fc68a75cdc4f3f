import { ValidationFailedError } from '@gatehouse/identity';

/**
 * A keyset position (PostgreSQL's exact text of a timestamp + an id), opaque to clients: base64url of
 * `[at, id]`. The timestamp stays text so microseconds survive (a JS Date keeps milliseconds only).
 */
export interface KeysetPosition {
  readonly at: string;
  readonly id: string;
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:?\d{2})?|Z)$/;
const IDS = {
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  integer: /^\d{1,19}$/,
} as const;

export function encodeCursor(position: KeysetPosition): string {
  return Buffer.from(JSON.stringify([position.at, position.id])).toString('base64url');
}

export function decodeCursor(
  cursor: string | undefined,
  idKind: keyof typeof IDS,
): KeysetPosition | null {
  if (cursor === undefined) {
    return null;
  }
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (
      typeof at === 'string' &&
      TIMESTAMP.test(at) &&
      typeof id === 'string' &&
      IDS[idKind].test(id)
    ) {
      return { at, id };
    }
  } catch {
    // fall through: malformed
  }
  throw new ValidationFailedError([{ field: 'cursor', messages: ['cursor is not valid'] }]);
}
