import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue #14: the address of the request that rotated a refresh token, so a grace-window replay can
 * be told apart from a replay by someone else (a different address is reuse).
 */
export class RefreshTokenUsedIp1764300000000 implements MigrationInterface {
  name = 'RefreshTokenUsedIp1764300000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE "refresh_tokens" ADD "used_ip" inet`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE "refresh_tokens" DROP COLUMN "used_ip"`);
  }
}
