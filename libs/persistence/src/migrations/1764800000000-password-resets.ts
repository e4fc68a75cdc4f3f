import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Password reset links: one live link per user, only the SHA-256 of its token stored. */
export class PasswordResets1764800000000 implements MigrationInterface {
  name = 'PasswordResets1764800000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE TABLE "password_resets" (
      "user_id" uuid NOT NULL,
      "token_hash" bytea NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "password_resets_pkey" PRIMARY KEY ("user_id"),
      CONSTRAINT "password_resets_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id")
        ON DELETE CASCADE ON UPDATE NO ACTION
    )`);
    await db.query(
      `CREATE UNIQUE INDEX "password_resets_token_hash_key" ON "password_resets" ("token_hash")`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE "password_resets"`);
  }
}
