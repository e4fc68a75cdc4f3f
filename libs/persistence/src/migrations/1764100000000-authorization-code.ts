import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Issue #8, first part: authorization codes (PKCE), remembered consents, per-client flags. */
export class AuthorizationCode1764100000000 implements MigrationInterface {
  name = 'AuthorizationCode1764100000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE "clients" ADD "require_consent" boolean NOT NULL DEFAULT true`);
    await db.query(`ALTER TABLE "clients" ADD "require_state" boolean NOT NULL DEFAULT false`);
    await db.query(
      `CREATE TABLE "authorization_codes" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "code_hash" bytea NOT NULL,
        "client_id" character varying(128) NOT NULL,
        "user_id" uuid NOT NULL,
        "redirect_uri" text NOT NULL,
        "scope" text NOT NULL,
        "code_challenge" character varying(128) NOT NULL,
        "nonce" character varying(512),
        "auth_time" TIMESTAMP WITH TIME ZONE NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "used_at" TIMESTAMP WITH TIME ZONE,
        "token_session_id" uuid,
        CONSTRAINT "authorization_codes_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "authorization_codes_client_id_fkey" FOREIGN KEY ("client_id")
          REFERENCES "clients"("id") ON DELETE CASCADE ON UPDATE NO ACTION,
        CONSTRAINT "authorization_codes_user_id_fkey" FOREIGN KEY ("user_id")
          REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION,
        CONSTRAINT "authorization_codes_token_session_id_fkey" FOREIGN KEY ("token_session_id")
          REFERENCES "sessions"("id") ON DELETE SET NULL ON UPDATE NO ACTION
      )`,
    );
    await db.query(
      `CREATE UNIQUE INDEX "authorization_codes_code_hash_key" ON "authorization_codes" ("code_hash")`,
    );
    await db.query(
      `CREATE INDEX "authorization_codes_expires_at_idx" ON "authorization_codes" ("expires_at")`,
    );
    await db.query(
      `CREATE TABLE "consents" (
        "user_id" uuid NOT NULL,
        "client_id" character varying(128) NOT NULL,
        "scopes" text array NOT NULL,
        "granted_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "consents_pkey" PRIMARY KEY ("user_id", "client_id"),
        CONSTRAINT "consents_user_id_fkey" FOREIGN KEY ("user_id")
          REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION,
        CONSTRAINT "consents_client_id_fkey" FOREIGN KEY ("client_id")
          REFERENCES "clients"("id") ON DELETE CASCADE ON UPDATE NO ACTION
      )`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE "consents"`);
    await db.query(`DROP TABLE "authorization_codes"`);
    await db.query(`ALTER TABLE "clients" DROP COLUMN "require_state"`);
    await db.query(`ALTER TABLE "clients" DROP COLUMN "require_consent"`);
  }
}
