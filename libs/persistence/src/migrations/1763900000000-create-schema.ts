import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateSchema1763900000000 implements MigrationInterface {
  name = 'CreateSchema1763900000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE "users" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "email" character varying(254) NOT NULL,
        "password_hash" text NOT NULL,
        "roles" text array NOT NULL DEFAULT '{}',
        "disabled_at" TIMESTAMP WITH TIME ZONE,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "users_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "users_email_key" UNIQUE ("email"),
        CONSTRAINT "users_email_lowercase_check" CHECK ("email" = lower("email"))
      )`);

    await db.query(`
      CREATE TABLE "clients" (
        "id" character varying(128) NOT NULL,
        "name" character varying(200) NOT NULL,
        "secret_hash" bytea,
        "grant_types" text array NOT NULL DEFAULT '{}',
        "redirect_uris" text array NOT NULL DEFAULT '{}',
        "scopes" text array NOT NULL DEFAULT '{}',
        "first_party" boolean NOT NULL DEFAULT false,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "clients_pkey" PRIMARY KEY ("id")
      )`);

    await db.query(`
      CREATE TABLE "sessions" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "user_id" uuid NOT NULL,
        "kind" character varying(16) NOT NULL,
        "client_id" character varying(128),
        "token_hash" bytea,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "last_seen_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "idle_expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "absolute_expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "revoked_at" TIMESTAMP WITH TIME ZONE,
        "revoked_reason" character varying(64),
        "revoked_by" character varying(128),
        "ip" inet,
        "user_agent" character varying(512),
        CONSTRAINT "sessions_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "sessions_kind_check" CHECK ("kind" IN ('cookie', 'token')),
        CONSTRAINT "sessions_credential_check" CHECK (("kind" = 'cookie' AND "token_hash" IS NOT NULL AND "client_id" IS NULL) OR ("kind" = 'token' AND "token_hash" IS NULL)),
        CONSTRAINT "sessions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION,
        CONSTRAINT "sessions_client_id_fkey" FOREIGN KEY ("client_id") REFERENCES "clients"("id") ON DELETE NO ACTION ON UPDATE NO ACTION
      )`);
    // Cookie validation: one lookup by token hash on every request.
    await db.query(`CREATE UNIQUE INDEX "sessions_token_hash_key" ON "sessions" ("token_hash")`);
    // Keyset pagination, newest first: per user (self-service, admin filter) and across all users.
    await db.query(
      `CREATE INDEX "sessions_user_id_created_at_idx" ON "sessions" ("user_id", "created_at", "id")`,
    );
    await db.query(`CREATE INDEX "sessions_created_at_id_idx" ON "sessions" ("created_at", "id")`);
    await db.query(`CREATE INDEX "sessions_client_id_idx" ON "sessions" ("client_id")`);

    await db.query(`
      CREATE TABLE "refresh_tokens" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "session_id" uuid NOT NULL,
        "token_hash" bytea NOT NULL,
        "parent_id" uuid,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "used_at" TIMESTAMP WITH TIME ZONE,
        "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        CONSTRAINT "refresh_tokens_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "refresh_tokens_session_id_fkey" FOREIGN KEY ("session_id") REFERENCES "sessions"("id") ON DELETE CASCADE ON UPDATE NO ACTION,
        CONSTRAINT "refresh_tokens_parent_id_fkey" FOREIGN KEY ("parent_id") REFERENCES "refresh_tokens"("id") ON DELETE CASCADE ON UPDATE NO ACTION
      )`);
    await db.query(
      `CREATE UNIQUE INDEX "refresh_tokens_token_hash_key" ON "refresh_tokens" ("token_hash")`,
    );
    await db.query(
      `CREATE INDEX "refresh_tokens_session_id_idx" ON "refresh_tokens" ("session_id")`,
    );

    await db.query(`
      CREATE TABLE "signing_keys" (
        "kid" character varying(64) NOT NULL,
        "alg" character varying(16) NOT NULL,
        "public_jwk" jsonb NOT NULL,
        "private_key_encrypted" bytea NOT NULL,
        "status" character varying(16) NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "activated_at" TIMESTAMP WITH TIME ZONE,
        "retired_at" TIMESTAMP WITH TIME ZONE,
        CONSTRAINT "signing_keys_pkey" PRIMARY KEY ("kid"),
        CONSTRAINT "signing_keys_status_check" CHECK ("status" IN ('next', 'active', 'retired'))
      )`);
    await db.query(`CREATE INDEX "signing_keys_status_idx" ON "signing_keys" ("status")`);

    await db.query(`
      CREATE TABLE "revocations" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "session_id" uuid,
        "user_id" uuid,
        "revoked_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "until" TIMESTAMP WITH TIME ZONE NOT NULL,
        CONSTRAINT "revocations_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "revocations_target_check" CHECK ("session_id" IS NOT NULL OR "user_id" IS NOT NULL)
      )`);
    // Backfill on guard start-up reads only revocations that can still cover a live access token.
    await db.query(`CREATE INDEX "revocations_until_idx" ON "revocations" ("until")`);

    await db.query(`
      CREATE TABLE "audit_events" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "actor" character varying(200) NOT NULL,
        "action" character varying(64) NOT NULL,
        "subject" character varying(200),
        "ip" inet,
        "details" jsonb NOT NULL DEFAULT '{}',
        CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
      )`);
    await db.query(`CREATE INDEX "audit_events_at_id_idx" ON "audit_events" ("at", "id")`);
    await db.query(`CREATE INDEX "audit_events_actor_at_idx" ON "audit_events" ("actor", "at")`);
    await db.query(
      `CREATE INDEX "audit_events_subject_at_idx" ON "audit_events" ("subject", "at")`,
    );
    // The audit log is append-only: even a compromised app credential cannot rewrite history through it.
    await db.query(`
      CREATE FUNCTION "audit_events_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await db.query(`
      CREATE TRIGGER "audit_events_append_only_trigger" BEFORE UPDATE OR DELETE OR TRUNCATE ON "audit_events"
      FOR EACH STATEMENT EXECUTE FUNCTION "audit_events_append_only"()`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE "audit_events"`);
    await db.query(`DROP FUNCTION "audit_events_append_only"()`);
    await db.query(`DROP TABLE "revocations"`);
    await db.query(`DROP TABLE "signing_keys"`);
    await db.query(`DROP TABLE "refresh_tokens"`);
    await db.query(`DROP TABLE "sessions"`);
    await db.query(`DROP TABLE "clients"`);
    await db.query(`DROP TABLE "users"`);
  }
}
