import type { MigrationInterface, QueryRunner } from 'typeorm';

export class TokenStrategy1764000000000 implements MigrationInterface {
  name = 'TokenStrategy1764000000000';

  async up(db: QueryRunner): Promise<void> {
    // The scope granted to a token session, kept across refreshes (null for cookie sessions).
    await db.query(`ALTER TABLE "sessions" ADD "scope" text`);
    // The raw successor of a rotated refresh token, encrypted, kept only for the reuse grace window.
    await db.query(`ALTER TABLE "refresh_tokens" ADD "successor_ciphertext" bytea`);
    // Rotation finds a token's successor by its parent.
    await db.query(`CREATE INDEX "refresh_tokens_parent_id_idx" ON "refresh_tokens" ("parent_id")`);
    // At most one key is `next` and one `active`, whatever races between rotating processes.
    await db.query(
      `CREATE UNIQUE INDEX "signing_keys_status_single_idx" ON "signing_keys" ("status")
       WHERE "status" IN ('next', 'active')`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX "signing_keys_status_single_idx"`);
    await db.query(`DROP INDEX "refresh_tokens_parent_id_idx"`);
    await db.query(`ALTER TABLE "refresh_tokens" DROP COLUMN "successor_ciphertext"`);
    await db.query(`ALTER TABLE "sessions" DROP COLUMN "scope"`);
  }
}
