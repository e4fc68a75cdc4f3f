import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { PASSWORD_MAX_LENGTH, type FactorSummary } from '@gatehouse/identity';
import { IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';

const SIX_DIGITS = /^\s*\d{6}\s*$/;

export class TotpEnrolmentResponseDto {
  @ApiProperty({ format: 'uuid', description: 'The factor, unconfirmed until a code confirms it.' })
  id!: string;

  @ApiProperty({
    example: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
    description: 'Base32, for typing into the app by hand. Shown once.',
  })
  secret!: string;

  @ApiProperty({
    example:
      'otpauth://totp/Gatehouse:ada%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Gatehouse&algorithm=SHA1&digits=6&period=30',
  })
  uri!: string;

  @ApiProperty({ description: 'The `uri` as a QR code, an SVG document.' })
  qrSvg!: string;
}

export class TotpConfirmRequestDto {
  @ApiProperty({ example: '123456', description: 'A current code of the app.' })
  @IsString()
  @Matches(SIX_DIGITS, { message: 'code must be six digits' })
  code!: string;
}

export class RecoveryCodesResponseDto {
  @ApiProperty({
    example: ['abcd-efgh-ijkl-mnop'],
    description:
      'Ten single-use codes, shown once (only their SHA-256 is stored). Empty when confirming a further factor: the existing set stays.',
  })
  recoveryCodes!: string[];
}

export class MfaFactorResponseDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ enum: ['totp', 'passkey'] })
  kind!: string;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  lastUsedAt!: string | null;

  @ApiPropertyOptional({ example: 'Laptop', description: 'Passkeys only: the name given to it.' })
  name?: string;

  @ApiPropertyOptional({
    description: 'Passkeys only: the authenticator says the key is backed up (a synced passkey).',
  })
  backedUp?: boolean;
}

export function toFactorResponse(factor: FactorSummary): MfaFactorResponseDto {
  return {
    id: factor.id,
    kind: factor.kind,
    createdAt: factor.createdAt.toISOString(),
    lastUsedAt: factor.lastUsedAt?.toISOString() ?? null,
    ...(factor.kind === 'passkey' ? { name: factor.name, backedUp: factor.backedUp } : {}),
  };
}

export class RemoveFactorRequestDto {
  @ApiPropertyOptional({ description: 'The current password (or send `code`).' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(PASSWORD_MAX_LENGTH)
  password?: string;

  @ApiPropertyOptional({ example: '123456', description: 'A current code of a factor.' })
  @IsOptional()
  @IsString()
  @Matches(SIX_DIGITS, { message: 'code must be six digits' })
  code?: string;
}

export class PasswordConfirmationDto {
  @ApiProperty({ description: 'The current password.' })
  @IsString()
  @MinLength(1)
  @MaxLength(PASSWORD_MAX_LENGTH)
  password!: string;
}
