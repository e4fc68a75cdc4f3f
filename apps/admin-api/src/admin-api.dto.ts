import { ApiProperty, ApiPropertyOptional, OmitType, PartialType } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsDate,
  IsEmail,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
  registerDecorator,
  type ValidationArguments,
} from 'class-validator';
import { redirectUriProblem } from '@gatehouse/identity';

const toBoolean = ({ value }: { value: unknown }) =>
  value === 'true' ? true : value === 'false' ? false : value;

/** Page size and position shared by the listings. */
export class PageQueryDto {
  @ApiPropertyOptional({ description: 'Opaque: the nextCursor of the previous page.' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;
}

export class SessionListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  userId?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsEmail()
  email?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(128)
  clientId?: string;

  @ApiPropertyOptional({ enum: ['cookie', 'token'] })
  @IsOptional()
  @IsIn(['cookie', 'token'])
  kind?: 'cookie' | 'token';

  @ApiPropertyOptional({ description: 'true: live sessions only; false: ended ones only.' })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  active?: boolean;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  createdBefore?: Date;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  createdAfter?: Date;
}

export class RevokeSessionDto {
  @ApiPropertyOptional({
    maxLength: 200,
    example: 'stolen laptop',
    description:
      "Why, in the operator's words: stored on the session as `revokedNote` (shown in listings) and in the audit event.",
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  reason?: string;
}

/** An empty `email=` (or only spaces) is the same as none: the whole listing, page by page. */
const blankToUndefined = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

export class UserListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({
    description:
      'Only emails equal to this or starting with it (case-insensitive). Empty or absent: every user.',
  })
  @IsOptional()
  @Transform(blankToUndefined)
  @IsString()
  @MaxLength(254)
  email?: string;
}

export class SetRolesDto {
  @ApiProperty({ type: [String], example: ['support'] })
  @IsArray()
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  roles!: string[];
}

export class AuditQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'user:…' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  actor?: string;

  @ApiPropertyOptional({ example: 'user:…' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  subject?: string;

  @ApiPropertyOptional({ example: 'login.failed' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  action?: string;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  from?: Date;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  to?: Date;
}

/**
 * Each element a registrable redirect URI (RFC 9700, RFC 8252): https, loopback http or a native
 * app's private-use scheme; no fragment, userinfo or wildcard. The message names the offending URI.
 */
function IsRedirectUriList(): PropertyDecorator {
  return (target, propertyName) => {
    registerDecorator({
      name: 'isRedirectUriList',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) =>
          Array.isArray(value) &&
          value.every((uri) => typeof uri === 'string' && redirectUriProblem(uri) === null),
        defaultMessage: ({ value, property }: ValidationArguments) => {
          const uris: unknown[] = Array.isArray(value) ? value : [value];
          const problem = uris
            .map((uri) => (typeof uri === 'string' ? redirectUriProblem(uri) : 'not a string'))
            .find((found) => found !== null);
          return `${property}: ${problem ?? 'must be a list of URIs'}`;
        },
      },
    });
  };
}

/** The grants an operator may give a registered client (the password grant is first-party only). */
const CLIENT_GRANT_TYPES = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:device_code',
] as const;
type ClientGrantType = (typeof CLIENT_GRANT_TYPES)[number];

export class CreateClientDto {
  @ApiProperty({ maxLength: 200 })
  @IsString()
  @MaxLength(200)
  name!: string;

  @ApiProperty({
    type: [String],
    enum: CLIENT_GRANT_TYPES,
    example: ['client_credentials'],
    description:
      '`authorization_code` also needs `redirectUris`. `urn:ietf:params:oauth:grant-type:device_code` is the device authorization grant (RFC 8628) for CLIs and TVs.',
  })
  @IsArray()
  @IsIn(CLIENT_GRANT_TYPES, { each: true })
  grantTypes!: ClientGrantType[];

  @ApiPropertyOptional({
    type: [String],
    example: ['openid', 'email', 'notes:read'],
    description:
      'What the client may be delegated. `account` (the /me routes) and `admin` (admin-api) are reserved to first-party clients.',
  })
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  scopes?: string[];

  @ApiPropertyOptional({
    type: [String],
    example: ['https://app.example.com/callback'],
    description:
      'Exact-match redirect URIs (RFC 9700): https; http only on loopback (`127.0.0.1`, `[::1]`, `localhost`, any port, RFC 8252 §7.3); or a private-use scheme for native apps (`com.example.app:/cb`). No fragment, userinfo or wildcard.',
  })
  @IsOptional()
  @IsArray()
  @IsRedirectUriList()
  redirectUris?: string[];

  @ApiPropertyOptional({
    type: [String],
    example: ['https://app.example.com/signed-out'],
    description:
      'Where RP-initiated logout (`/oauth/end_session`) may send the browser back to; exact match, same rules as `redirectUris`.',
  })
  @IsOptional()
  @IsArray()
  @IsRedirectUriList()
  postLogoutRedirectUris?: string[];

  @ApiPropertyOptional({ description: 'A public client has no secret.' })
  @IsOptional()
  @IsBoolean()
  public?: boolean;

  @ApiPropertyOptional({
    description:
      'Ask the user before issuing tokens to this client (remembered per client and scopes). Default true; first-party clients are never asked.',
  })
  @IsOptional()
  @IsBoolean()
  requireConsent?: boolean;

  @ApiPropertyOptional({
    description:
      'Refuse authorization requests without `state`. Default false (PKCE is always required).',
  })
  @IsOptional()
  @IsBoolean()
  requireState?: boolean;

  @ApiPropertyOptional({
    description:
      "Default false. An app of the platform's own: never asked for consent, may hold the reserved scopes `account` and `admin`, and its tokens carry the user's `roles`.",
  })
  @IsOptional()
  @IsBoolean()
  firstParty?: boolean;

  @ApiPropertyOptional({
    description:
      'Default false. A resource server (an API that receives tokens): the only kind of client allowed to introspect (RFC 7662 §2.1). Needs a confidential client.',
  })
  @IsOptional()
  @IsBoolean()
  resourceServer?: boolean;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    maxLength: 512,
    example: 'https://notes.example.com',
    description:
      "A resource server's resource indicator (RFC 8707): clients ask `resource=<it>` and the token's `aud` is it; the server then introspects only tokens for it (or for `ACCESS_TOKEN_AUDIENCE`). An absolute URI, unique; null clears it.",
  })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  audience?: string | null;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    maxLength: 2000,
    example: 'https://app.example.com/backchannel-logout',
    description:
      'OpenID Connect Back-Channel Logout 1.0: where a logout token is POSTed (`application/x-www-form-urlencoded`, `logout_token=…`) when a session this client received tokens in ends, for any reason. An absolute http(s) URL without a fragment, which the SSRF guard accepts (https only in production; no private, loopback or link-local address unless `OUTBOUND_ALLOW_PRIVATE`; metadata addresses never): 400 `VALIDATION_FAILED` naming the reason otherwise. null clears it.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  backchannelLogoutUri?: string | null;

  @ApiPropertyOptional({
    description:
      'Default false. The client needs `sid` in its logout tokens (Gatehouse always sends both `sub` and `sid`).',
  })
  @IsOptional()
  @IsBoolean()
  backchannelLogoutSessionRequired?: boolean;
}

/** Every field of a registration but `public` (a secret is rotated, never added or removed). */
export class UpdateClientDto extends PartialType(OmitType(CreateClientDto, ['public'] as const)) {}
