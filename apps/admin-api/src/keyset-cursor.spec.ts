import { ValidationFailedError } from '@gatehouse/identity';
import { describe, expect, it } from 'vitest';

import { decodeCursor, encodeCursor } from './keyset-cursor.js';

describe('keyset cursors', () => {
  it('round-trip a position and stay opaque', () => {
    const position = {
      at: '2026-11-23 12:00:00.123456+00',
      id: 'b3f1c3c2-0000-4000-8000-000000000001',
    };
    const cursor = encodeCursor(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, 'uuid')).toEqual(position);
  });

  it('mean the first page when absent', () => {
    expect(decodeCursor(undefined, 'uuid')).toBeNull();
  });

  it.each([
    'not base64 json',
    Buffer.from('[1]').toString('base64url'),
    Buffer.from('["x","id"]').toString('base64url'),
    Buffer.from('["2026-11-23 12:00:00+00","1; DROP"]').toString('base64url'),
  ])('refuse %j with VALIDATION_FAILED', (cursor) => {
    expect(() => decodeCursor(cursor, 'uuid')).toThrow(ValidationFailedError);
  });
});
