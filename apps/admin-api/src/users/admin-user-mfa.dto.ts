import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { OperatorFactorReset, UserFactors } from '@gatehouse/identity';

export class UserFactorDto {
  @ApiProperty({ format: 'uuid', example: '3f2b8c1e-7a4d-4f0e-9b6a-1c2d3e4f5a6b' })
  id!: string;

  @ApiProperty({
    enum: ['totp', 'passkey'],
    example: 'totp',
    description: '`totp` (an authenticator app) or `passkey`.',
  })
  kind!: string;

  @ApiPropertyOptional({
    example: 'YubiKey',
    description: 'Passkeys only: the name the user gave it.',
  })
  name?: string;

  @ApiProperty({ format: 'date-time', example: '2025-01-01T10:00:00.000Z' })
  createdAt!: string;

  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    example: '2025-01-02T08:30:00.000Z',
    description: 'The last accepted code or passkey assertion.',
  })
  lastUsedAt!: string | null;
}

export class UserFactorsDto {
  @ApiProperty({
    type: [UserFactorDto],
    description: 'Confirmed factors, oldest first; never a secret.',
  })
  factors!: UserFactorDto[];

  @ApiProperty({ example: 9, description: 'Unused recovery codes left (the codes are not shown).' })
  recoveryCodesRemaining!: number;
}

export class FactorResetDto {
  @ApiProperty({ example: 1, description: 'Factors removed (authenticator apps and passkeys).' })
  factorsRemoved!: number;

  @ApiProperty({ example: 9, description: 'Unused recovery codes removed.' })
  recoveryCodesRemoved!: number;

  @ApiProperty({
    type: [String],
    example: ['8d7c6b5a-4f3e-4d2c-9b1a-0f9e8d7c6b5a'],
    description: 'The sessions that ended (every live session of the user).',
  })
  revokedSessionIds!: string[];

  @ApiProperty({
    format: 'uuid',
    example: '0b9e3c1a-4d2f-4e8a-9c7b-1a2b3c4d5e6f',
    description:
      'The notice mailed to the user (template `mfa-reset`), listed at `GET /admin/mail`.',
  })
  mailId!: string;
}

export function toUserFactors(view: UserFactors): UserFactorsDto {
  return {
    factors: view.factors.map((factor) => ({
      id: factor.id,
      kind: factor.kind,
      ...(factor.name !== undefined ? { name: factor.name } : {}),
      createdAt: factor.createdAt.toISOString(),
      lastUsedAt: factor.lastUsedAt?.toISOString() ?? null,
    })),
    recoveryCodesRemaining: view.recoveryCodesRemaining,
  };
}

export function toFactorReset(reset: OperatorFactorReset): FactorResetDto {
  return {
    factorsRemoved: reset.factorsRemoved,
    recoveryCodesRemoved: reset.recoveryCodesRemoved,
    revokedSessionIds: [...reset.revokedSessionIds],
    mailId: reset.mailId,
  };
}
