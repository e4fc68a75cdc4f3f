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
  /** A webhook delivery's `webhook-id`. */
  messageId: /^msg_[A-Za-z0-9_-]{1,60}$/,
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

/**
 * One page of a keyset listing: the services fetch `limit + 1` rows, so a row beyond the page says
 * there is a next one, which starts after the page's last row.
 */
export function keysetPage<Row extends { readonly position: string; readonly id: string }, Item>(
  rows: readonly Row[],
  limit: number,
  toItem: (row: Row) => Item,
): { items: Item[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map(toItem),
    nextCursor:
      rows.length > limit && last ? encodeCursor({ at: last.position, id: last.id }) : null,
  };
}
