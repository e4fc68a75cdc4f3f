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
  ValidateIf,
  ValidateNested,
} from 'class-validator';

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
const DOMAIN =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/i;
const CLAIM = /^[A-Za-z0-9_.:-]{1,64}$/;
/** SAML attribute names are often URIs (`http://schemas.xmlsoap.org/…/emailaddress`). */
const SAML_ATTRIBUTE = /^[A-Za-z0-9_.:/#-]{1,255}$/;
const isOidc = (body: { type?: string }): boolean => body.type !== 'saml';

export class ClaimMappingDto {
  @ApiPropertyOptional({ default: 'email', description: 'The upstream claim holding the email.' })
  @IsOptional()
  @Matches(SAML_ATTRIBUTE, { message: 'email must be a claim or attribute name' })
  email?: string;

  @ApiPropertyOptional({
    default: 'email_verified',
    description: 'The upstream claim saying whether the email is verified (true / "true").',
  })
  @IsOptional()
  @Matches(CLAIM, { message: 'emailVerified must be a claim name' })
  emailVerified?: string;

  @ApiPropertyOptional({
    default: 'name',
    description: 'SAML: the attribute holding the display name (OIDC ignores it).',
  })
  @IsOptional()
  @Matches(SAML_ATTRIBUTE, { message: 'name must be an attribute name' })
  name?: string;
}

/**
 * `POST /admin/identity-providers`: an OpenID Connect provider (`issuer`, `clientId`…) or a SAML 2.0
 * provider (`entryPoint` and `idpCert`, or `idpMetadataXml`).
 */
export class CreateIdentityProviderDto {
  @ApiProperty({ enum: ['oidc', 'saml'] })
  @IsIn(['oidc', 'saml'])
  type!: 'oidc' | 'saml';

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
      'OIDC: discovered at `{issuer}/.well-known/openid-configuration`. https; http only for a loopback host outside production.',
  })
  @ValidateIf(isOidc)
  @IsString()
  @MaxLength(500)
  issuer!: string;

  @ApiProperty({ description: 'OIDC: our client id at the upstream.' })
  @ValidateIf(isOidc)
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

  @ApiPropertyOptional({
    type: ClaimMappingDto,
    description:
      'OIDC: the claims holding email and email_verified. SAML: the attributes holding email and name (the email is the NameID when its format is emailAddress).',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => ClaimMappingDto)
  claimMapping?: ClaimMappingDto;

  @ApiPropertyOptional({
    example: 'https://idp.acme.example/saml/sso',
    description:
      'SAML: where AuthnRequests go (HTTP-Redirect binding). https; http only for a loopback host outside production. Read from idpMetadataXml when absent.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  entryPoint?: string;

  @ApiPropertyOptional({
    description:
      "SAML: the IdP's signing certificate(s), one or more PEM blocks. Read from idpMetadataXml when absent.",
  })
  @IsOptional()
  @IsString()
  @MaxLength(40_000)
  idpCert?: string;

  @ApiPropertyOptional({
    description:
      "SAML: the IdP's metadata XML (EntityDescriptor): its HTTP-Redirect SingleSignOnService, signing certificates and entity ID (the assertions' Issuer must then be it).",
  })
  @IsOptional()
  @IsString()
  @MaxLength(200_000)
  idpMetadataXml?: string;

  @ApiPropertyOptional({
    description:
      'SAML: our entity ID at the IdP (the audience assertions must name). Default `{ISSUER}/federation/{slug}/saml/metadata`.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  spEntityId?: string;
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

  @ApiPropertyOptional({ description: 'OIDC.' })
  emailVerified?: string;

  @ApiPropertyOptional({ description: 'SAML.' })
  name?: string;
}

/** What to give the SAML IdP, and what it gave us. */
export class SamlProviderViewDto {
  @ApiProperty()
  entryPoint!: string;

  @ApiProperty({ type: String, nullable: true, description: 'From its metadata, when given.' })
  idpEntityId!: string | null;

  @ApiProperty({ type: [String], description: 'SHA-256 fingerprints of the signing certificates.' })
  idpCertFingerprints!: string[];

  @ApiProperty({ description: 'Our entity ID: the audience of the assertions.' })
  spEntityId!: string;

  @ApiProperty({
    example: 'https://auth.example.com/federation/acme/saml/metadata',
    description: 'Our SP metadata: give this URL (or its content) to the IdP.',
  })
  metadataUrl!: string;

  @ApiProperty({
    example: 'https://auth.example.com/federation/acme/saml/acs',
    description: 'The assertion consumer service (HTTP-POST).',
  })
  acsUrl!: string;
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

  @ApiProperty({ type: String, nullable: true, description: 'OIDC; null for SAML.' })
  issuer!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'OIDC; null for SAML.' })
  clientId!: string | null;

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
    description: 'Register this redirect URI at the upstream (SAML: the ACS URL).',
  })
  redirectUri!: string;

  @ApiProperty({ type: SamlProviderViewDto, nullable: true, description: 'SAML providers only.' })
  saml!: SamlProviderViewDto | null;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt!: string;
}
