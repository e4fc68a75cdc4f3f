import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { PasskeySummary } from '@gatehouse/identity';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { Type } from 'class-transformer';
import {
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  MinLength,
  ValidateNested,
} from 'class-validator';

/** base64url without padding, as WebAuthn's JSON serialisation writes binary fields. */
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const BASE64URL_MESSAGE = (field: string) => `${field} must be base64url`;
/** Generous for attestation objects with certificate chains; far below the body limit. */
const BINARY_MAX_LENGTH = 16_384;

function Base64Url(field: string, maxLength = BINARY_MAX_LENGTH): PropertyDecorator {
  return (target, key) => {
    IsString()(target, key);
    MaxLength(maxLength)(target, key);
    Matches(BASE64URL, { message: BASE64URL_MESSAGE(field) })(target, key);
  };
}

class AuthenticatorAttestationResponseDto {
  @ApiProperty({ description: 'base64url' })
  @Base64Url('clientDataJSON', 4096)
  clientDataJSON!: string;

  @ApiProperty({ description: 'base64url (CBOR)' })
  @Base64Url('attestationObject')
  attestationObject!: string;

  @ApiPropertyOptional({ type: [String], example: ['internal', 'hybrid'] })
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  @MaxLength(32, { each: true })
  transports?: string[];

  @ApiPropertyOptional({ description: 'base64url; sent by browsers, not needed.' })
  @IsOptional()
  @Base64Url('authenticatorData')
  authenticatorData?: string;

  @ApiPropertyOptional({ description: 'base64url; sent by browsers, not needed.' })
  @IsOptional()
  @Base64Url('publicKey')
  publicKey?: string;

  @ApiPropertyOptional({ example: -7 })
  @IsOptional()
  @IsInt()
  publicKeyAlgorithm?: number;
}

class AuthenticatorAssertionResponseDto {
  @ApiProperty({ description: 'base64url' })
  @Base64Url('clientDataJSON', 4096)
  clientDataJSON!: string;

  @ApiProperty({ description: 'base64url' })
  @Base64Url('authenticatorData', 4096)
  authenticatorData!: string;

  @ApiProperty({ description: 'base64url' })
  @Base64Url('signature', 1024)
  signature!: string;

  @ApiPropertyOptional({ description: 'base64url; the user handle of a discoverable credential.' })
  @IsOptional()
  @Base64Url('userHandle', 128)
  userHandle?: string;
}

/** Shared by both serialisations of a `PublicKeyCredential` (WebAuthn Level 3 `toJSON()`). */
abstract class PublicKeyCredentialDto {
  @ApiProperty({ description: 'The credential id, base64url.' })
  @Base64Url('id', 1366)
  id!: string;

  @ApiProperty({ description: 'The same id, base64url.' })
  @Base64Url('rawId', 1366)
  rawId!: string;

  @ApiProperty({ enum: ['public-key'] })
  @IsIn(['public-key'])
  type!: 'public-key';

  @ApiProperty({ type: Object, example: {} })
  @IsObject()
  clientExtensionResults!: Record<string, unknown>;

  @ApiPropertyOptional({ enum: ['platform', 'cross-platform'] })
  @IsOptional()
  @IsIn(['platform', 'cross-platform'])
  authenticatorAttachment?: 'platform' | 'cross-platform';
}

/** `navigator.credentials.create()`'s credential, serialised (`PublicKeyCredential.toJSON()`). */
export class RegistrationCredentialDto extends PublicKeyCredentialDto {
  @ApiProperty({ type: AuthenticatorAttestationResponseDto })
  @ValidateNested()
  @Type(() => AuthenticatorAttestationResponseDto)
  response!: AuthenticatorAttestationResponseDto;
}

/** `navigator.credentials.get()`'s credential, serialised (`PublicKeyCredential.toJSON()`). */
export class AuthenticationCredentialDto extends PublicKeyCredentialDto {
  @ApiProperty({ type: AuthenticatorAssertionResponseDto })
  @ValidateNested()
  @Type(() => AuthenticatorAssertionResponseDto)
  response!: AuthenticatorAssertionResponseDto;
}

/** The validated body as the verifier takes it (the library's own JSON types). */
export function asRegistrationResponse(dto: RegistrationCredentialDto): RegistrationResponseJSON {
  return dto as RegistrationResponseJSON;
}

export function asAuthenticationResponse(
  dto: AuthenticationCredentialDto,
): AuthenticationResponseJSON {
  return dto;
}

export class PasskeyRegistrationRequestDto {
  @ApiPropertyOptional({ example: 'Laptop', maxLength: 64, description: 'Default "Passkey".' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  name?: string;

  @ApiProperty({
    type: RegistrationCredentialDto,
    description:
      'The credential `navigator.credentials.create()` made with the options of `POST /me/mfa/passkeys/options`, as `PublicKeyCredential.toJSON()` (or @simplewebauthn/browser) serialises it.',
  })
  @ValidateNested()
  @Type(() => RegistrationCredentialDto)
  response!: RegistrationCredentialDto;
}

export class PasskeyRenameRequestDto {
  @ApiProperty({ example: 'Work laptop', minLength: 1, maxLength: 64 })
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  @Matches(/\S/, { message: 'name must not be blank' })
  name!: string;
}

export class PasskeyResponseDto {
  @ApiProperty({ format: 'uuid', description: 'The factor id (for `DELETE /me/mfa/{id}`).' })
  id!: string;

  @ApiProperty({ enum: ['passkey'] })
  kind!: 'passkey';

  @ApiProperty({ example: 'Laptop' })
  name!: string;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  lastUsedAt!: string | null;

  @ApiProperty({ description: 'The authenticator says the key is backed up (a synced passkey).' })
  backedUp!: boolean;
}

export function toPasskeyResponse(passkey: PasskeySummary): PasskeyResponseDto {
  return {
    id: passkey.id,
    kind: 'passkey',
    name: passkey.name,
    createdAt: passkey.createdAt.toISOString(),
    lastUsedAt: passkey.lastUsedAt?.toISOString() ?? null,
    backedUp: passkey.backedUp,
  };
}

export class PasskeyRegisteredResponseDto {
  @ApiProperty({ type: PasskeyResponseDto })
  passkey!: PasskeyResponseDto;

  @ApiProperty({
    example: ['abcd-efgh-ijkl-mnop'],
    description:
      "Ten single-use codes when this is the account's first factor, shown once; empty otherwise (the existing set stays).",
  })
  recoveryCodes!: string[];
}

/** Documents the WebAuthn options JSON (generated by @simplewebauthn/server, passed through). */
export class PublicKeyCredentialOptionsDto {
  @ApiProperty({ description: 'base64url, single use, valid 5 minutes.' })
  challenge!: string;

  @ApiPropertyOptional({ example: 'localhost', description: 'The host name of `ISSUER`.' })
  rpId?: string;

  @ApiPropertyOptional({
    description:
      'Creation options only: `rp`, `user`, `pubKeyCredParams`, `excludeCredentials`, `authenticatorSelection` (residentKey required), `attestation` (none).',
  })
  rp?: Record<string, unknown>;

  @ApiPropertyOptional({ example: 'preferred' })
  userVerification?: string;

  @ApiPropertyOptional({ type: [Object], description: 'Request options only.' })
  allowCredentials?: Record<string, unknown>[];

  @ApiProperty({ example: 240000 })
  timeout!: number;
}
