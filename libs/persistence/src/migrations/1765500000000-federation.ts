import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Federation (issue 20): upstream identity providers managed by operators (`type` plus its own
 * `config`, so SAML fits next to OIDC; a client secret sealed under the key-encryption key with the
 * provider id as additional data), the links of upstream subjects to users, and the pending
 * redirects to an upstream (SHA-256 of `state`, single use). A user created by federation may have
 * no password.
 */
export class Federation1765500000000 implements MigrationInterface {
  name = 'Federation1765500000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE "users" ALTER COLUMN "password_hash" DROP NOT NULL`);
    await db.query(`CREATE TABLE "identity_providers" (
      "id" uuid NOT NULL,
      "slug" character varying(64) NOT NULL,
      "type" character varying(16) NOT NULL,
      "display_name" character varying(100) NOT NULL,
      "enabled" boolean NOT NULL,
      "config" jsonb NOT NULL,
      "client_secret_sealed" bytea,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "identity_providers_type_check" CHECK ("type" IN ('oidc', 'saml')),
      CONSTRAINT "identity_providers_slug_key" UNIQUE ("slug"),
      CONSTRAINT "identity_providers_pkey" PRIMARY KEY ("id")
    )`);
    await db.query(`CREATE TABLE "federated_identities" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "user_id" uuid NOT NULL,
      "provider_id" uuid NOT NULL,
      "subject" character varying(255) NOT NULL,
      "email" character varying(254),
      "linked_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "last_sign_in_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "federated_identities_provider_id_subject_key" UNIQUE ("provider_id", "subject"),
      CONSTRAINT "federated_identities_pkey" PRIMARY KEY ("id"),
      CONSTRAINT "federated_identities_user_id_fkey" FOREIGN KEY ("user_id")
        REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION,
      CONSTRAINT "federated_identities_provider_id_fkey" FOREIGN KEY ("provider_id")
        REFERENCES "identity_providers"("id") ON DELETE CASCADE ON UPDATE NO ACTION
    )`);
    await db.query(
      `CREATE INDEX "federated_identities_user_id_idx" ON "federated_identities" ("user_id")`,
    );
    await db.query(`CREATE TABLE "federation_states" (
      "state_hash" bytea NOT NULL,
      "provider_id" uuid NOT NULL,
      "code_verifier_sealed" bytea NOT NULL,
      "nonce" character varying(128) NOT NULL,
      "interaction" text,
      "device" character varying(32),
      "return_to" text,
      "link_session_id" uuid,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "federation_states_pkey" PRIMARY KEY ("state_hash"),
      CONSTRAINT "federation_states_provider_id_fkey" FOREIGN KEY ("provider_id")
        REFERENCES "identity_providers"("id") ON DELETE CASCADE ON UPDATE NO ACTION
    )`);
    await db.query(
      `CREATE INDEX "federation_states_expires_at_idx" ON "federation_states" ("expires_at")`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE "federation_states"`);
    await db.query(`DROP TABLE "federated_identities"`);
    await db.query(`DROP TABLE "identity_providers"`);
    await db.query(`DELETE FROM "users" WHERE "password_hash" IS NULL`);
    await db.query(`ALTER TABLE "users" ALTER COLUMN "password_hash" SET NOT NULL`);
  }
}
