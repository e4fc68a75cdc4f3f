import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The sealed copy of a rotated refresh token, which answers a replay of its predecessor within the
 * grace window, moves from the predecessor's row (`successor_ciphertext`) to its own
 * (`sealed_token`). Spending a token then erases its copy in the row the rotation updates anyway,
 * where the predecessor's copy took an UPDATE of a third row on every refresh. Copies that can
 * still answer a replay (their token unused) move with their seal unchanged; the rest are dropped.
 * Instances of an earlier version cannot rotate refresh tokens once this has run.
 */
export class RefreshTokenSealedCopy1766200000000 implements MigrationInterface {
  name = 'RefreshTokenSealedCopy1766200000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE "refresh_tokens" ADD "sealed_token" bytea`);
    await db.query(
      `UPDATE "refresh_tokens" child SET "sealed_token" = parent."successor_ciphertext"
       FROM "refresh_tokens" parent
       WHERE child."parent_id" = parent."id" AND child."used_at" IS NULL
         AND parent."successor_ciphertext" IS NOT NULL`,
    );
    await db.query(`ALTER TABLE "refresh_tokens" DROP COLUMN "successor_ciphertext"`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE "refresh_tokens" ADD "successor_ciphertext" bytea`);
    await db.query(
      `UPDATE "refresh_tokens" parent SET "successor_ciphertext" = child."sealed_token"
       FROM "refresh_tokens" child
       WHERE child."parent_id" = parent."id" AND child."sealed_token" IS NOT NULL`,
    );
    await db.query(`ALTER TABLE "refresh_tokens" DROP COLUMN "sealed_token"`);
  }
}
