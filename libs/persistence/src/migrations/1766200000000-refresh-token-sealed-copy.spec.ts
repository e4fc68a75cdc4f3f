import { randomBytes } from 'node:crypto';

import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { upgradedDatabase } from '../../../../test/support/upgraded-database.js';
import { RefreshTokenSealedCopy1766200000000 } from './1766200000000-refresh-token-sealed-copy.js';

const LIVE_COPY = randomBytes(60);
const SPENT_COPY = randomBytes(60);

/** Refresh-token families as the previous release left them, mid-rotation. */
describe(RefreshTokenSealedCopy1766200000000.name, () => {
  let dataSource: DataSource;

  const sealedTokenOf = async (id: string) =>
    (
      await dataSource.query<{ sealed_token: Buffer | null }[]>(
        'SELECT sealed_token FROM refresh_tokens WHERE id = $1',
        [id],
      )
    )[0]!.sealed_token;

  beforeAll(async () => {
    dataSource = await upgradedDatabase(
      RefreshTokenSealedCopy1766200000000,
      'refresh_token_sealed_copy',
      async (db) => {
        await db.query(
          `WITH u AS (
             INSERT INTO users (id, email) VALUES ('00000000-0000-4000-8000-000000000001', 'a@example.com')
             RETURNING id
           )
           INSERT INTO sessions (id, user_id, kind, last_seen_at, idle_expires_at, absolute_expires_at)
           SELECT '00000000-0000-4000-8000-0000000000a0', id, 'token', now(), now() + interval '1 day',
             now() + interval '30 days' FROM u`,
        );
        // a → b: a rotated just now, b unused (a replay of a may still get b, sealed on a's row).
        // c → d: d was used too, so c's copy of d can answer nothing any more.
        await db.query(
          `INSERT INTO refresh_tokens
             (id, session_id, token_hash, parent_id, used_at, expires_at, successor_ciphertext) VALUES
             ('00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-0000000000a0', $1, NULL, now(), now() + interval '1 day', $5),
             ('00000000-0000-4000-8000-00000000000b', '00000000-0000-4000-8000-0000000000a0', $2, '00000000-0000-4000-8000-00000000000a', NULL, now() + interval '1 day', NULL),
             ('00000000-0000-4000-8000-00000000000c', '00000000-0000-4000-8000-0000000000a0', $3, NULL, now(), now() + interval '1 day', $6),
             ('00000000-0000-4000-8000-00000000000d', '00000000-0000-4000-8000-0000000000a0', $4, '00000000-0000-4000-8000-00000000000c', now(), now() + interval '1 day', NULL)`,
          [
            randomBytes(32),
            randomBytes(32),
            randomBytes(32),
            randomBytes(32),
            LIVE_COPY,
            SPENT_COPY,
          ],
        );
      },
    );
  });
  afterAll(() => dataSource.destroy());

  it("moves the sealed copy of an unused token from its parent's row to its own, unchanged", async () => {
    expect(await sealedTokenOf('00000000-0000-4000-8000-00000000000b')).toEqual(LIVE_COPY);
    expect(await sealedTokenOf('00000000-0000-4000-8000-00000000000a')).toBeNull();
  });

  it('drops the copy of a token already used, and the old column', async () => {
    expect(await sealedTokenOf('00000000-0000-4000-8000-00000000000d')).toBeNull();
    const columns = await dataSource.query<{ column_name: string }[]>(
      `SELECT column_name FROM information_schema.columns
       WHERE table_name = 'refresh_tokens' AND column_name = 'successor_ciphertext'`,
    );
    expect(columns).toEqual([]);
  });

  it("moves live copies back to the parent's row on revert", async () => {
    await dataSource.undoLastMigration({ transaction: 'all' });
    try {
      const rows = await dataSource.query<{ id: string; successor_ciphertext: Buffer | null }[]>(
        `SELECT id, successor_ciphertext FROM refresh_tokens ORDER BY id`,
      );
      expect(rows.map((row) => row.successor_ciphertext)).toEqual([LIVE_COPY, null, null, null]);
    } finally {
      await dataSource.runMigrations({ transaction: 'all' });
    }
  });
});
