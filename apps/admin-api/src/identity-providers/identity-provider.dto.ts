import { ApiProperty, ApiPropertyOptional, OmitType, PartialType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
const DOMAIN =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/i;
const CLAIM = /^[A-Za-z0-9_.:-]{1,64}$/;

export class ClaimMappingDto {
  @ApiPropertyOptional({ default: 'email', description: 'The upstream claim holding the email.' })
  @IsOptional()
  @Matches(CLAIM, { message: 'email must be a claim name' })
  email?: string;

  @ApiPropertyOptional({
    default: 'email_verified',
    description: 'The upstream claim saying whether the email is verified (true / "true").',
  })
  @IsOptional()
  @Matches(CLAIM, { message: 'emailVerified must be a claim name' })
  emailVerified?: string;
}

/** `POST /admin/identity-providers`: an OpenID Connect provider (SAML comes later, same table). */
export class CreateIdentityProviderDto {
  @ApiProperty({ enum: ['oidc'], description: 'Only `oidc` for now.' })
  @IsIn(['oidc'])
  type!: 'oidc';

  @ApiProperty({
    example: 'acme',
    description: 'In the URLs: `/federation/{slug}/start`, `/federation/{slug}/callback`.',
  })
  @Matches(SLUG, {
    message: 'slug must be 1 to 64 lower-case letters, digits and inner hyphens',
  })
  slug!: string;

  @ApiProperty({
    example: 'Acme SSO',
    description: 'The button says "Continue with {displayName}".',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  displayName!: string;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiProperty({
    example: 'https://sso.acme.example',
    description:
      'Discovered at `{issuer}/.well-known/openid-configuration`. https; http only for a loopback host outside production.',
  })
  @IsString()
  @MaxLength(500)
  issuer!: string;

  @ApiProperty({ description: 'Our client id at the upstream.' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  clientId!: string;

  @ApiPropertyOptional({
    writeOnly: true,
    description:
      'Our client secret at the upstream: sealed under KEY_ENCRYPTION_KEY, never returned. Absent: a public client (PKCE only).',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(1000)
  clientSecret?: string;

  @ApiPropertyOptional({ type: [String], default: ['openid', 'email', 'profile'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  @Matches(/^[\x21\x23-\x5b\x5d-\x7e]{1,64}$/, {
    each: true,
    message: 'each scope must be a scope token',
  })
  scopes?: string[];

  @ApiPropertyOptional({
    default: false,
    description: "Believe the upstream's email_verified: needed to link to an existing account.",
  })
  @IsOptional()
  @IsBoolean()
  trustEmailVerified?: boolean;

  @ApiPropertyOptional({
    enum: ['verified-email', 'none'],
    default: 'none',
    description:
      '`verified-email`: a first sign-in links to the account with the same email when the upstream says it is verified and trustEmailVerified is true. `none`: never links by email.',
  })
  @IsOptional()
  @IsIn(['verified-email', 'none'])
  linking?: 'verified-email' | 'none';

  @ApiPropertyOptional({
    enum: ['create', 'existing-only'],
    default: 'create',
    description: '`create`: a first sign-in without an account creates one (no password).',
  })
  @IsOptional()
  @IsIn(['create', 'existing-only'])
  provisioning?: 'create' | 'existing-only';

  @ApiPropertyOptional({
    type: [String],
    example: ['acme.example'],
    description:
      'A first sign-in is refused unless the email is in one of these domains. Empty: any.',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @Matches(DOMAIN, { each: true, message: 'each allowedEmailDomains entry must be a domain' })
  allowedEmailDomains?: string[];

  @ApiPropertyOptional({ type: ClaimMappingDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => ClaimMappingDto)
  claimMapping?: ClaimMappingDto;
}

/** `PATCH`: any field but type and slug; `clientSecret: null` removes the secret. */
export class UpdateIdentityProviderDto extends PartialType(
  OmitType(CreateIdentityProviderDto, ['type', 'slug', 'clientSecret'] as const),
) {
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    writeOnly: true,
    description: 'A new secret (sealed, never returned); null removes it.',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(1000)
  clientSecret?: string | null;
}

export class ClaimMappingViewDto {
  @ApiProperty()
  email!: string;

  @ApiProperty()
  emailVerified!: string;
}

/** A provider as operators read it: never the secret, only whether there is one. */
export class IdentityProviderDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty()
  slug!: string;

  @ApiProperty({ enum: ['oidc', 'saml'] })
  type!: string;

  @ApiProperty()
  displayName!: string;

  @ApiProperty()
  enabled!: boolean;

  @ApiProperty()
  issuer!: string;

  @ApiProperty()
  clientId!: string;

  @ApiProperty({ description: 'Whether a client secret is stored (it is never returned).' })
  hasClientSecret!: boolean;

  @ApiProperty({ type: [String] })
  scopes!: string[];

  @ApiProperty()
  trustEmailVerified!: boolean;

  @ApiProperty({ enum: ['verified-email', 'none'] })
  linking!: string;

  @ApiProperty({ enum: ['create', 'existing-only'] })
  provisioning!: string;

  @ApiProperty({ type: [String] })
  allowedEmailDomains!: string[];

  @ApiProperty({ type: ClaimMappingViewDto })
  claimMapping!: ClaimMappingViewDto;

  @ApiProperty({
    example: 'https://auth.example.com/federation/acme/callback',
    description: 'Register this redirect URI at the upstream.',
  })
  redirectUri!: string;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt!: string;
}
