import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** Swagger only: OAuth bodies are read parameter by parameter (unknown ones are ignored). */
export class TokenRequestDto {
  @ApiProperty({
    enum: [
      'authorization_code',
      'password',
      'refresh_token',
      'client_credentials',
      'urn:ietf:params:oauth:grant-type:device_code',
      'urn:gatehouse:params:oauth:grant-type:mfa-otp',
    ],
  })
  grant_type!: string;

  @ApiPropertyOptional({ description: 'device code grant: the device_code to poll with.' })
  device_code?: string;

  @ApiPropertyOptional({ description: 'authorization_code grant: the code from the redirect.' })
  code?: string;

  @ApiPropertyOptional({
    description: 'authorization_code grant: exactly the redirect_uri of the authorization request.',
  })
  redirect_uri?: string;

  @ApiPropertyOptional({
    description: 'authorization_code grant: the PKCE verifier (RFC 7636) of the code_challenge.',
  })
  code_verifier?: string;

  @ApiPropertyOptional({ description: 'password grant: the email.' })
  username?: string;

  @ApiPropertyOptional({ description: 'password grant.' })
  password?: string;

  @ApiPropertyOptional({
    description: "mfa-otp grant: the `mfa_token` of the password grant's `mfa_required` answer.",
  })
  mfa_token?: string;

  @ApiPropertyOptional({ description: 'mfa-otp grant: a TOTP code (six digits).' })
  otp?: string;

  @ApiPropertyOptional({ description: 'mfa-otp grant: a recovery code, instead of `otp`.' })
  recovery_code?: string;

  @ApiPropertyOptional({ description: 'refresh_token grant.' })
  refresh_token?: string;

  @ApiPropertyOptional({
    description:
      'Space-separated; at most what the client (or session) has. Omitted: every scope the client has, except that a first-party client must name `openid`, `email` and `offline_access`.',
  })
  scope?: string;

  @ApiPropertyOptional({ description: 'client_secret_post, or a public client naming itself.' })
  client_id?: string;

  @ApiPropertyOptional({ description: 'client_secret_post.' })
  client_secret?: string;
}

export class TokenResponseDto {
  @ApiProperty({ description: 'JWT (RFC 9068), `typ: at+jwt`.' })
  access_token!: string;

  @ApiProperty({ enum: ['Bearer'] })
  token_type!: string;

  @ApiProperty({ example: 900 })
  expires_in!: number;

  @ApiPropertyOptional({
    description: 'Opaque; rotated on every use. Absent for client_credentials.',
  })
  refresh_token?: string;

  @ApiProperty({ example: '' })
  scope!: string;

  @ApiPropertyOptional({
    description:
      'OpenID Connect ID token (JWT, `typ: JWT`, `aud` = the client) when `openid` was granted: authorization_code, password and device_code grants; never on refresh.',
  })
  id_token?: string;
}

export class TokenParamRequestDto {
  @ApiProperty()
  token!: string;

  @ApiPropertyOptional({ enum: ['access_token', 'refresh_token'] })
  token_type_hint?: string;

  @ApiPropertyOptional()
  client_id?: string;

  @ApiPropertyOptional()
  client_secret?: string;
}

export class IntrospectionResponseDto {
  @ApiProperty()
  active!: boolean;

  @ApiPropertyOptional({ enum: ['access_token', 'refresh_token'] })
  token_type?: string;

  @ApiPropertyOptional()
  sub?: string;

  @ApiPropertyOptional()
  sid?: string;

  @ApiPropertyOptional()
  client_id?: string;

  @ApiPropertyOptional()
  scope?: string;

  @ApiPropertyOptional()
  exp?: number;

  @ApiPropertyOptional()
  iat?: number;

  @ApiPropertyOptional()
  iss?: string;

  @ApiPropertyOptional({ description: 'When the user signed in (epoch seconds).' })
  auth_time?: number;

  @ApiPropertyOptional({ type: [String], description: 'How (RFC 8176), e.g. `pwd`, `otp`, `mfa`.' })
  amr?: string[];

  @ApiPropertyOptional({
    description:
      'The authentication context class: `urn:gatehouse:acr:pwd`, `urn:gatehouse:acr:mfa` or `phr`.',
  })
  acr?: string;
}

export class OAuthErrorResponseDto {
  @ApiProperty({
    example: 'invalid_grant',
    description:
      'RFC 6749 §5.2 code: invalid_request, invalid_client, invalid_grant, unauthorized_client, unsupported_grant_type, invalid_scope; `rate_limited` (429) for the login limits.',
  })
  error!: string;

  @ApiProperty({ example: 'The refresh token has already been used.' })
  error_description!: string;
}

/** Swagger only, like the token request. */
export class DeviceAuthorizationRequestDto {
  @ApiPropertyOptional({ description: 'A public client names itself; or client_secret_basic.' })
  client_id?: string;

  @ApiPropertyOptional({ description: 'client_secret_post.' })
  client_secret?: string;

  @ApiPropertyOptional({
    description:
      'Space-separated; at most what the client has. Omitted: every scope the client has, except that a first-party client must name `openid`, `email` and `offline_access`.',
  })
  scope?: string;
}

export class DeviceAuthorizationResponseDto {
  @ApiProperty({ description: 'Opaque; the device polls the token endpoint with it.' })
  device_code!: string;

  @ApiProperty({ example: 'BDFG-HJKL', description: '8 letters, no vowels, grouped by 4.' })
  user_code!: string;

  @ApiProperty({ example: 'http://localhost:3000/device' })
  verification_uri!: string;

  @ApiProperty({ example: 'http://localhost:3000/device?user_code=BDFG-HJKL' })
  verification_uri_complete!: string;

  @ApiProperty({ example: 600 })
  expires_in!: number;

  @ApiProperty({ example: 5, description: 'Seconds between polls; add 5 at every slow_down.' })
  interval!: number;
}
