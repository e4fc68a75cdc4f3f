import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { PASSWORD_MAX_LENGTH, type SecondFactorMethod } from '@gatehouse/identity';
import type { SessionKind, SessionSummary } from '@gatehouse/persistence';
import { Transform, Type } from 'class-transformer';
import {
  IsEmail,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  MinLength,
  ValidateNested,
} from 'class-validator';

import { UserResponseDto } from '../account/account.dto.js';
import { AuthenticationCredentialDto } from '../account/passkeys.dto.js';

export class LoginRequestDto {
  @ApiProperty({ example: 'ada@example.com', maxLength: 254 })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsEmail({}, { message: 'email must be a valid email address' })
  @MaxLength(254)
  email!: string;

  @ApiProperty({ example: 'correct horse battery staple', maxLength: PASSWORD_MAX_LENGTH })
  @IsString()
  @MinLength(1)
  @MaxLength(PASSWORD_MAX_LENGTH)
  password!: string;
}

class SessionClientDto {
  @ApiProperty({ example: 'gatehouse-first-party' })
  id!: string;

  @ApiProperty({ example: 'Gatehouse mobile app' })
  name!: string;
}

export class SessionResponseDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ enum: ['cookie', 'token'] })
  kind!: SessionKind;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time', description: 'Updated at most once per touch interval.' })
  lastSeenAt!: string;

  @ApiProperty({ format: 'date-time', description: 'Ends unless used before then (sliding).' })
  idleExpiresAt!: string;

  @ApiProperty({ format: 'date-time', description: 'Absolute end, however active the session.' })
  expiresAt!: string;

  @ApiProperty({ type: String, nullable: true, example: '203.0.113.7' })
  ip!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'Mozilla/5.0 …' })
  userAgent!: string | null;

  @ApiPropertyOptional({
    type: SessionClientDto,
    nullable: true,
    description: 'The OAuth client of a token session; null for a browser session.',
  })
  client!: SessionClientDto | null;

  @ApiProperty({
    type: [String],
    nullable: true,
    example: ['pwd', 'otp', 'mfa'],
    description:
      'How the user signed in (RFC 8176): `pwd`, plus `otp` and `mfa` with a TOTP code (`mfa` alone with a recovery code). Null for sessions from before this was recorded.',
  })
  amr!: string[] | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When the user signed in (OpenID Connect `auth_time`).',
  })
  authTime!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description:
      'The slug of the upstream identity provider of a federated sign-in (amr `fed`); null for any other sign-in, or once the provider is deleted.',
  })
  identityProvider!: string | null;
}

export class MySessionResponseDto extends SessionResponseDto {
  @ApiProperty({ description: 'True for the session making this request.' })
  current!: boolean;
}

export class LoginResponseDto {
  @ApiProperty({ type: UserResponseDto })
  user!: UserResponseDto;

  @ApiProperty({ type: SessionResponseDto })
  session!: SessionResponseDto;
}

export class MfaRequiredResponseDto {
  @ApiProperty({ enum: [true] })
  mfaRequired!: true;

  @ApiProperty({
    example: ['totp', 'passkey', 'recovery_code'],
    description:
      'What completes the second step: `totp` and `passkey` when the user has one, and always `recovery_code`.',
  })
  methods!: string[];

  @ApiProperty({
    description:
      'Single use, valid 5 minutes: send it to `POST /auth/login/mfa` with a code. Not a session.',
  })
  mfaToken!: string;
}

export function mfaRequired(
  mfaToken: string,
  methods: readonly SecondFactorMethod[],
): MfaRequiredResponseDto {
  return { mfaRequired: true, methods: [...methods], mfaToken };
}

export class LoginMfaRequestDto {
  @ApiProperty({ description: 'From the `POST /auth/login` answer.', maxLength: 128 })
  @IsString()
  @MaxLength(128)
  mfaToken!: string;

  @ApiPropertyOptional({ example: '123456', description: 'A code of the authenticator app.' })
  @IsOptional()
  @IsString()
  @Matches(/^\s*\d{6}\s*$/, { message: 'code must be six digits' })
  code?: string;

  @ApiPropertyOptional({
    example: 'abcd-efgh-ijkl-mnop',
    description: 'One of the recovery codes, instead of `code`.',
    maxLength: 64,
  })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  recoveryCode?: string;

  @ApiPropertyOptional({
    type: AuthenticationCredentialDto,
    description:
      'A passkey instead of `code`: what `navigator.credentials.get()` answered to the options of `POST /auth/login/mfa/passkey-options`, as `PublicKeyCredential.toJSON()` serialises it.',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => AuthenticationCredentialDto)
  assertion?: AuthenticationCredentialDto;
}

export class PasskeySignInRequestDto {
  @ApiProperty({
    type: AuthenticationCredentialDto,
    description:
      'What `navigator.credentials.get()` answered to the options of `POST /auth/passkey/options`, as `PublicKeyCredential.toJSON()` serialises it.',
  })
  @ValidateNested()
  @Type(() => AuthenticationCredentialDto)
  response!: AuthenticationCredentialDto;
}

export class MfaPasskeyOptionsRequestDto {
  @ApiProperty({ description: 'From the `POST /auth/login` answer.', maxLength: 128 })
  @IsString()
  @MaxLength(128)
  mfaToken!: string;
}

export class RevokeOthersResponseDto {
  @ApiProperty({ example: 2, description: 'How many sessions were ended.' })
  revoked!: number;
}

export function toSessionResponse(session: SessionSummary): SessionResponseDto {
  return {
    id: session.id,
    kind: session.kind,
    createdAt: session.createdAt.toISOString(),
    lastSeenAt: session.lastSeenAt.toISOString(),
    idleExpiresAt: session.idleExpiresAt.toISOString(),
    expiresAt: session.absoluteExpiresAt.toISOString(),
    ip: session.ip,
    userAgent: session.userAgent,
    client:
      session.clientId === null ? null : { id: session.clientId, name: session.clientName ?? '' },
    amr: session.amr,
    authTime: session.authTime?.toISOString() ?? null,
    identityProvider: session.identityProvider,
  };
}
