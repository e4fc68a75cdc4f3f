import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SAML 2.0 federation (issue 20): a pending redirect to a SAML identity provider keeps the ID of its
 * AuthnRequest (the response's `InResponseTo` must name it) and has no PKCE verifier or nonce; each
 * assertion ID a provider sent is kept (SHA-256) until the assertion expires, so it is accepted once.
 */
export class Saml1765600000000 implements MigrationInterface {
  name = 'Saml1765600000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(
      `ALTER TABLE "federation_states" ALTER COLUMN "code_verifier_sealed" DROP NOT NULL`,
    );
    await db.query(`ALTER TABLE "federation_states" ALTER COLUMN "nonce" DROP NOT NULL`);
    await db.query(
      `ALTER TABLE "federation_states" ADD COLUMN "saml_request_id" character varying(128)`,
    );
    await db.query(`CREATE TABLE "saml_assertion_ids" (
      "provider_id" uuid NOT NULL,
      "assertion_id_hash" bytea NOT NULL,
      "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "saml_assertion_ids_pkey" PRIMARY KEY ("provider_id", "assertion_id_hash"),
      CONSTRAINT "saml_assertion_ids_provider_id_fkey" FOREIGN KEY ("provider_id")
        REFERENCES "identity_providers"("id") ON DELETE CASCADE ON UPDATE NO ACTION
    )`);
    await db.query(
      `CREATE INDEX "saml_assertion_ids_expires_at_idx" ON "saml_assertion_ids" ("expires_at")`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE "saml_assertion_ids"`);
    await db.query(`DELETE FROM "federation_states" WHERE "saml_request_id" IS NOT NULL`);
    await db.query(`ALTER TABLE "federation_states" DROP COLUMN "saml_request_id"`);
    await db.query(`ALTER TABLE "federation_states" ALTER COLUMN "nonce" SET NOT NULL`);
    await db.query(
      `ALTER TABLE "federation_states" ALTER COLUMN "code_verifier_sealed" SET NOT NULL`,
    );
  }
}
