import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How the user signed in (RFC 8176 `amr`), carried from the browser session to the authorization code
 * and to the approved device request, so the tokens they become say it too. Null: not recorded.
 */
export class SignInMethods1765100000000 implements MigrationInterface {
  name = 'SignInMethods1765100000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE "authorization_codes" ADD "amr" text array`);
    await db.query(`ALTER TABLE "device_authorizations" ADD "amr" text array`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE "device_authorizations" DROP COLUMN "amr"`);
    await db.query(`ALTER TABLE "authorization_codes" DROP COLUMN "amr"`);
  }
}
